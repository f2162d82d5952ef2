r"""The computations behind the book's interactive figures (:mod:`dlcourse.widgets`).

Three small worlds, each a pure function of its parameters that the widgets only draw:

* a quadratic **valley** with condition number :math:`\kappa` and the trajectories of gradient
  descent and momentum on it, with the rates theory predicts;
* a **two-weight least-squares** problem under an L1 or an L2 budget, and the lasso and ridge
  coefficient paths of a regression with many features of which few matter;
* a **saddle** whose loss is the mean of per-example losses, and mini-batch SGD started on it.

Everything is float64 and written as plain arithmetic in a documented order, so that the browser
version of the figures (JavaScript) can repeat it operation for operation. Randomness comes from
:func:`xorshift32`, a 32-bit generator that needs only shifts and exclusive-ors, never from
NumPy's ``Generator``; the random numbers used are dyadic fractions (integers divided by a power
of two), so the saddle's mini-batch sums are exact in any summation order and no ``log``/``cos``
of a maths library, whose last bit may differ between languages, is involved.
"""

from __future__ import annotations

import math

import numpy as np

from ._landscape_saddle import (
    SADDLE_EXAMPLES,
    escape_steps,
    saddle_batch_means,
    saddle_descent,
    saddle_loss,
    saddle_offsets,
    saddle_sgd,
    xorshift32,
)

__all__ = [
    "valley_loss", "gradient_descent_trajectory", "momentum_trajectory", "iteration_rate",
    "optimal_momentum", "gradient_descent_rate", "quadratic_contours",
    "quadratic2_loss", "l2_ball_solution", "l1_ball_solution",
    "sparse_regression", "lasso_path", "ridge_path", "count_zeros",
    "SADDLE_EXAMPLES", "xorshift32", "saddle_loss", "saddle_offsets", "saddle_batch_means",
    "saddle_descent", "saddle_sgd", "escape_steps",
]


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return float(value)


def _steps(steps: int) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    return int(steps)


# --------------------------------------------------------------------------------------------
# The valley: f(x, y) = (x^2 / kappa + y^2) / 2, curvature 1/kappa along x and 1 along y.
# --------------------------------------------------------------------------------------------
def valley_loss(x, y, kappa: float):
    r"""Loss of the valley with curvatures :math:`h_x = 1/\kappa` (flat) and :math:`h_y = 1`.

    .. math::
        f(x, y) = \tfrac12\,(h_x x\,x + h_y y\,y),\qquad h_x = 1/\kappa,\ h_y = 1

    Works on floats and on arrays (element by element, in this order).
    """
    hx = 1.0 / _positive("kappa", kappa)
    return 0.5 * (hx * x * x + y * y)


def gradient_descent_trajectory(start, lr: float, steps: int, kappa: float) -> np.ndarray:
    r"""Gradient descent on the valley, shape ``(steps + 1, 2)``, row 0 the start.

    .. math::
        g_t = (h_x x_t,\ h_y y_t),\qquad w_{t+1} = w_t - \alpha\, g_t
    """
    return momentum_trajectory(start, lr, 0.0, steps, kappa, _plain=True)


def momentum_trajectory(
    start, lr: float, beta: float, steps: int, kappa: float, nesterov: bool = False,
    *, _plain: bool = False,
) -> np.ndarray:
    r"""Heavy-ball (or Nesterov) momentum on the valley, in ``torch.optim.SGD``'s form.

    .. math::
        g_t &= (h_x x_t,\ h_y y_t) \\
        v_{t+1} &= \beta v_t + g_t,\qquad v_0 = 0 \\
        d_t &= v_{t+1}\quad\text{(heavy ball)}\qquad d_t = g_t + \beta v_{t+1}\quad\text{(Nesterov)} \\
        w_{t+1} &= w_t - \alpha\, d_t

    Each coordinate is updated in exactly this order (``v = beta * v + g``, then
    ``w = w - lr * d``). Returns an array of shape ``(steps + 1, 2)``.

    .. note::
        Polyak's form :math:`w_{t+1} = w_t - \alpha g_t + \beta (w_t - w_{t-1})` is the same
        sequence: :math:`\alpha v_{t+1} = \beta (w_{t-1} - w_t) + \alpha g_t`.
    """
    lr = _positive("lr", lr)
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1), got {beta}")
    hx, hy = 1.0 / _positive("kappa", kappa), 1.0
    steps = _steps(steps)
    x, y = (float(v) for v in start)
    vx = vy = 0.0
    out = np.empty((steps + 1, 2))
    out[0] = x, y
    for t in range(1, steps + 1):
        gx, gy = hx * x, hy * y
        if _plain:                      # gradient descent: w <- w - lr * g
            x, y = x - lr * gx, y - lr * gy
        else:
            vx, vy = beta * vx + gx, beta * vy + gy
            dx, dy = (gx + beta * vx, gy + beta * vy) if nesterov else (vx, vy)
            x, y = x - lr * dx, y - lr * dy
        out[t] = x, y
    return out


def iteration_rate(lr, beta, kappa: float, nesterov: bool = False):
    r"""Asymptotic rate :math:`\rho` per step (``|w_t| ~ rho^t``) of momentum on the valley.

    On each eigen-direction with curvature :math:`h \in \{1/\kappa, 1\}` the state
    :math:`(w, v)` is multiplied by a 2x2 matrix with trace :math:`T` and determinant :math:`D`:

    .. math::
        \text{heavy ball: } T = 1 + \beta - \alpha h,\quad D = \beta \qquad
        \text{Nesterov: } T = 1 + \beta - \alpha h (1 + \beta),\quad D = \beta (1 - \alpha h) \\
        \rho_h = \begin{cases} \sqrt{D} & T^2 - 4D < 0 \text{ (complex roots)} \\
                 (|T| + \sqrt{T^2 - 4D}) / 2 & \text{otherwise} \end{cases}
        \qquad \rho = \max(\rho_{1/\kappa}, \rho_1)

    ``beta = 0`` gives gradient descent, :math:`\rho = \max_h |1 - \alpha h|`. ``lr`` and ``beta``
    may be arrays (the widget's map of the :math:`(\alpha, \beta)` plane).
    """
    lr, beta = np.asarray(lr, dtype=float), np.asarray(beta, dtype=float)
    rate = np.zeros(np.broadcast(lr, beta).shape)
    for h in (1.0 / _positive("kappa", kappa), 1.0):
        if nesterov:
            trace, det = 1.0 + beta - lr * h * (1.0 + beta), beta * (1.0 - lr * h)
        else:
            trace, det = 1.0 + beta - lr * h, beta + 0.0 * lr
        disc = trace * trace - 4.0 * det
        real = 0.5 * (np.abs(trace) + np.sqrt(np.maximum(disc, 0.0)))
        rate = np.maximum(rate, np.where(disc < 0.0, np.sqrt(np.maximum(det, 0.0)), real))
    return rate if rate.ndim else float(rate)


def optimal_momentum(kappa: float) -> tuple[float, float, float]:
    r"""Polyak's optimal heavy-ball setting for curvatures in :math:`[\mu, L] = [1/\kappa, 1]`.

    .. math::
        \alpha^* = \Big(\frac{2}{\sqrt L + \sqrt\mu}\Big)^2,\qquad
        \beta^* = \Big(\frac{\sqrt\kappa - 1}{\sqrt\kappa + 1}\Big)^2,\qquad
        \rho^* = \sqrt{\beta^*} = \frac{\sqrt\kappa - 1}{\sqrt\kappa + 1}

    Returns ``(alpha, beta, rate)``.
    """
    kappa = _positive("kappa", kappa)
    if kappa < 1.0:
        raise ValueError(f"kappa must be >= 1, got {kappa}")
    s = math.sqrt(kappa)
    alpha = (2.0 / (1.0 + math.sqrt(1.0 / kappa))) ** 2
    rate = (s - 1.0) / (s + 1.0)
    return alpha, rate * rate, rate


def gradient_descent_rate(kappa: float) -> tuple[float, float]:
    r"""Best step and rate of gradient descent on the valley: ``(alpha, rate)``.

    .. math::
        \alpha = \frac{2}{L + \mu},\qquad \rho = \frac{\kappa - 1}{\kappa + 1}
    """
    kappa = _positive("kappa", kappa)
    if kappa < 1.0:
        raise ValueError(f"kappa must be >= 1, got {kappa}")
    return 2.0 / (1.0 + 1.0 / kappa), (kappa - 1.0) / (kappa + 1.0)


def quadratic_contours(center, a: float, b: float, d: float, levels, n: int = 65) -> np.ndarray:
    r"""Level sets of :math:`q(w) = \tfrac12 (w - c)^\top A (w - c)`, :math:`A = [[a, b], [b, d]]`.

    Each level :math:`\ell` is the ellipse :math:`w = c + S^{-1} \sqrt{2\ell}\,(\cos\theta,
    \sin\theta)` with :math:`S = \sqrt{A} = (A + s I) / \sqrt{a + d + 2 s}`, :math:`s =
    \sqrt{ad - b^2}`. Returns shape ``(len(levels), n, 2)``, each curve closed.
    """
    s = math.sqrt(a * d - b * b)
    t = math.sqrt(a + d + 2.0 * s)
    s11, s12, s22 = (a + s) / t, b / t, (d + s) / t       # S = sqrt(A)
    det = s11 * s22 - s12 * s12
    i11, i12, i22 = s22 / det, -s12 / det, s11 / det      # S^{-1}
    theta = np.linspace(0.0, 2.0 * math.pi, n)
    r = np.sqrt(2.0 * np.asarray(levels, dtype=float))[:, None]
    u, v = r * np.cos(theta), r * np.sin(theta)
    return np.stack([center[0] + i11 * u + i12 * v, center[1] + i12 * u + i22 * v], axis=-1)


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
    _positive("budget", budget)
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
    b1, b2 = o1 + rho * o2, rho * o1 + o2                 # A w*
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
        r1, r2 = o1, o2 - s2 * t                           # w* - p
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
    X, eps = z[: n * d].reshape(n, d), z[n * d:]
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
