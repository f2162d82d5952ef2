r"""The optimizer race of chapter 2: every optimizer of :mod:`dlcourse.optim` on one 2-D surface.

Four surfaces from the chapter, each a loss :math:`f(x, y)` with a known minimum value :math:`f^*`:

.. math::
    \text{valley: } f = \tfrac12 \big(x^2/\kappa + y^2\big) \qquad
    \text{rotated valley: } f = \tfrac12 \big(u^2/\kappa + v^2\big),\
        u = c\,(x + y),\ v = c\,(y - x),\ c = \sqrt{1/2} \\
    \text{Rosenbrock: } f = (1 - x)^2 + 100\,(y - x^2)^2 \qquad
    \text{saddle: } f = \tfrac12 x^2 - \tfrac12 y^2 + \tfrac14 y^4

with :math:`\kappa` = :data:`KAPPA`. The paths are runs of the real optimizer classes: the
surface's gradient is written out below in a fixed order (so that the browser's copy,
``static/live_compute_race.js``, can repeat it), tested against autograd of the loss itself, and
:func:`dlcourse.optim.trajectory_with_grad` applies the classes' update rule to it (the same path
as :func:`dlcourse.optim.trajectory` with :func:`surface_function`, bit for bit, ten times
faster). A run is scored by its *gap* :math:`f(x_T) - f^*` after :math:`T` steps;
:func:`best_rate` picks, for each optimizer, the rate of :data:`SWEEP` with the smallest gap (the
same small sweep for every optimizer, so that the race is fair).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..optim import OPTIMIZERS, SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop, trajectory_with_grad
from ..validate import check_choice, check_int, check_real
from .saddle import saddle_loss

__all__ = [
    "SURFACES",
    "RACERS",
    "KAPPA",
    "SWEEP",
    "VIEW",
    "START",
    "MINIMUM",
    "MINIMIZERS",
    "DEFAULT_LR",
    "racer_hyper",
    "torch_fuses",
    "surface_loss",
    "surface_grad",
    "surface_function",
    "race_path",
    "loss_gap",
    "best_rate",
    "surface_contours",
]

SURFACES = ("valley", "rotated", "rosenbrock", "saddle")
RACERS = OPTIMIZERS  # sgd, momentum, nesterov, adagrad, rmsprop, adadelta, adam, adamw
KAPPA = 50.0  # the valleys' condition number (chapter 2's valley)
SWEEP = tuple(10.0 ** (k / 2) for k in range(-8, 3))  # 1e-4, 3.2e-4, ..., 10: half decades
VIEW = ((-2.0, 2.0), (-1.5, 2.5))  # (x range, y range): every surface is drawn in this box
START = {
    "valley": (-1.2, 0.8),
    "rotated": (-1.0, 1.4),
    "rosenbrock": (-1.5, 2.0),
    "saddle": (1.5, 1e-3),
}  # the chapter's
MINIMUM = {"valley": 0.0, "rotated": 0.0, "rosenbrock": 0.0, "saddle": -0.25}
MINIMIZERS = {"valley": ((0.0, 0.0),), "rotated": ((0.0, 0.0),), "rosenbrock": ((1.0, 1.0),)}
MINIMIZERS["saddle"] = ((0.0, 1.0), (0.0, -1.0))
_C = math.sqrt(0.5)  # cos 45° = sin 45°
_LEVELS = {  # the contours drawn, as gaps above the minimum
    "valley": tuple(2.0 * 0.5**k for k in range(10)),
    "rotated": tuple(2.0 * 0.5**k for k in range(10)),
    "rosenbrock": tuple(10.0 ** (k / 2) for k in range(-2, 7)),
    "saddle": tuple(0.05 + 0.2 * k for k in range(12)),
}


_CLASSES = {"sgd": SGD, "momentum": SGD, "nesterov": SGD, "adagrad": Adagrad, "rmsprop": RMSprop}
_CLASSES.update(adadelta=Adadelta, adam=Adam, adamw=AdamW)
_NAMED = {"momentum": {"momentum": 0.9}, "nesterov": {"momentum": 0.9, "nesterov": True}}  # as trajectory's
DEFAULT_LR = {name: inspect.signature(cls).parameters["lr"].default for name, cls in _CLASSES.items()}


def racer_hyper(optimizer: str) -> dict:
    """Every hyperparameter but ``lr`` that ``optimizer`` runs with in the race (its class's
    defaults, and momentum 0.9 for the names ``momentum`` and ``nesterov``, as
    :func:`dlcourse.optim.trajectory` reads them), with the class's name under ``"class"``: what
    the browser's copy of the optimizers needs."""
    cls = _CLASSES[check_choice("optimizer", optimizer, RACERS)]
    skip = ("self", "params", "lr", "maximize")
    hyper = {
        name: list(p.default) if isinstance(p.default, tuple) else p.default
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if name not in skip and p.default is not inspect.Parameter.empty
    }
    return {"class": cls.__name__, **hyper, **_NAMED.get(optimizer, {})}


def torch_fuses() -> dict[str, bool]:
    r"""Which of torch's kernels used by the optimizers round :math:`a + s\,b` once (a fused
    multiply-add, as torch's CPU kernels do on processors that have one) rather than twice:
    ``add`` (``add(other, alpha=s)``), ``addcmul`` and ``lerp``. The browser repeats the torch
    that built the page, fused or not; probed on numbers whose product needs more than 53 bits."""
    one = lambda v: torch.full((2,), v, dtype=torch.float64)
    e = 1.0 + 2.0**-30  # e * e = 1 + 2^-29 + 2^-60: the last term is lost unless fused
    add = one(-(1.0 + 2.0**-29)).add(one(e), alpha=e)
    addcmul = one(-(1.0 + 2.0**-29)).addcmul(one(e), one(e), value=1.0)
    lerp = one(-0.25 * (1.0 + 2.0**-29)).lerp(one(0.75 + 2.0**-31), 0.25 * e)
    return {
        name: bool(t[0].item() != 0.0) for name, t in (("add", add), ("addcmul", addcmul), ("lerp", lerp))
    }


def _surface(surface: str) -> str:
    return check_choice("surface", surface, SURFACES)


def surface_loss(surface: str, x, y):
    r"""The loss of ``surface`` at :math:`(x, y)` (floats, arrays or 0-d tensors), in this order:

    .. math::
        \text{valley: } \tfrac12 (h x x + y y),\ h = 1/\kappa \qquad
        \text{rotated: } \tfrac12 (h u u + v v) \qquad
        \text{Rosenbrock: } a a + 100 (b b),\ a = 1 - x,\ b = y - x x \qquad
        \text{saddle: } \tfrac12 x x - \tfrac12 y^2 + \tfrac14 y^2 y^2
    """
    surface = _surface(surface)
    if surface == "valley":
        return 0.5 * ((1.0 / KAPPA) * x * x + y * y)
    if surface == "rotated":
        u, v = _C * (x + y), _C * (y - x)
        return 0.5 * ((1.0 / KAPPA) * u * u + v * v)
    if surface == "rosenbrock":
        a, b = 1.0 - x, y - x * x
        return a * a + 100.0 * (b * b)
    return saddle_loss(x, y)


def _valley_grad(x, y):
    return (1.0 / KAPPA) * x, 1.0 * y


def _rotated_grad(x, y):
    u, v = _C * (x + y), _C * (y - x)
    du = (1.0 / KAPPA) * u
    return _C * (du - v), _C * (du + v)


def _rosenbrock_grad(x, y):
    a, b = 1.0 - x, y - x * x
    return -2.0 * a - 400.0 * x * b, 200.0 * b


def _saddle_grad(x, y):
    return 1.0 * x, y * y * y - y


_GRADS = {"valley": _valley_grad, "rotated": _rotated_grad, "rosenbrock": _rosenbrock_grad}
_GRADS["saddle"] = _saddle_grad


def surface_grad(surface: str, x, y) -> tuple:
    r"""The gradient :math:`(\partial f/\partial x, \partial f/\partial y)`, in this order:

    .. math::
        \text{valley: } (h x,\ y) \qquad
        \text{rotated: } \big(c\,(h u - v),\ c\,(h u + v)\big) \qquad
        \text{Rosenbrock: } (-2a - 400 x\,b,\ 200 b) \qquad
        \text{saddle: } (x,\ y y y - y)
    """
    return _GRADS[_surface(surface)](x, y)


class _Surface(torch.autograd.Function):
    """``surface_loss`` forward, ``surface_grad`` backward (the order the browser repeats)."""

    @staticmethod
    def forward(ctx, p: torch.Tensor, surface: str) -> torch.Tensor:
        ctx.surface = surface
        ctx.save_for_backward(p)
        return surface_loss(surface, p[0], p[1])

    @staticmethod
    def backward(ctx, upstream: torch.Tensor):
        (p,) = ctx.saved_tensors
        gx, gy = surface_grad(ctx.surface, p[0], p[1])
        return upstream * torch.stack((gx, gy)), None


def surface_function(surface: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """``f(p)`` for :func:`dlcourse.optim.trajectory`: ``p`` a float64 tensor of shape (2,), the
    value :func:`surface_loss` and the gradient autograd finds :func:`surface_grad`."""
    surface = _surface(surface)
    return lambda p: _Surface.apply(p, surface)


def race_path(surface: str, optimizer: str, lr: float, steps: int) -> np.ndarray:
    """The path of ``optimizer`` (a name of :data:`RACERS`, with the class's defaults but ``lr``)
    from the surface's start, shape ``(steps + 1, 2)``: :func:`dlcourse.optim.trajectory_with_grad`
    with :func:`surface_grad`, which is :func:`dlcourse.optim.trajectory` of :func:`surface_function`."""
    surface = _surface(surface)
    optimizer = check_choice("optimizer", optimizer, RACERS)
    lr = check_real("lr", lr, low=0, low_open=True)
    steps = check_int("steps", steps, low=0)
    with np.errstate(invalid="ignore", over="ignore"):  # a diverging run's inf - inf, kept as it is
        return trajectory_with_grad(_GRADS[surface], START[surface], optimizer, steps, lr=lr)


def loss_gap(surface: str, path: np.ndarray) -> np.ndarray:
    r""":math:`f(x_t) - f^*` along ``path`` (rows :math:`(x_t, y_t)`); ``inf`` where the run
    diverged (a non-finite point or loss)."""
    path = np.asarray(path, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        gap = surface_loss(surface, path[..., 0], path[..., 1]) - MINIMUM[_surface(surface)]
    return np.where(np.isfinite(gap), gap, np.inf)


def best_rate(final_gaps: Sequence[float]) -> int:
    """The index of the smallest gap (the first of equal ones); a diverged run (``inf``, NaN)
    never wins unless every run diverged, then index 0."""
    gaps = np.asarray(final_gaps, dtype=float)
    if gaps.ndim != 1 or gaps.size == 0:
        raise ValueError(f"final_gaps must be a non-empty 1-d sequence, got shape {gaps.shape}")
    gaps = np.where(np.isnan(gaps), np.inf, gaps)
    return int(np.argmin(gaps))


def surface_contours(surface: str, n: int = 81) -> list[np.ndarray]:
    """The contour lines drawn under the paths (matplotlib's contour generator on an ``n`` x ``n``
    grid of :data:`VIEW`), each an array of shape (k, 2)."""
    import contourpy

    surface = _surface(surface)
    (x0, x1), (y0, y1) = VIEW
    gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    gen = contourpy.contour_generator(gx, gy, surface_loss(surface, gx, gy))
    return [line for gap in _LEVELS[surface] for line in gen.lines(MINIMUM[surface] + gap)]
