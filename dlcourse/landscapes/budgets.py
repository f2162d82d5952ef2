r"""Two weights under an L1 or an L2 budget, and the lasso and ridge paths of a regression with
many features of which few matter (chapter 4, the L1-versus-L2 widget). See
:mod:`dlcourse.landscapes` for the conventions."""

from __future__ import annotations

import math

import numpy as np

from ..validate import check_real
from .saddle import xorshift32

__all__ = [
    "quadratic2_loss",
    "l2_ball_solution",
    "l1_ball_solution",
    "sparse_regression",
    "lasso_path",
    "ridge_path",
    "count_zeros",
]


# --------------------------------------------------------------------------------------------
# Two weights: q(w) = (w - w*)^T A (w - w*) / 2 with A = [[1, rho], [rho, 1]], under a budget.
# --------------------------------------------------------------------------------------------
def quadratic2_loss(w1, w2, opt, rho: float):
    r"""Least-squares loss of two standardized features with correlation :math:`\rho`.

    .. math::
        q(w) = \tfrac12\,(e_1 e_1 + 2 \rho\, e_1 e_2 + e_2 e_2),\qquad e = w - w^*
    """
    e1, e2 = w1 - opt[0], w2 - opt[1]
    return 0.5 * (e1 * e1 + 2.0 * rho * e1 * e2 + e2 * e2)


def _check_two(opt, rho: float, budget: float) -> tuple[float, float]:
    if not -1.0 < rho < 1.0:
        raise ValueError(f"rho must be in (-1, 1), got {rho}")
    check_real("budget", budget, low=0, low_open=True)
    return float(opt[0]), float(opt[1])


def l2_ball_solution(opt, rho: float, budget: float, iters: int = 100) -> np.ndarray:
    r"""Minimizer of :math:`q` on the disc :math:`\|w\|_2 \le t`.

    Inside the disc it is :math:`w^*`. Otherwise it is :math:`w(\lambda) = (A + \lambda I)^{-1}
    A w^*` with :math:`\|w(\lambda)\|_2 = t`, found by ``iters`` bisections of
    :math:`\lambda \in [0, \|A w^*\|_2 / t]` (``||w(lambda)||`` decreases in :math:`\lambda`);
    the 2x2 system is solved by Cramer's rule.
    """
    o1, o2 = _check_two(opt, rho, budget)
    if math.sqrt(o1 * o1 + o2 * o2) <= budget:
        return np.array([o1, o2])
    b1, b2 = o1 + rho * o2, rho * o1 + o2  # A w*
    lo, hi = 0.0, math.sqrt(b1 * b1 + b2 * b2) / budget
    for _ in range(iters):
        lam = 0.5 * (lo + hi)
        det = (1.0 + lam) * (1.0 + lam) - rho * rho
        w1, w2 = ((1.0 + lam) * b1 - rho * b2) / det, ((1.0 + lam) * b2 - rho * b1) / det
        if math.sqrt(w1 * w1 + w2 * w2) > budget:
            lo = lam
        else:
            hi = lam
    det = (1.0 + hi) * (1.0 + hi) - rho * rho
    return np.array([((1.0 + hi) * b1 - rho * b2) / det, ((1.0 + hi) * b2 - rho * b1) / det])


def l1_ball_solution(opt, rho: float, budget: float) -> np.ndarray:
    r"""Minimizer of :math:`q` on the diamond :math:`|w_1| + |w_2| \le t`, exactly.

    Inside the diamond it is :math:`w^*`. Otherwise it lies on one of the four edges
    :math:`w(u) = (s_1 t u,\ s_2 t (1 - u))`, :math:`u \in [0, 1]`, on which :math:`q` is a
    parabola in :math:`u` minimized at

    .. math::
        u = \operatorname{clip}_{[0, 1]}\frac{d^\top A (w^* - p)}{d^\top A d},
        \qquad p = (0, s_2 t),\ d = (s_1 t, -s_2 t)

    The edge with the smallest loss wins (the first in the order (+,+), (+,-), (-,+), (-,-) on
    a tie). A clipped :math:`u` is a corner, where one weight is exactly 0.
    """
    o1, o2 = _check_two(opt, rho, budget)
    t = float(budget)
    if abs(o1) + abs(o2) <= t:
        return np.array([o1, o2])
    best, best_loss = None, math.inf
    for s1, s2 in ((1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)):
        d1, d2 = s1 * t, -s2 * t
        r1, r2 = o1, o2 - s2 * t  # w* - p
        num = d1 * (r1 + rho * r2) + d2 * (rho * r1 + r2)
        den = d1 * (d1 + rho * d2) + d2 * (rho * d1 + d2)
        u = min(1.0, max(0.0, num / den))
        w1, w2 = s1 * t * u, s2 * t * (1.0 - u)
        loss = quadratic2_loss(w1, w2, (o1, o2), rho)
        if loss < best_loss:
            best, best_loss = (w1, w2), loss
    return np.array(best)


# --------------------------------------------------------------------------------------------
# Many features, few that matter: lasso (ISTA) and ridge paths.
# --------------------------------------------------------------------------------------------
def sparse_regression(n: int = 60, d: int = 20, k: int = 4, noise: float = 0.5, seed: int = 0):
    r"""A regression :math:`y = X w + \varepsilon` where only the first ``k`` of ``d`` weights
    are nonzero: :math:`w_j = (-1)^j \, 3 (k - j) / k` for :math:`j < k`.

    :math:`X` and :math:`\varepsilon` are uniform (variance 1 and ``noise**2``), drawn row by row
    from ``xorshift32(seed)`` as :math:`\sqrt 3\,(2 u / 2^{32} - 1)`. Returns ``(X, y, w)``.
    """
    if not 0 <= k <= d:
        raise ValueError(f"k must be in [0, d={d}], got {k}")
    u = xorshift32(seed, n * (d + 1)).astype(float) / 4294967296.0
    z = (2.0 * u - 1.0) * math.sqrt(3.0)
    X, eps = z[: n * d].reshape(n, d), z[n * d :]
    w = np.zeros(d)
    for j in range(k):
        w[j] = (-1.0) ** j * 3.0 * (k - j) / k
    return X, X @ w + noise * eps, w


def lasso_path(X, y, lams, iters: int = 300, w0=None) -> np.ndarray:
    r"""Lasso coefficients for each :math:`\lambda` in ``lams`` (taken in the given order, each
    solve warm-started from the previous one), by proximal gradient descent (ISTA):

    .. math::
        \min_w \tfrac{1}{2n}\|y - Xw\|^2 + \lambda \|w\|_1,\qquad
        G = X^\top X / n,\ c = X^\top y / n \\
        w \leftarrow S_{\eta\lambda}\big(w - \eta (G w - c)\big),\qquad
        S_\tau(z) = \operatorname{sign}(z) \max(|z| - \tau, 0),\qquad \eta = 1 / L

    with :math:`L` the largest eigenvalue of :math:`G` (200 power iterations from the ones
    vector). Soft-thresholding sets weights *exactly* to zero. The first solve starts from ``w0``
    (zeros by default). Returns ``(len(lams), d)``.
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    n = X.shape[0]
    G, c = X.T @ X / n, X.T @ y / n
    v = np.ones(G.shape[0])
    for _ in range(200):
        v = G @ v
        v = v / math.sqrt(float(v @ v))
    eta = 1.0 / float(v @ (G @ v))
    w = np.zeros(G.shape[0]) if w0 is None else np.array(w0, dtype=float)
    out = np.empty((len(lams), G.shape[0]))
    for i, lam in enumerate(lams):
        tau = eta * float(lam)
        for _ in range(iters):
            z = w - eta * (G @ w - c)
            w = np.sign(z) * np.maximum(np.abs(z) - tau, 0.0)
        out[i] = w
    return out


def ridge_path(X, y, lams) -> np.ndarray:
    r"""Ridge coefficients for each :math:`\lambda`, in closed form:

    .. math::
        \min_w \tfrac{1}{2n}\|y - Xw\|^2 + \tfrac{\lambda}{2}\|w\|^2
        \ \Rightarrow\ w = (X^\top X / n + \lambda I)^{-1} X^\top y / n
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    n, d = X.shape
    G, c = X.T @ X / n, X.T @ y / n
    return np.stack([np.linalg.solve(G + float(lam) * np.eye(d), c) for lam in lams])


def count_zeros(path) -> np.ndarray:
    """Number of coefficients that are exactly 0.0 in each row of a path."""
    return (np.asarray(path) == 0.0).sum(axis=-1)
