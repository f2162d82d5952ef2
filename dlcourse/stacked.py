r"""Many small networks trained at once: the seeds and settings of one experiment in one run.

A fair experiment trains every setting it compares several times (a learning-rate or strength
sweep, several seeds). For the book's small networks one training step costs less than Python's
overhead around it, so :class:`StackedMLP` holds :math:`M` *independent* multilayer perceptrons of
the same shape as batched weights and runs them together with batched matrix products:

.. math::
    \mathbf{A}^{(l)}_m = \operatorname{relu}\big(\mathbf{A}^{(l-1)}_m \mathbf{W}^{(l)}_m
        + \mathbf{b}^{(l)}_m\big), \qquad m = 1, \dots, M .

:func:`fit_stacked` minimises the *sum* of the members' losses :math:`\sum_m L_m(\theta_m)`.
Member :math:`m`'s parameters appear in :math:`L_m` only, so
:math:`\nabla_{\theta_m} \sum_k L_k = \nabla_{\theta_m} L_m`: every member gets exactly the
gradient it would get alone, and an elementwise optimizer (SGD, momentum, Adam, AdamW) then
makes exactly its own update. Each member draws its own mini-batches. ``tests/test_stacked.py``
checks a trained stack against the same networks trained one by one with ``torch.optim``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from .losses import log_softmax
from .regularization import dropout_mask
from .validate import check_generator, check_int, check_tensor

__all__ = ["StackedMLP", "fit_stacked", "member_cross_entropy", "evaluate_stacked"]


class StackedMLP(nn.Module):
    r""":math:`M` independent ReLU networks with layer sizes ``sizes``, stored as batched weights.

    ``weights[l]`` has shape ``(M, n_l, n_{l+1})`` and ``biases[l]`` shape ``(M, 1, n_{l+1})``;
    each member is initialised as ``nn.Linear`` initialises itself, every entry from
    :math:`\mathcal{U}(-1/\sqrt{n_l},\, 1/\sqrt{n_l})`. Inverted dropout with member ``m``'s
    probability ``dropout[m]`` follows every hidden ReLU in training mode. ``sizes = (d, K)`` is
    a stack of linear models.

    Args:
        members: :math:`M`, the number of networks.
        sizes: the layer widths, input first (at least two).
        dropout: one probability in :math:`[0, 1)` for all members, or one per member.
        generator: draws the initial weights (``None``: torch's global generator).
    """

    def __init__(
        self,
        members: int,
        sizes: Sequence[int],
        dropout: float | Sequence[float] = 0.0,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        members = check_int("members", members, low=1)
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 2:
            raise ValueError(f"sizes must be a sequence of at least two layer widths, got {sizes!r}")
        sizes = tuple(check_int(f"sizes[{i}]", s, low=1) for i, s in enumerate(sizes))
        check_generator("generator", generator)
        p = torch.as_tensor(dropout, dtype=torch.float32).reshape(-1)
        if p.numel() not in (1, members) or not bool(((p >= 0) & (p < 1)).all()):
            raise ValueError(
                f"dropout must be one probability in [0, 1) or {members} of them, got {dropout!r}"
            )
        self.members, self.sizes = members, sizes
        self.register_buffer("p", p.expand(members).clone().view(members, 1, 1))
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / math.sqrt(n_in)
            w = (2 * torch.rand(members, n_in, n_out, generator=generator) - 1) * bound
            b = (2 * torch.rand(members, 1, n_out, generator=generator) - 1) * bound
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(b))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` of shape ``(N, n_0)`` (the same inputs for all members) or ``(M, N, n_0)``;
        returns ``(M, N, n_last)``."""
        check_tensor("x", x, floating=True, ndim=(2, 3))
        if x.ndim == 2:
            x = x.expand(self.members, -1, -1)
        if x.shape[0] != self.members or x.shape[-1] != self.sizes[0]:
            raise ValueError(
                f"x must have shape (N, {self.sizes[0]}) or ({self.members}, N, {self.sizes[0]}), "
                f"got {tuple(x.shape)}"
            )
        last = len(self.weights) - 1
        for l, (W, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b, x, W)  # b_m + x_m W_m for every member m
            if l < last:
                x = torch.relu(x)
                if self.training and bool((self.p > 0).any()):
                    x = x * dropout_mask(x.shape, self.p, device=x.device, dtype=x.dtype) / (1 - self.p)
        return x

    def squared_norms(self) -> torch.Tensor:
        r"""Each member's :math:`\lVert\theta_m\rVert_2^2` over all its weights and biases, shape ``(M,)``."""
        return sum((t * t).sum(dim=(1, 2)) for t in [*self.weights, *self.biases])

    def member(self, m: int) -> nn.Sequential:
        """A plain ``nn.Sequential`` copy of member ``m`` (``nn.Linear``, ``nn.ReLU``,
        ``nn.Dropout`` layers) that computes what the stack computes for it."""
        m = check_int("m", m, low=0, high=self.members - 1)
        layers: list[nn.Module] = []
        for l, (W, b) in enumerate(zip(self.weights, self.biases)):
            linear = nn.Linear(W.shape[1], W.shape[2]).to(W.device, W.dtype)
            with torch.no_grad():
                linear.weight.copy_(W[m].T)
                linear.bias.copy_(b[m, 0])
            layers.append(linear)
            if l < len(self.weights) - 1:
                layers += [nn.ReLU(), nn.Dropout(float(self.p[m]))]
        return nn.Sequential(*layers)


def member_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, label_smoothing: float | torch.Tensor = 0.0
) -> torch.Tensor:
    r"""Each member's mean cross-entropy: logits ``(M, B, K)``, targets ``(M, B)`` class indices
    or ``(M, B, K)`` probabilities; returns shape ``(M,)``.

    .. math::
        L_m = \frac1B \sum_{i=1}^{B} -\sum_{k=1}^{K} q_{mik} \log \operatorname{softmax}(\mathbf{z}_{mi})_k,
        \qquad q_{mik} = (1 - \varepsilon_m)\,[k = y_{mi}] + \varepsilon_m / K

    for class indices (``label_smoothing`` :math:`\varepsilon`, one value or one per member), and
    :math:`q = ` ``target`` for probabilities.
    """
    check_tensor("logits", logits, floating=True, ndim=3)
    check_tensor("target", target)
    logp = log_softmax(logits, dim=-1)
    if target.is_floating_point():
        if target.shape != logits.shape:
            raise ValueError(
                f"probability targets must have the logits' shape {tuple(logits.shape)}, "
                f"got {tuple(target.shape)}"
            )
        return -(target * logp).sum(-1).mean(-1)
    if target.shape != logits.shape[:2]:
        raise ValueError(
            f"class-index targets must have shape {tuple(logits.shape[:2])}, got {tuple(target.shape)}"
        )
    eps = torch.as_tensor(label_smoothing, dtype=logits.dtype, device=logits.device).reshape(-1, 1)
    if eps.shape[0] not in (1, logits.shape[0]) or not bool(((eps >= 0) & (eps <= 1)).all()):
        raise ValueError(
            f"label_smoothing must be in [0, 1], one value or one per member, got {label_smoothing!r}"
        )
    nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    uniform = -logp.mean(-1)
    return ((1 - eps) * nll + eps * uniform).mean(-1)


@torch.no_grad()
def evaluate_stacked(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, columns: slice | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each member's cross-entropy and accuracy on ``(X, y)`` in evaluation mode: two tensors of
    shape ``(M,)``. ``columns`` picks the logits of one task out of a wider output (a head)."""
    check_tensor("X", X, floating=True)
    check_tensor("y", y)
    was_training = model.training
    model.eval()
    try:
        out = model(X)
    finally:
        model.train(was_training)
    if columns is not None:
        out = out[..., columns]
    target = y.expand(out.shape[0], *y.shape) if y.ndim == out.ndim - 2 else y
    loss = member_cross_entropy(out, target)
    acc = (out.argmax(-1) == target).to(out.dtype).mean(-1)
    return loss, acc


def fit_stacked(
    model: nn.Module,
    train_data: tuple[torch.Tensor, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    epochs: int,
    batch_size: int,
    *,
    seed: int = 0,
    evaluate: Callable[[nn.Module], dict[str, torch.Tensor]] | None = None,
    before_step: Callable[[], None] | None = None,
    scheduler=None,
    lr_scale: Sequence[float] | torch.Tensor | None = None,
) -> dict[str, np.ndarray]:
    r"""Train a stack of :math:`M` members (a :class:`StackedMLP` or any module mapping a batch
    ``(M, B, ...)`` to ``(M, B, ...)``); return the per-epoch records.

    Every epoch, member :math:`m` shuffles the training rows with its own random order (all
    orders drawn from one generator seeded by ``seed``), and for each of its mini-batches
    :math:`B_m`:

    .. math::
        L = \sum_{m=1}^{M} \text{loss\_fn}\big(f_{\theta_m}(\mathbf{X}_{B_m}), \mathbf{y}_{B_m}\big)_m,
        \qquad \mathbf{g}_m = \nabla_{\theta_m} L, \qquad \text{before\_step}(), \qquad
        \text{optimizer.step}(), \qquad \text{scheduler.step}()

    With ``lr_scale`` :math:`c_m`, member :math:`m`'s update is scaled after the step,
    :math:`\theta_m \leftarrow \theta_m^{\text{old}} + c_m(\theta_m^{\text{new}} - \theta_m^{\text{old}})`,
    where :math:`\theta_m^{\text{old}}` is taken before ``before_step``.
    For SGD (with or without momentum), Adam and AdamW, whose state depends on the gradients
    only and whose update is proportional to the learning rate :math:`\eta`, this is exactly
    training member :math:`m` with the learning rate :math:`c_m \eta`: a learning-rate sweep in
    one stack.

    ``loss_fn(out, target)`` returns one loss per member, shape ``(M,)``. ``before_step`` may
    change the gradients or parameters between the backward pass and the step (per-member
    learning rates, decoupled weight decay). ``train_data`` is ``(X, y)`` shared by all members
    (``X`` of shape ``(N, d)``) or one set per member (``X`` of shape ``(M, N, d)`` and ``y`` of
    leading dimensions ``(M, N)``).

    Returns:
        ``{"train_loss": array (epochs, M), **{name: array (epochs, M)}}`` with the members' mean
        training loss per epoch (measured while training) and whatever ``evaluate(model)``
        returned at the end of each epoch (called without gradients).
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    epochs = check_int("epochs", epochs, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    gen = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    if not isinstance(train_data, (tuple, list)) or len(train_data) != 2:
        raise TypeError(f"train_data must be an (X, y) pair of tensors, got {type(train_data).__name__}")
    X, y = (check_tensor(name, t) for name, t in zip(("X", "y"), train_data))
    if not isinstance(model, StackedMLP):
        raise TypeError(f"model must be a StackedMLP, got {type(model).__name__}")
    M = model.members
    per_member = X.ndim == 3
    n = X.shape[1] if per_member else X.shape[0]
    if (per_member and (X.shape[0] != M or y.shape[:2] != (M, n))) or (not per_member and y.shape[0] != n):
        raise ValueError(
            f"X and y must hold the same rows (shared, or {M} sets), got {tuple(X.shape)} and {tuple(y.shape)}"
        )
    scale = None
    if lr_scale is not None:
        scale = torch.as_tensor(lr_scale, dtype=torch.float32).reshape(-1)
        if scale.numel() != M or not bool(torch.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError(f"lr_scale must hold {M} positive numbers, one per member, got {lr_scale!r}")
    params = [p for p in model.parameters() if p.requires_grad]
    rows = torch.arange(M, device=X.device)[:, None]
    records: dict[str, list] = {"train_loss": []}
    for _ in range(epochs):
        model.train()
        orders = torch.rand(M, n, generator=gen).argsort(dim=1).to(X.device)  # one order per member
        total = torch.zeros(M, device=X.device)
        for start in range(0, n, batch_size):
            idx = orders[:, start : start + batch_size]  # (M, B)
            xb, yb = (X[rows, idx], y[rows, idx]) if per_member else (X[idx], y[idx])
            optimizer.zero_grad()
            member_losses = loss_fn(model(xb), yb)
            member_losses.sum().backward()
            old = [p.detach().clone() for p in params] if scale is not None else None
            if before_step is not None:
                before_step()
            optimizer.step()
            if old is not None:
                with torch.no_grad():
                    for p, p_old in zip(params, old):
                        c = scale.to(p.device, p.dtype).view(-1, *[1] * (p.ndim - 1))
                        p.copy_(p_old + c * (p - p_old))
            if scheduler is not None:
                scheduler.step()
            total += member_losses.detach() * idx.shape[1]
        records["train_loss"].append((total / n).cpu())
        if evaluate is not None:
            with torch.no_grad():
                for name, value in evaluate(model).items():
                    records.setdefault(name, []).append(torch.as_tensor(value).detach().cpu())
    return {name: torch.stack(values).numpy() for name, values in records.items()}
