r"""Regularizers: norms and penalties of the weights, the L1 proximal step, and dropout.

``params`` arguments take one tensor or an iterable of tensors (``model.parameters()``, a list);
the penalty is summed over all of them. The results are tensors, differentiable where the
formula is, so ``loss + lam * l2_penalty(model.parameters())`` trains as expected.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from .validate import check_bool, check_generator, check_real, check_tensor

__all__ = [
    "dropout",
    "dropout_mask",
    "dropout_backward",
    "l0_norm",
    "l1_penalty",
    "l2_penalty",
    "nuclear_norm",
    "soft_threshold",
]


def _as_tensors(params: object, name: str = "params") -> list[torch.Tensor]:
    """One tensor or an iterable of tensors -> a non-empty list of tensors."""
    if isinstance(params, torch.Tensor):
        return [params]
    if isinstance(params, (str, bytes)) or not isinstance(params, Iterable):
        raise TypeError(f"{name} must be a tensor or an iterable of tensors, got {type(params).__name__}")
    tensors = list(params)
    for i, t in enumerate(tensors):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}[{i}] must be a torch.Tensor, got {type(t).__name__}")
    if not tensors:
        raise ValueError(f"{name} must hold at least one tensor, got an empty iterable")
    return tensors


def l0_norm(w: torch.Tensor | Iterable[torch.Tensor]) -> int:
    r"""Number of non-zero entries (not a norm: it is not homogeneous).

    .. math::
        \|w\|_0 = \#\{i : w_i \ne 0\}

    Returns a Python ``int``; it has no useful gradient, which is why L1 is used in its place.
    """
    return sum(int(torch.count_nonzero(t)) for t in _as_tensors(w, "w"))


def l1_penalty(params: torch.Tensor | Iterable[torch.Tensor]) -> torch.Tensor:
    r"""Sum of absolute values over all parameters (the lasso penalty, without :math:`\lambda`).

    .. math::
        \Omega(\theta) = \sum_i |\theta_i|
    """
    tensors = _as_tensors(params)
    total = tensors[0].abs().sum()
    for t in tensors[1:]:
        total = total + t.abs().sum()
    return total


def l2_penalty(params: torch.Tensor | Iterable[torch.Tensor]) -> torch.Tensor:
    r"""Sum of squares over all parameters (weight decay's penalty, without :math:`\lambda`).

    .. math::
        \Omega(\theta) = \sum_i \theta_i^2

    .. note::
        No factor :math:`\tfrac12`. With it, the gradient of :math:`\tfrac{\lambda}{2}\Omega`
        is :math:`\lambda\theta`, which is what ``weight_decay=lambda`` in SGD adds; without
        it the gradient of :math:`\lambda\Omega` is :math:`2\lambda\theta`.
    """
    tensors = _as_tensors(params)
    total = (tensors[0] * tensors[0]).sum()
    for t in tensors[1:]:
        total = total + (t * t).sum()
    return total


def nuclear_norm(W: torch.Tensor) -> torch.Tensor:
    r"""Nuclear (trace) norm: the sum of singular values; the convex surrogate of rank.

    .. math::
        \|W\|_* = \sum_{k} \sigma_k(W)

    For a batch ``(..., m, n)`` it returns one norm per matrix.
    """
    check_tensor("W", W, floating=True)
    if W.ndim < 2:
        raise ValueError(f"W must be a matrix (at least 2 dimensions), got shape {tuple(W.shape)}")
    return torch.linalg.svdvals(W).sum(-1)


def soft_threshold(w: torch.Tensor, lam: float) -> torch.Tensor:
    r"""Soft thresholding: the proximal operator of :math:`\lambda \|\cdot\|_1`.

    .. math::
        \operatorname{prox}_{\lambda\|\cdot\|_1}(w)
            = \arg\min_u \tfrac12 (u - w)^2 + \lambda |u|
            = \operatorname{sign}(w)\,\max(|w| - \lambda,\; 0)

    Entries with :math:`|w_i| \le \lambda` become exactly 0, the rest shrink by :math:`\lambda`
    toward 0. One proximal-gradient (ISTA) step is ``soft_threshold(w - lr * grad, lr * lam)``.
    """
    check_tensor("w", w)
    lam = check_real("lam", lam, low=0)
    return torch.sign(w) * (w.abs() - lam).clamp(min=0)


def dropout_mask(
    shape: Sequence[int],
    p: float | torch.Tensor,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    r"""The random mask of inverted dropout: each entry 1 with probability :math:`1 - p`, else 0.

    .. math::
        u_i \sim \mathcal{U}[0, 1), \qquad r_i = [u_i \ge p] \sim \operatorname{Bernoulli}(1 - p)

    ``p`` is one probability or a tensor of probabilities that broadcasts against ``shape`` (one
    per member of a :class:`dlcourse.stacked.StackedMLP`); every entry must lie in :math:`[0, 1]`.
    """
    if isinstance(p, torch.Tensor):
        if p.is_complex() or not bool(((p >= 0) & (p <= 1)).all()):
            raise ValueError(f"p must hold probabilities in [0, 1], got {p.flatten()[:5].tolist()}")
    else:
        p = check_real("p", p, low=0, high=1)
    check_generator("generator", generator)
    u = torch.rand(tuple(shape), generator=generator, device=device, dtype=dtype)
    return (u >= p).to(dtype)  # P(u >= p) = 1 - p


def dropout(
    x: torch.Tensor, p: float = 0.5, training: bool = True, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Inverted dropout (Srivastava et al., 2014): zero each entry with probability ``p``.

    .. math::
        r_i \sim \operatorname{Bernoulli}(1 - p), \qquad \tilde x_i = \frac{r_i\, x_i}{1 - p}

    Dividing by :math:`1 - p` during training keeps :math:`\mathbb{E}[\tilde x_i] = x_i`, so at
    test time (``training=False``) the input passes unchanged. ``p = 1`` returns zeros.
    The mask (:func:`dropout_mask`) is drawn from ``generator`` when one is given (it must live on
    ``x``'s device). Autograd differentiates the product; :func:`dropout_backward` is the same
    derivative written out.

    .. note::
        The original paper scales the weights by :math:`1 - p` at test time instead; the
        "inverted" form used by torch moves the scaling to training time.
    """
    check_tensor("x", x, floating=True)
    p = check_real("p", p, low=0, high=1)  # the dropout probability
    check_bool("training", training)
    check_generator("generator", generator)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    r = dropout_mask(x.shape, p, generator=generator, device=x.device, dtype=x.dtype)
    return x * r / (1.0 - p)


def dropout_backward(grad_output: torch.Tensor, mask: torch.Tensor, p: float) -> torch.Tensor:
    r"""The backward pass of inverted dropout: the gradient with respect to its input.

    Each output depends on its own input only, :math:`\partial \tilde x_i / \partial x_i =
    r_i / (1 - p)`, so with :math:`\boldsymbol{\delta} = \partial L / \partial \tilde{\mathbf{x}}`
    (``grad_output``) and the forward pass's mask :math:`\mathbf{r}`:

    .. math::
        \frac{\partial L}{\partial \mathbf{x}} = \boldsymbol{\delta} \odot \frac{\mathbf{r}}{1 - p}

    A dropped unit passes no gradient back; a kept one passes it scaled by :math:`1/(1-p)`, as in
    the forward pass. ``p`` must be below 1 (with ``p = 1`` every gradient is 0).
    """
    check_tensor("grad_output", grad_output, floating=True)
    check_tensor("mask", mask)
    p = check_real("p", p, low=0, high=1, high_open=True)
    if mask.shape != grad_output.shape:
        raise ValueError(
            f"mask must have grad_output's shape {tuple(grad_output.shape)}, got {tuple(mask.shape)}"
        )
    return grad_output * mask.to(grad_output.dtype) / (1.0 - p)
