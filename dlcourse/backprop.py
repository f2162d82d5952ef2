r"""A multilayer perceptron with its backward pass written by hand (chapter 1).

Notation (as in the chapter): the network has :math:`L` layers; layer :math:`l` holds a weight
matrix :math:`W_l` of shape ``(n_{l-1}, n_l)`` and a bias :math:`b_l` of shape ``(n_l,)``.
For a mini-batch :math:`X` of :math:`N` rows,

.. math::
    a_0 = X, \qquad z_l = a_{l-1} W_l + b_l, \qquad
    a_l = \sigma(z_l) \ (l < L), \qquad \hat Y = a_L = z_L \ \text{(linear output)},

    \mathcal L = \frac{1}{N\, n_L} \sum_{i, j} (\hat Y_{ij} - Y_{ij})^2 .

The backward pass needs one quantity per layer, the *delta*
:math:`\delta_l = \partial \mathcal L / \partial z_l` (a matrix like :math:`z_l`):

.. math::
    \delta_L = \frac{2}{N\, n_L} (\hat Y - Y), \qquad
    \delta_l = (\delta_{l+1} W_{l+1}^\top) \odot \sigma'(z_l), \\
    \frac{\partial \mathcal L}{\partial W_l} = a_{l-1}^\top \delta_l, \qquad
    \frac{\partial \mathcal L}{\partial b_l} = \textstyle\sum_{i} (\delta_l)_{i,:} .

Everything runs on plain tensors under ``torch.no_grad()``: autograd is not used, it is only
what the tests compare with. In code the layers are counted from 0: ``params[0]`` is
:math:`(W_1, b_1)`, ``deltas[0]`` is :math:`\delta_1`.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass, field
from typing import NamedTuple

import torch

from .activations import ACTIVATIONS, get_activation
from .device import get_device
from .validate import check_real

__all__ = ["MLP", "ForwardCache", "GradientCheck", "gradient_check"]

_HE_STYLE = ("relu", "leaky_relu", "elu")  # activations initialised with He's variance


class ForwardCache(NamedTuple):
    """What the forward pass keeps for the backward pass: ``zs[l]`` and ``activations[l]``.

    ``activations`` has ``L + 1`` entries (``activations[0]`` is the input ``X``, the last one the
    output); ``zs`` has ``L`` entries (``zs[l]`` is the pre-activation of layer ``l + 1``).
    """

    zs: list[torch.Tensor]
    activations: list[torch.Tensor]


def _check_sizes(sizes) -> list[int]:
    if isinstance(sizes, (str, bytes, torch.Tensor)) or not hasattr(sizes, "__len__"):
        raise TypeError(f"sizes must be a list of ints like [n_in, h1, n_out], got {sizes!r}")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes must hold at least 2 layer sizes [n_in, n_out], got {sizes}")
    for s in sizes:
        if not isinstance(s, int) or isinstance(s, bool) or s < 1:
            raise ValueError(f"sizes must hold positive ints, got {sizes}")
    return sizes


class MLP:
    r"""Fully connected network ``sizes = [n_in, h_1, ..., n_out]`` with a hand-written backward pass.

    Hidden layers apply ``activation`` (a name from :data:`dlcourse.activations.ACTIVATIONS`:
    ``"sigmoid"``, ``"tanh"``, ``"relu"``, ...); the output layer is linear. Weights are drawn
    from a seeded ``torch.Generator`` on the CPU (so the same on every device), biases start at 0:

    .. math::
        W_l \sim \mathcal N\!\left(0, \tfrac{2}{n_{l-1} + n_l}\right) \ \text{(Xavier; sigmoid,
        tanh, and the linear output)}, \qquad
        W_l \sim \mathcal N\!\left(0, \tfrac{2}{n_{l-1}}\right) \ \text{(He; ReLU family)}.

    Attributes:
        params: list of ``(W, b)`` pairs, ``W`` of shape ``(n_in, n_out)``; a layer computes
            ``X @ W + b``.
    """

    def __init__(
        self,
        sizes,
        activation: str = "sigmoid",
        seed: int = 0,
        dtype: torch.dtype = torch.float64,
        device=None,
    ) -> None:
        self.sizes = _check_sizes(sizes)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {seed!r}")
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
        self.activation = activation
        self.sigma, self.sigma_grad = get_activation(activation)
        device = get_device() if device is None else torch.device(device)
        gen = torch.Generator().manual_seed(seed)
        self.params: list[tuple[torch.Tensor, torch.Tensor]] = []
        for l, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            hidden = l < len(self.sizes) - 2
            if hidden and activation in _HE_STYLE:
                std = math.sqrt(2.0 / n_in)  # He et al. (2015)
            else:
                std = math.sqrt(2.0 / (n_in + n_out))  # Glorot & Bengio (2010)
            W = std * torch.randn(n_in, n_out, generator=gen, dtype=torch.float64)
            b = torch.zeros(n_out, dtype=torch.float64)
            self.params.append((W.to(device, dtype), b.to(device, dtype)))

    # ----------------------------------------------------------------- helpers
    @property
    def dtype(self) -> torch.dtype:
        return self.params[0][0].dtype

    @property
    def device(self) -> torch.device:
        return self.params[0][0].device

    def num_parameters(self) -> int:
        """Number of weights and biases: :math:`\\sum_l (n_{l-1} n_l + n_l)`."""
        return sum(W.numel() + b.numel() for W, b in self.params)

    def __repr__(self) -> str:
        return (
            f"MLP(sizes={self.sizes}, activation={self.activation!r}, "
            f"dtype={self.dtype}, device={self.device})"
        )

    def _check_input(self, name: str, T, width: int) -> None:
        if not isinstance(T, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(T).__name__}")
        if T.ndim != 2 or T.shape[1] != width:
            hint = f" (try {name}.reshape(-1, {width}))" if T.ndim == 1 else ""
            raise ValueError(f"{name} must have shape (N, {width}), got {tuple(T.shape)}{hint}")
        if T.dtype != self.dtype or T.device != self.device:
            raise TypeError(
                f"{name} must be {self.dtype} on {self.device} like the parameters, "
                f"got {T.dtype} on {T.device} (use {name}.to(model.device, "
                f"model.dtype))"
            )

    # ----------------------------------------------------------------- forward
    @torch.no_grad()
    def forward_cache(self, X: torch.Tensor) -> ForwardCache:
        r"""Forward pass keeping every :math:`z_l` and :math:`a_l` (see :class:`ForwardCache`).

        .. math::
            z_l = a_{l-1} W_l + b_l, \qquad a_l = \sigma(z_l)\ (l < L), \qquad a_L = z_L
        """
        self._check_input("X", X, self.sizes[0])
        a, zs, activations = X, [], [X]
        last = len(self.params) - 1
        for l, (W, b) in enumerate(self.params):
            z = a @ W + b
            a = z if l == last else self.sigma(z)
            zs.append(z)
            activations.append(a)
        return ForwardCache(zs, activations)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """The network's output :math:`\\hat Y = a_L` for inputs ``X`` of shape ``(N, n_in)``."""
        return self.forward_cache(X).activations[-1]

    __call__ = forward

    # ----------------------------------------------------------------- backward
    @torch.no_grad()
    def loss_and_grads(self, X: torch.Tensor, Y: torch.Tensor, return_deltas: bool = False):
        r"""MSE loss and its gradient for every parameter, by backpropagation.

        .. math::
            \mathcal L = \tfrac{1}{N n_L} \textstyle\sum (\hat Y - Y)^2, \qquad
            \delta_L = \tfrac{2}{N n_L} (\hat Y - Y), \qquad
            \delta_l = (\delta_{l+1} W_{l+1}^\top) \odot \sigma'(z_l), \\
            \nabla_{W_l} \mathcal L = a_{l-1}^\top \delta_l, \qquad
            \nabla_{b_l} \mathcal L = \textstyle\sum_i (\delta_l)_{i,:}

        Args:
            X: inputs of shape ``(N, n_in)``; Y: targets of shape ``(N, n_out)``, same dtype and
                device as the parameters.
            return_deltas: also return the list of deltas ``[delta_1, ..., delta_L]``.

        Returns:
            ``(loss, grads)`` or ``(loss, grads, deltas)``: ``loss`` a Python float, ``grads`` a
            list of ``(dW, db)`` shaped like :attr:`params`.
        """
        cache = self.forward_cache(X)
        self._check_input("Y", Y, self.sizes[-1])
        if Y.shape[0] != X.shape[0]:
            raise ValueError(f"X and Y must have the same number of rows, got {X.shape[0]} and {Y.shape[0]}")
        Y_hat = cache.activations[-1]
        N, n_out = Y.shape
        loss = ((Y_hat - Y) ** 2).mean()
        delta = 2.0 / (N * n_out) * (Y_hat - Y)  # output layer is linear: sigma' = 1
        deltas = [delta]
        for l in range(len(self.params) - 1, 0, -1):  # layers L-1, ..., 1 (code index l-1)
            W_next = self.params[l][0]
            delta = (delta @ W_next.T) * self.sigma_grad(cache.zs[l - 1])
            deltas.insert(0, delta)
        grads = [(a_prev.T @ d, d.sum(dim=0)) for a_prev, d in zip(cache.activations[:-1], deltas)]
        if return_deltas:
            return loss.item(), grads, deltas
        return loss.item(), grads

    def _check_grads(self, grads) -> None:
        if not isinstance(grads, (list, tuple)) or len(grads) != len(self.params):
            raise TypeError(
                f"grads must be a list of {len(self.params)} (dW, db) pairs like "
                f"model.params, got {type(grads).__name__}"
                + (f" of length {len(grads)}" if hasattr(grads, "__len__") else "")
            )
        for l, (pair, (W, b)) in enumerate(zip(grads, self.params)):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise TypeError(f"grads[{l}] must be a (dW, db) pair, got {type(pair).__name__}")
            for name, g, p in (("dW", pair[0], W), ("db", pair[1], b)):
                if not isinstance(g, torch.Tensor):
                    raise TypeError(f"grads[{l}] {name} must be a tensor, got {type(g).__name__}")
                if g.shape != p.shape:
                    raise ValueError(
                        f"grads[{l}] {name} must have shape {tuple(p.shape)}, got {tuple(g.shape)}"
                    )

    @torch.no_grad()
    def step(self, grads, lr: float) -> None:
        r"""One step of plain gradient descent, in place: :math:`W_l \leftarrow W_l - \eta
        \nabla_{W_l}\mathcal L`, :math:`b_l \leftarrow b_l - \eta \nabla_{b_l}\mathcal L`."""
        lr = check_real("lr", lr, low=0)
        self._check_grads(grads)
        for (W, b), (dW, db) in zip(self.params, grads):
            W -= lr * dW
            b -= lr * db


# --------------------------------------------------------------------------- gradient check
@dataclass
class GradientCheck:
    """Result of :func:`gradient_check`; ``str()`` gives a readable report."""

    max_rel_error: float
    worst: str
    passed: bool
    per_param: dict[str, float] = field(default_factory=dict)
    analytic: float = float("nan")
    numerical: float = float("nan")
    tol: float = 1e-6

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        lines = [
            f"gradient check {verdict}: max relative error {self.max_rel_error:.1e} at "
            f"{self.worst} (tol {self.tol:.0e}); analytic {self.analytic:.6g}, "
            f"numerical {self.numerical:.6g}"
        ]
        lines += [f"  {name}: {err:.1e}" for name, err in self.per_param.items()]
        return "\n".join(lines)


def gradient_check(
    model: MLP, X: torch.Tensor, Y: torch.Tensor, grads=None, eps: float = 1e-6, tol: float = 1e-6
) -> GradientCheck:
    r"""Compare backpropagated gradients with central differences, entry by entry.

    The model's parameters, ``X`` and ``Y`` are copied to float64 (the model itself is not
    changed). For every entry :math:`\theta` of every parameter,

    .. math::
        g^{\text{num}} = \frac{\mathcal L(\theta + \epsilon) - \mathcal L(\theta - \epsilon)}
                              {2 \epsilon}, \qquad
        \nu = \frac{2u\, |\mathcal L|}{\epsilon}, \qquad
        r = \frac{|g - g^{\text{num}}|}{\max(|g| + |g^{\text{num}}|,\ 10\,\nu / \text{tol})}

    and the check passes when the largest :math:`r` is at most ``tol``. Here :math:`u = 2^{-53}
    \approx 1.1 \times 10^{-16}` is float64's unit roundoff (the largest relative error of one
    rounding), :math:`2u = 2^{-52} \approx 2.2 \times 10^{-16}` its machine epsilon
    (``torch.finfo(torch.float64).eps``, the gap between 1 and the next float), and :math:`\nu` the
    rounding noise of the difference quotient: an entry whose gradient is too small to be measured relatively (a dead
    ReLU's exact zero, or :math:`10^{-4}` beside a loss of 10) passes when its error is within
    ten times that noise, and fails otherwise. Every other entry is judged relatively.

    .. note::
        At a kink of ReLU (some :math:`z` exactly 0, as when every ReLU feeding a unit is off for
        a sample and the biases are still zero) the difference quotient averages the two one-sided
        slopes while backpropagation uses :math:`\sigma'(0) = 0`: the check then fails without a
        bug. Move the biases off zero or change the data, and check again.

    Args:
        model: an :class:`MLP`, or any object with ``params`` (list of ``(W, b)``), ``forward`` and
            ``loss_and_grads`` that computes from ``self.params``.
        grads: the gradients to check (e.g. from a learner's own backward code); ``None`` checks
            ``model.loss_and_grads``. Given in float32 they carry float32 rounding (about
            ``1e-4`` relative): check in float64.
        eps: the finite-difference step; tol: the largest relative error that passes.

    Returns:
        :class:`GradientCheck`; the worst entry is named like ``"W[1][2, 0]"``, i.e.
        ``model.params[1][0][2, 0]`` (layers counted from 0 as in ``params``).
    """
    eps = check_real("eps", eps, low=0, low_open=True)
    tol = check_real("tol", tol, low=0, low_open=True)
    if not hasattr(model, "params") or not hasattr(model, "loss_and_grads"):
        raise TypeError(
            f"model must be an MLP (with .params and .loss_and_grads), got {type(model).__name__}"
        )
    check = copy.copy(model)  # shares nothing we change: params are replaced below
    f64 = torch.float64
    check.params = [(W.detach().to(f64).clone(), b.detach().to(f64).clone()) for W, b in model.params]
    for name, T in (("X", X), ("Y", Y)):
        if not isinstance(T, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(T).__name__}")
    X64, Y64 = X.detach().to(check.params[0][0].device, f64), Y.detach().to(check.params[0][0].device, f64)
    if grads is None:
        grads = check.loss_and_grads(X64, Y64)[1]
    else:
        MLP._check_grads(check, grads)

    def loss() -> float:
        return ((check.forward(X64) - Y64) ** 2).mean().item()

    noise = torch.finfo(f64).eps * abs(loss()) / eps  # 2u |L| / eps: rounding noise of the quotient
    floor = max(10 * noise / tol, 1e-300)

    worst = GradientCheck(-1.0, "", False, {}, tol=tol)
    for l, ((W, b), (dW, db)) in enumerate(zip(check.params, grads)):
        for pname, P, G in (("W", W, dW), ("b", b, db)):
            G = G.detach().to(P.device, f64)
            errs = torch.zeros_like(P)
            for idx in itertools.product(*(range(n) for n in P.shape)):
                original = P[idx].item()
                P[idx] = original + eps
                up = loss()
                P[idx] = original - eps
                down = loss()
                P[idx] = original
                num = (up - down) / (2 * eps)
                ana = G[idx].item()
                err = abs(ana - num) / max(abs(ana) + abs(num), floor)
                errs[idx] = err
                if err > worst.max_rel_error:
                    where = ", ".join(map(str, idx))
                    worst.max_rel_error, worst.worst = err, f"{pname}[{l}][{where}]"
                    worst.analytic, worst.numerical = ana, num
            worst.per_param[f"{pname}[{l}]"] = errs.max().item()
    worst.passed = worst.max_rel_error <= tol
    return worst
