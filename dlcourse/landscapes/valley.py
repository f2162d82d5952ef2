r"""A quadratic valley with condition number :math:`\kappa`: gradient descent and momentum on it,
and the rates theory predicts (chapter 2, the momentum-valley widget). See
:mod:`dlcourse.landscapes` for the conventions (float64, plain arithmetic in a fixed order)."""

from __future__ import annotations

import math

import numpy as np

from ..validate import check_int, check_real

__all__ = [
    "valley_loss",
    "gradient_descent_trajectory",
    "momentum_trajectory",
    "momentum_matrix",
    "iteration_rate",
    "optimal_momentum",
    "gradient_descent_rate",
    "quadratic_contours",
]


# --------------------------------------------------------------------------------------------
# The valley: f(x, y) = (x^2 / kappa + y^2) / 2, curvature 1/kappa along x and 1 along y.
# --------------------------------------------------------------------------------------------
def valley_loss(x, y, kappa: float):
    r"""Loss of the valley with curvatures :math:`h_x = 1/\kappa` (flat) and :math:`h_y = 1`.

    .. math::
        f(x, y) = \tfrac12\,(h_x x\,x + h_y y\,y),\qquad h_x = 1/\kappa,\ h_y = 1

    Works on floats and on arrays (element by element, in this order).
    """
    hx = 1.0 / check_real("kappa", kappa, low=0, low_open=True)
    return 0.5 * (hx * x * x + y * y)


def gradient_descent_trajectory(start, lr: float, steps: int, kappa: float) -> np.ndarray:
    r"""Gradient descent on the valley, shape ``(steps + 1, 2)``, row 0 the start.

    .. math::
        g_t = (h_x x_t,\ h_y y_t),\qquad w_{t+1} = w_t - \alpha\, g_t
    """
    return momentum_trajectory(start, lr, 0.0, steps, kappa, _plain=True)


def momentum_trajectory(
    start,
    lr: float,
    beta: float,
    steps: int,
    kappa: float,
    nesterov: bool = False,
    *,
    _plain: bool = False,
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
    lr = check_real("lr", lr, low=0, low_open=True)
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1), got {beta}")
    hx, hy = 1.0 / check_real("kappa", kappa, low=0, low_open=True), 1.0
    steps = check_int("steps", steps, low=0)
    x, y = (float(v) for v in start)
    vx = vy = 0.0
    out = np.empty((steps + 1, 2))
    out[0] = x, y
    for t in range(1, steps + 1):
        gx, gy = hx * x, hy * y
        if _plain:  # gradient descent: w <- w - lr * g
            x, y = x - lr * gx, y - lr * gy
        else:
            vx, vy = beta * vx + gx, beta * vy + gy
            dx, dy = (gx + beta * vx, gy + beta * vy) if nesterov else (vx, vy)
            x, y = x - lr * dx, y - lr * dy
        out[t] = x, y
    return out


def momentum_matrix(lr: float, beta: float, h: float, nesterov: bool = False) -> np.ndarray:
    r"""The 2x2 matrix :math:`R` that advances momentum by one step along a direction of curvature
    :math:`h` (an eigenvalue of the Hessian), in ``torch.optim.SGD``'s form.

    With :math:`g_t = h w_{t-1}`, the state :math:`(w_t, v_t)` obeys :math:`(w_t, v_t)^\top =
    R\,(w_{t-1}, v_{t-1})^\top`:

    .. math::
        \text{heavy ball: } v_t = \beta v_{t-1} + h w_{t-1},\ w_t = w_{t-1} - \alpha v_t
        \ \Rightarrow\ R = \begin{pmatrix} 1 - \alpha h & -\alpha\beta \\ h & \beta \end{pmatrix} \\
        \text{Nesterov: } w_t = w_{t-1} - \alpha (h w_{t-1} + \beta v_t)
        \ \Rightarrow\ R = \begin{pmatrix} 1 - \alpha h (1 + \beta) & -\alpha\beta^2 \\ h & \beta \end{pmatrix}

    Its trace and determinant are the :math:`T` and :math:`D` of :func:`iteration_rate`.
    """
    lr, beta, h = float(lr), float(beta), float(h)
    if nesterov:
        return np.array([[1.0 - lr * h * (1.0 + beta), -lr * beta * beta], [h, beta]])
    return np.array([[1.0 - lr * h, -lr * beta], [h, beta]])


def iteration_rate(lr, beta, kappa: float, nesterov: bool = False):
    r"""Asymptotic rate :math:`\rho` per step (``|w_t| ~ rho^t``) of momentum on the valley.

    On each eigen-direction with curvature :math:`h \in \{1/\kappa, 1\}` the state
    :math:`(w, v)` is multiplied by the 2x2 matrix of :func:`momentum_matrix`, with trace
    :math:`T` and determinant :math:`D`; its eigenvalues are the roots of :math:`r^2 - T r + D`:

    .. math::
        \text{heavy ball: } T = 1 + \beta - \alpha h,\quad D = \beta \qquad
        \text{Nesterov: } T = 1 + \beta - \alpha h (1 + \beta),\quad D = \beta (1 - \alpha h) \\
        \rho_h = \begin{cases} \sqrt{D} & T^2 - 4D < 0 \text{ (complex roots)} \\
                 (|T| + \sqrt{T^2 - 4D}) / 2 & \text{otherwise (real roots; repeated at } T^2 = 4D)
                 \end{cases}
        \qquad \rho = \max(\rho_{1/\kappa}, \rho_1)

    ``beta = 0`` gives gradient descent, :math:`\rho = \max_h |1 - \alpha h|`. The heavy ball
    converges (:math:`\rho < 1`) exactly when :math:`0 < \alpha h < 2(1 + \beta)` for both
    curvatures. ``lr`` and ``beta`` may be arrays (the widget's map of the :math:`(\alpha, \beta)`
    plane).
    """
    lr, beta = np.asarray(lr, dtype=float), np.asarray(beta, dtype=float)
    rate = np.zeros(np.broadcast(lr, beta).shape)
    for h in (1.0 / check_real("kappa", kappa, low=0, low_open=True), 1.0):
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

    These put :math:`\alpha h_{\min} = (1 - \sqrt{\beta})^2` and :math:`\alpha h_{\max} = (1 +
    \sqrt{\beta})^2`: the discriminant :math:`T^2 - 4D` of :func:`iteration_rate` is zero at both
    ends (a repeated real root) and negative in between, so every direction contracts by
    :math:`\sqrt{\beta^*}`. Returns ``(alpha, beta, rate)``.
    """
    kappa = check_real("kappa", kappa, low=0, low_open=True)
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
    kappa = check_real("kappa", kappa, low=0, low_open=True)
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
    s11, s12, s22 = (a + s) / t, b / t, (d + s) / t  # S = sqrt(A)
    det = s11 * s22 - s12 * s12
    i11, i12, i22 = s22 / det, -s12 / det, s11 / det  # S^{-1}
    theta = np.linspace(0.0, 2.0 * math.pi, n)
    r = np.sqrt(2.0 * np.asarray(levels, dtype=float))[:, None]
    u, v = r * np.cos(theta), r * np.sin(theta)
    return np.stack([center[0] + i11 * u + i12 * v, center[1] + i12 * u + i22 * v], axis=-1)
