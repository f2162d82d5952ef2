r"""Data sets for the book: a small real one that works offline, and synthetic ones.

* :func:`load_digits` -- the 8x8 handwritten digits that ship inside scikit-learn (1797 images,
  10 classes), as tensors with a fixed, stratified 60/20/20 train/validation/test split.
* :func:`make_moons`, :func:`make_spirals` -- two-dimensional classification problems whose
  classes no straight line separates.
* :func:`make_ill_conditioned_regression` -- a linear regression whose design matrix has a chosen
  condition number, for the chapters on optimizers and on L2 regularisation.

Every function is deterministic given ``seed``: the random numbers are drawn on the CPU from a
seeded ``torch.Generator`` (the same on every machine) and the tensors are moved to ``device``
afterwards (``device=None`` means :func:`dlcourse.get_device`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .device import get_device
from .validate import check_bool, check_int, check_real

__all__ = [
    "Splits",
    "load_digits",
    "make_moons",
    "make_spirals",
    "make_ill_conditioned_regression",
]


class Splits(NamedTuple):
    """Train, validation and test sets, each an ``(X, y)`` tuple of tensors."""

    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]


# --------------------------------------------------------------------------- argument checks
def _resolve(device) -> torch.device:
    return get_device() if device is None else torch.device(device)


def _generator(seed) -> torch.Generator:
    return torch.Generator().manual_seed(check_int("seed", seed, low=0))


# --------------------------------------------------------------------------- digits
def load_digits(seed: int = 0, flatten: bool = True, device=None) -> Splits:
    r"""The scikit-learn digits as tensors, split 60/20/20 into train, validation and test.

    Pixels are integers 0..16 in the original; they are scaled to :math:`[0, 1]`:

    .. math::
        x = \text{pixel} / 16

    The split is *stratified*: within each class :math:`c` (with :math:`n_c` images, shuffled by
    the generator), :math:`\operatorname{round}(0.2\,n_c)` images go to validation,
    :math:`\operatorname{round}(0.2\,n_c)` to test and the rest to training, so every split has
    (almost exactly) the class proportions of the whole set. Each split is then shuffled, so its
    classes are mixed. The same ``seed`` always gives the same split.

    Args:
        seed: seeds the split (an int >= 0).
        flatten: ``True`` gives ``X`` of shape ``(n, 64)``; ``False`` gives images ``(n, 1, 8, 8)``.
        device: where the tensors go; ``None`` means :func:`dlcourse.get_device`.

    Returns:
        :class:`Splits` ``(train, val, test)``, each ``(X, y)`` with ``X`` float32 in
        :math:`[0, 1]` and ``y`` int64 class indices 0..9. Sizes: 1079/359/359.
    """
    from sklearn.datasets import load_digits as _sk_load_digits  # ships with scikit-learn

    check_bool("flatten", flatten)
    gen = _generator(seed)
    device = _resolve(device)
    bunch = _sk_load_digits()
    X = torch.as_tensor(bunch.data, dtype=torch.float32) / 16.0
    y = torch.as_tensor(bunch.target, dtype=torch.int64)

    parts: dict[str, list[torch.Tensor]] = {"train": [], "val": [], "test": []}
    for c in torch.unique(y).tolist():
        idx = torch.nonzero(y == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        n_val = n_test = round(0.2 * len(idx))
        parts["val"].append(idx[:n_val])
        parts["test"].append(idx[n_val : n_val + n_test])
        parts["train"].append(idx[n_val + n_test :])

    out = []
    for name in ("train", "val", "test"):
        idx = torch.cat(parts[name])
        idx = idx[torch.randperm(len(idx), generator=gen)]  # mix the classes
        Xs = X[idx] if flatten else X[idx].reshape(-1, 1, 8, 8)
        out.append((Xs.to(device), y[idx].to(device)))
    return Splits(*out)


# --------------------------------------------------------------------------- synthetic sets
def make_moons(n: int = 200, noise: float = 0.1, seed: int = 0, device=None):
    r"""Two interleaving half circles ("two moons"), labels 0 and 1.

    Class 0 has :math:`\lceil n/2 \rceil` points, class 1 the rest, at evenly spaced angles
    :math:`t \in [0, \pi]`, plus Gaussian noise of standard deviation ``noise``:

    .. math::
        x^{(0)} = (\cos t,\ \sin t) + \varepsilon, \qquad
        x^{(1)} = (1 - \cos t,\ \tfrac12 - \sin t) + \varepsilon, \qquad
        \varepsilon \sim \mathcal N(0, \text{noise}^2 I)

    The points are returned in a shuffled order.

    Returns:
        ``(X, y)``: ``X`` float32 of shape ``(n, 2)``, ``y`` int64 of shape ``(n,)``.
    """
    n = check_int("n", n, low=2)
    noise = check_real("noise", noise, low=0)
    gen = _generator(seed)
    n0 = (n + 1) // 2
    n1 = n - n0
    t0 = torch.linspace(0, math.pi, n0, dtype=torch.float64)
    t1 = torch.linspace(0, math.pi, n1, dtype=torch.float64)
    upper = torch.stack([torch.cos(t0), torch.sin(t0)], dim=1)
    lower = torch.stack([1 - torch.cos(t1), 0.5 - torch.sin(t1)], dim=1)
    X = torch.cat([upper, lower]) + noise * torch.randn(n, 2, generator=gen, dtype=torch.float64)
    y = torch.cat([torch.zeros(n0, dtype=torch.int64), torch.ones(n1, dtype=torch.int64)])
    perm = torch.randperm(n, generator=gen)
    device = _resolve(device)
    return X[perm].to(device, torch.float32), y[perm].to(device)


def make_spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0, device=None):
    r"""``classes`` interleaved spiral arms in the plane, labels ``0..classes-1``.

    Arm :math:`k` gets :math:`\lfloor n/K \rfloor` points (the first :math:`n \bmod K` arms one
    more). Along an arm the radius :math:`r` runs evenly from 0 to 1 and the angle turns with it;
    the noise perturbs the angle (in radians, standard deviation ``noise``):

    .. math::
        \theta = \frac{2\pi k}{K} + 4 r + \varepsilon, \qquad
        x = r\,(\cos\theta,\ \sin\theta), \qquad \varepsilon \sim \mathcal N(0, \text{noise}^2)

    Returns:
        ``(X, y)``: ``X`` float32 of shape ``(n, 2)``, ``y`` int64 of shape ``(n,)``.
    """
    classes = check_int("classes", classes, low=2)
    n = check_int("n", n, low=1)
    if n < classes:
        raise ValueError(f"n must be >= classes (one point per arm at least), got n={n}, classes={classes}")
    noise = check_real("noise", noise, low=0)
    gen = _generator(seed)
    Xs, ys = [], []
    for k in range(classes):
        m = n // classes + (1 if k < n % classes else 0)
        r = torch.linspace(0.0, 1.0, m, dtype=torch.float64)
        eps = noise * torch.randn(m, generator=gen, dtype=torch.float64)
        theta = 2 * math.pi * k / classes + 4 * r + eps
        Xs.append(torch.stack([r * torch.cos(theta), r * torch.sin(theta)], dim=1))
        ys.append(torch.full((m,), k, dtype=torch.int64))
    X, y = torch.cat(Xs), torch.cat(ys)
    perm = torch.randperm(n, generator=gen)
    device = _resolve(device)
    return X[perm].to(device, torch.float32), y[perm].to(device)


def make_ill_conditioned_regression(
    n: int = 200, d: int = 10, cond: float = 100.0, noise: float = 0.1, seed: int = 0, device=None
):
    r"""A linear regression :math:`y = X w^\star + \varepsilon` whose :math:`X^\top X` has
    condition number ``cond``.

    The design matrix is built from its singular value decomposition. With :math:`U`
    (:math:`n \times d`, orthonormal columns) and :math:`V` (:math:`d \times d`, orthogonal) taken
    from QR decompositions of Gaussian matrices, and singular values spaced geometrically,

    .. math::
        s_i = \kappa^{-i / (2(d-1))}, \quad i = 0, \dots, d-1, \qquad
        X = \sqrt{n}\; U \operatorname{diag}(s) V^\top, \qquad
        X^\top X = n\, V \operatorname{diag}(s^2) V^\top,

    so :math:`\operatorname{cond}(X^\top X) = s_0^2 / s_{d-1}^2 = \kappa` (``cond``), and the
    :math:`\sqrt n` keeps the features of order one. Then
    :math:`w^\star \sim \mathcal N(0, I_d)` and :math:`\varepsilon \sim \mathcal N(0,
    \text{noise}^2 I_n)`.

    Requires ``n >= d``; with ``d == 1`` the only possible condition number is 1.

    Returns:
        ``(X, y, w_true)``: float32 tensors of shapes ``(n, d)``, ``(n,)`` and ``(d,)``.
    """
    n = check_int("n", n, low=1)
    d = check_int("d", d, low=1)
    if n < d:
        raise ValueError(f"n must be >= d for X^T X to be invertible, got n={n}, d={d}")
    cond = check_real("cond", cond, low=1)  # a condition number
    if d == 1 and cond != 1:
        raise ValueError(f"with d=1, X^T X is a number and its condition number is 1, got cond={cond}")
    noise = check_real("noise", noise, low=0)
    gen = _generator(seed)
    f64 = torch.float64
    U, _ = torch.linalg.qr(torch.randn(n, d, generator=gen, dtype=f64))
    V, _ = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=f64))
    i = torch.arange(d, dtype=f64)
    s = float(cond) ** (-i / (2 * max(d - 1, 1)))
    X = math.sqrt(n) * (U * s) @ V.T  # U diag(s) V^T
    w_true = torch.randn(d, generator=gen, dtype=f64)
    y = X @ w_true + noise * torch.randn(n, generator=gen, dtype=f64)
    device = _resolve(device)
    return tuple(t.to(device, torch.float32) for t in (X, y, w_true))
