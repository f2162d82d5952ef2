r"""Regularizers: norms and penalties of the weights, the L1 proximal step, and dropout.

``params`` arguments take one tensor or an iterable of tensors (``model.parameters()``, a list);
the penalty is summed over all of them. The results are tensors, differentiable where the
formula is, so ``loss + lam * l2_penalty(model.parameters())`` trains as expected.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from .validate import check_bool, check_generator, check_real, check_tensor

__all__ = ["dropout", "l0_norm", "l1_penalty", "l2_penalty", "nuclear_norm", "soft_threshold"]


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


def dropout(
    x: torch.Tensor, p: float = 0.5, training: bool = True, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Inverted dropout (Srivastava et al., 2014): zero each entry with probability ``p``.

    .. math::
        m_i \sim \operatorname{Bernoulli}(1 - p), \qquad y_i = \frac{m_i\, x_i}{1 - p}

    Dividing by :math:`1 - p` during training keeps :math:`\mathbb{E}[y_i] = x_i`, so at test
    time (``training=False``) the input passes unchanged. ``p = 1`` returns zeros.
    The mask is drawn from ``generator`` when one is given (it must live on ``x``'s device).

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
    u = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    keep = (u >= p).to(x.dtype)  # P(u >= p) = 1 - p
    return x * keep / (1.0 - p)
