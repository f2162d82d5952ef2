r"""Loss functions written out from their formulas.

Each function is the formula of the losses chapter in code, line for line, and is tested
against :mod:`torch.nn.functional`. They work on whatever device and dtype their inputs have.

``linear_softmax_loss`` and ``linear_hinge_loss`` give a linear classifier's loss together with
its gradient with respect to the weight matrix, derived by hand and computed without loops.

The numerically careful forms matter: ``naive_softmax`` computes :math:`e^{x_i} / \sum_j e^{x_j}`
literally and overflows for logits around 100 (float32) or 1000 (float64); ``softmax`` and
``log_softmax`` subtract the largest logit first, which changes nothing mathematically and keeps
every exponent :math:`\le 0`.
"""

from __future__ import annotations

import torch

from .validate import check_int, check_real, check_tensor

__all__ = [
    "mse_loss",
    "binary_hinge_loss",
    "hinge_loss",
    "naive_softmax",
    "softmax",
    "log_softmax",
    "cross_entropy",
    "linear_softmax_loss",
    "linear_hinge_loss",
]


def _check_dim(x: torch.Tensor, dim: object) -> int:
    check_int("dim", dim)
    if x.ndim == 0 or not -x.ndim <= dim < x.ndim:
        raise ValueError(
            f"dim must be in [-{x.ndim}, {x.ndim - 1}] for x of shape {tuple(x.shape)}, got {dim}"
        )
    return dim


def _check_targets(logits: torch.Tensor, target: object) -> tuple[int, int]:
    """Check class-index targets against (N, C, ...) or (C,) logits; return (class dim, C)."""
    check_tensor("target", target)
    if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
        raise TypeError(f"target must hold integer class indices, got dtype {target.dtype}")
    if logits.ndim == 0:
        raise ValueError("scores/logits must have at least 1 dimension (the classes), got a 0-d tensor")
    class_dim = 1 if logits.ndim >= 2 else 0
    n_classes = logits.shape[class_dim]
    expected = logits.shape[:class_dim] + logits.shape[class_dim + 1 :]
    if target.shape != expected:
        raise ValueError(
            f"target must have shape {tuple(expected)} for logits of shape {tuple(logits.shape)}, "
            f"got {tuple(target.shape)}"
        )
    if target.numel() and (target.min() < 0 or target.max() >= n_classes):
        raise ValueError(
            f"target values must be class indices in [0, {n_classes - 1}], "
            f"got min {int(target.min())}, max {int(target.max())}"
        )
    return class_dim, n_classes


def mse_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    r"""Mean squared error over all elements (``F.mse_loss`` with ``reduction="mean"``).

    .. math::
        \ell = \frac{1}{n} \sum_{i=1}^{n} (\hat y_i - y_i)^2

    Unlike ``F.mse_loss``, shapes must match exactly: silent broadcasting of ``(n,)`` against
    ``(n, 1)`` is a classic bug, so it raises ``ValueError`` here.
    """
    check_tensor("pred", pred, floating=True)
    check_tensor("target", target)
    if pred.shape != target.shape:
        raise ValueError(
            f"pred and target must have the same shape, got {tuple(pred.shape)} and {tuple(target.shape)}"
        )
    diff = pred - target
    return (diff * diff).mean()


def binary_hinge_loss(scores: torch.Tensor, y: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    r"""Hinge loss of a binary classifier with labels :math:`y_i \in \{-1, +1\}`.

    .. math::
        \ell = \frac{1}{n} \sum_{i=1}^{n} \max(0,\; m - y_i s_i)

    A sample costs nothing once it is on the right side with margin :math:`m` (the SVM loss).
    """
    check_tensor("scores", scores, floating=True)
    check_tensor("y", y)
    margin = check_real("margin", margin, low=0.0)
    if scores.shape != y.shape:
        raise ValueError(
            f"scores and y must have the same shape, got {tuple(scores.shape)} and {tuple(y.shape)}"
        )
    if not bool(((y == 1) | (y == -1)).all()):
        raise ValueError(f"y must hold labels in {{-1, +1}}, got values {torch.unique(y).tolist()[:10]}")
    return (margin - y.to(scores.dtype) * scores).clamp(min=0).mean()


def hinge_loss(scores: torch.Tensor, target: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    r"""Multi-class hinge loss (Weston & Watkins form as torch defines it, ``F.multi_margin_loss``).

    For scores :math:`s \in \mathbb{R}^{N \times C}` and true classes :math:`y_i`:

    .. math::
        \ell = \frac{1}{N} \sum_{i=1}^{N} \frac{1}{C} \sum_{j \ne y_i} \max(0,\; m - s_{i,y_i} + s_{i,j})

    .. note::
        torch divides each sample's sum by :math:`C` (the number of classes); the CS231n form
        does not. The :math:`j = y_i` term would contribute :math:`m`, so it is left out.
    """
    check_tensor("scores", scores, floating=True)
    margin = check_real("margin", margin, low=0.0)
    if scores.ndim not in (1, 2):
        raise ValueError(f"scores must have shape (N, C) or (C,), got {tuple(scores.shape)}")
    class_dim, n_classes = _check_targets(scores, target)
    index = target.unsqueeze(class_dim)
    true_score = scores.gather(class_dim, index)  # s_{i, y_i}, kept as a column
    terms = (margin - true_score + scores).clamp(min=0)
    terms = terms.scatter(class_dim, index, 0.0)  # drop j = y_i
    return (terms.sum(class_dim) / n_classes).mean()


def naive_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r"""Softmax exactly as the textbook writes it; overflows for large logits (a demonstration).

    .. math::
        \operatorname{softmax}(x)_i = \frac{e^{x_i}}{\sum_j e^{x_j}}

    :math:`e^{x}` is ``inf`` in float32 from :math:`x \approx 88.7` on, and ``inf / inf`` is
    ``nan``. Use :func:`softmax` in real code.
    """
    check_tensor("x", x, floating=True)
    dim = _check_dim(x, dim)
    e = torch.exp(x)
    return e / e.sum(dim, keepdim=True)


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r"""Numerically stable softmax along ``dim``.

    .. math::
        m = \max_j x_j, \qquad
        \operatorname{softmax}(x)_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}}

    Subtracting :math:`m` multiplies numerator and denominator by :math:`e^{-m}`, so the value
    is unchanged, but every exponent is :math:`\le 0` (no overflow) and the largest term is
    :math:`e^0 = 1` (the sum cannot underflow to 0). :math:`m` is treated as a constant
    (detached): the gradient of the shift is exactly zero anyway.
    """
    check_tensor("x", x, floating=True)
    dim = _check_dim(x, dim)
    m = x.detach().amax(dim, keepdim=True)
    e = torch.exp(x - m)
    return e / e.sum(dim, keepdim=True)


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r"""Numerically stable log-softmax along ``dim`` (the log-sum-exp trick).

    .. math::
        m = \max_j x_j, \qquad
        \log \operatorname{softmax}(x)_i = x_i - m - \log \sum_j e^{x_j - m}

    Computing ``log(softmax(x))`` instead would give :math:`\log 0 = -\infty` for a logit far
    below the others; this form stays finite.
    """
    check_tensor("x", x, floating=True)
    dim = _check_dim(x, dim)
    m = x.detach().amax(dim, keepdim=True)
    shifted = x - m
    return shifted - torch.log(torch.exp(shifted).sum(dim, keepdim=True))


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    r"""Cross-entropy of class-index targets, averaged over samples (``F.cross_entropy``).

    ``logits`` has shape ``(N, C)``, ``(C,)`` or ``(N, C, d_1, ...)`` (classes on dimension 1);
    ``target`` holds integer class indices with the logits' shape minus the class dimension.
    With :math:`\varepsilon` = ``label_smoothing`` and :math:`p = \operatorname{softmax}(z)`:

    .. math::
        \log p_{i,c} = z_{i,c} - \log \textstyle\sum_k e^{z_{i,k}} \\
        \mathrm{NLL}_i = -\log p_{i, y_i}, \qquad
        U_i = \frac{1}{C} \sum_{c=1}^{C} -\log p_{i,c} \\
        \ell = \frac{1}{N} \sum_{i=1}^{N} \big[(1 - \varepsilon)\, \mathrm{NLL}_i + \varepsilon\, U_i\big]

    This is the cross-entropy against the smoothed target
    :math:`q_c = (1-\varepsilon)\,[c = y_i] + \varepsilon / C`.

    .. note::
        Label smoothing follows Szegedy et al. (2016) as torch implements it: the mass
        :math:`\varepsilon` is spread uniformly over all :math:`C` classes *including* the true
        one, so the true class gets :math:`1 - \varepsilon + \varepsilon/C`, not
        :math:`1 - \varepsilon`. Class weights and ``ignore_index`` are not supported.
    """
    check_tensor("logits", logits, floating=True)
    eps = check_real("label_smoothing", label_smoothing)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    class_dim, _ = _check_targets(logits, target)
    logp = log_softmax(logits, dim=class_dim)
    nll = -logp.gather(class_dim, target.unsqueeze(class_dim)).squeeze(class_dim)
    if eps == 0.0:
        return nll.mean()
    uniform = -logp.mean(class_dim)
    return ((1.0 - eps) * nll + eps * uniform).mean()


def _check_linear(W: object, X: object, y: object, lam: object) -> float:
    """Shapes of a linear classifier's W (d, K), X (N, d) and class indices y (N,); returns lam."""
    check_tensor("W", W, floating=True, ndim=2)
    check_tensor("X", X, floating=True, ndim=2)
    if X.shape[1] != W.shape[0]:
        raise ValueError(f"X must have W.shape[0] = {W.shape[0]} columns, got shape {tuple(X.shape)}")
    _check_targets(X @ W, y)
    return check_real("lam", lam, low=0.0)


def linear_softmax_loss(
    W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, lam: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Softmax cross-entropy of the linear classifier :math:`\mathbf{Z} = \mathbf{X}\mathbf{W}`
    and its gradient with respect to :math:`\mathbf{W}`, vectorized (no loop over examples).

    ``W`` has shape ``(d, K)``, ``X`` ``(N, d)`` (append a column of ones to ``X`` and a row to
    ``W`` for a bias), ``y`` holds class indices. With :math:`\mathbf{Y}` the one-hot targets and
    :math:`\lambda` = ``lam``:

    .. math::
        \mathbf{Z} = \mathbf{X}\mathbf{W}, \qquad
        \mathbf{S} = \operatorname{softmax}(\mathbf{Z}) \ \text{(row by row, max subtracted)} \\
        L = -\frac1N \sum_{i=1}^{N} \log S_{i, y_i} + \lambda \lVert\mathbf{W}\rVert_2^2 \\
        \frac{\partial L}{\partial \mathbf{W}} = \frac1N \mathbf{X}^\top (\mathbf{S} - \mathbf{Y}) + 2\lambda \mathbf{W}

    The gradient follows from :math:`\partial(-\log s_y)/\partial \mathbf{z} = \mathbf{s} - \mathbf{y}`
    for each row and :math:`\mathbf{Z} = \mathbf{X}\mathbf{W}`.

    Returns:
        ``(loss, grad)``: a 0-d tensor and a tensor of ``W``'s shape.
    """
    lam = _check_linear(W, X, y, lam)
    y = y.long()
    n, k = X.shape[0], W.shape[1]
    Z = X @ W
    log_S = log_softmax(Z, dim=1)
    loss = -log_S.gather(1, y[:, None]).mean() + lam * (W * W).sum()
    Y = torch.zeros(n, k, dtype=W.dtype, device=W.device).scatter_(1, y[:, None], 1.0)
    grad = X.T @ (torch.exp(log_S) - Y) / n + 2 * lam * W
    return loss, grad


def linear_hinge_loss(
    W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, margin: float = 1.0, lam: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Multiclass hinge loss (Weston & Watkins, summed over the wrong classes, as in chapter 5)
    of the linear classifier :math:`\mathbf{Z} = \mathbf{X}\mathbf{W}` and its gradient with
    respect to :math:`\mathbf{W}`, vectorized.

    Shapes as in :func:`linear_softmax_loss`; :math:`\Delta` = ``margin``. The matrix
    :math:`\mathbf{A}` records which margins are violated and, in the true class's column, how
    many:

    .. math::
        V_{ij} = \max(0,\, Z_{ij} - Z_{i y_i} + \Delta)\ (j \ne y_i), \qquad V_{i y_i} = 0 \\
        L = \frac1N \sum_{i,j} V_{ij} + \lambda \lVert\mathbf{W}\rVert_2^2 \\
        A_{ij} = [V_{ij} > 0]\ (j \ne y_i), \qquad A_{i y_i} = -\sum_{j \ne y_i} A_{ij} \\
        \frac{\partial L}{\partial \mathbf{W}} = \frac1N \mathbf{X}^\top \mathbf{A} + 2\lambda \mathbf{W}

    Each violated margin adds :math:`\mathbf{x}_i` to column :math:`j` and subtracts it from
    column :math:`y_i`. At a kink (:math:`V_{ij}` exactly 0) this is the subgradient that counts
    the margin as met, as ``F.multi_margin_loss`` does. Unlike :func:`hinge_loss` there is no
    division by :math:`K`.

    Returns:
        ``(loss, grad)``: a 0-d tensor and a tensor of ``W``'s shape.
    """
    lam = _check_linear(W, X, y, lam)
    margin = check_real("margin", margin, low=0.0)
    y = y.long()
    n = X.shape[0]
    Z = X @ W
    true = Z.gather(1, y[:, None])  # Z_{i, y_i}, a column
    V = (Z - true + margin).clamp(min=0).scatter(1, y[:, None], 0.0)  # the margin violations
    loss = V.sum() / n + lam * (W * W).sum()
    A = (V > 0).to(W.dtype)
    A = A.scatter(1, y[:, None], -A.sum(1, keepdim=True))
    grad = X.T @ A / n + 2 * lam * W
    return loss, grad
