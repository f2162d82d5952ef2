r"""The 2-D functional layer of :mod:`dlcourse.optim`: run an optimizer on :math:`f(x, y)`.

The chapter's figures and the widgets draw the path an optimizer takes on a function of two
variables. :func:`trajectory` computes that path with the very optimizer classes a network is
trained with, so what the picture shows is what training does. Import it from
``dlcourse.optim``. :func:`trajectory_with_grad` runs the same optimizers on a function whose
gradient is written out, without autograd: the widgets use it, since a run of a few hundred steps
must take milliseconds there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ._base import PerParameterOptimizer
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["OPTIMIZERS", "trajectory", "trajectory_with_grad"]

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw")


def _optimizer_class(optimizer: str | type, hyper: dict[str, Any]) -> tuple[type, dict]:
    """The optimizer class a name stands for, and its keyword arguments with the name's defaults."""
    if isinstance(optimizer, type):
        if not issubclass(optimizer, torch.optim.Optimizer):
            raise TypeError(
                f"optimizer must be a name in {OPTIMIZERS} or a torch.optim.Optimizer subclass, "
                f"got the class {optimizer.__name__}"
            )
        return optimizer, dict(hyper)
    if not isinstance(optimizer, str):
        raise TypeError(
            f"optimizer must be a name in {OPTIMIZERS} or a torch.optim.Optimizer subclass, "
            f"got {type(optimizer).__name__} {optimizer!r}"
        )
    name = optimizer.lower()
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; expected one of {OPTIMIZERS}")
    if name == "momentum":
        return SGD, {"momentum": 0.9, **hyper}
    if name == "nesterov":
        return SGD, {"momentum": 0.9, "nesterov": True, **hyper}
    classes = {
        "sgd": SGD,
        "adagrad": Adagrad,
        "rmsprop": RMSprop,
        "adadelta": Adadelta,
        "adam": Adam,
        "adamw": AdamW,
    }
    return classes[name], dict(hyper)


def _start_point(start: Any) -> torch.Tensor:
    try:
        x0 = torch.as_tensor(np.asarray(start, dtype=np.float64))
    except (TypeError, ValueError) as err:
        raise TypeError(f"start must be two numbers (x, y), got {start!r}") from err
    if x0.shape != (2,):
        raise ValueError(f"start must have shape (2,), got shape {tuple(x0.shape)}: {start!r}")
    if not torch.isfinite(x0).all():
        raise ValueError(f"start must be finite, got {start!r}")
    return x0


def _check_steps(steps: Any) -> int:
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool):
        raise TypeError(f"steps must be an int, got {type(steps).__name__} {steps!r}")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    return int(steps)


def trajectory(
    f: Callable[[torch.Tensor], torch.Tensor],
    start: Any,
    optimizer: str | type = "sgd",
    steps: int = 100,
    **hyper: Any,
) -> np.ndarray:
    r"""The path of ``optimizer`` minimising ``f`` from ``start``: an array of shape (steps+1, 2).

    Row 0 is ``start``; row :math:`k` is the point after :math:`k` optimizer steps,

    .. math::
        x_0 = \text{start}, \qquad
        x_{k} = \text{optimizer.step}\big(x_{k-1}, \nabla f(x_{k-1})\big), \quad k = 1..\text{steps}

    where :math:`\nabla f` comes from autograd. ``f`` maps a float64 tensor of shape (2,) to a
    scalar tensor built with torch operations. ``optimizer`` is a name in :data:`OPTIMIZERS`
    (``"momentum"`` is SGD with ``momentum=0.9`` and ``"nesterov"`` adds ``nesterov=True``,
    unless ``hyper`` says otherwise) or any :class:`torch.optim.Optimizer` subclass; ``hyper``
    are its keyword arguments (``lr=0.1``, ``betas=(0.9, 0.99)``, ...), with the class's own
    defaults for the rest. A diverging run returns ``inf``/``nan`` rows rather than raising, so a
    figure can show the divergence.

    >>> path = trajectory(lambda p: (p**2).sum(), [1.0, -2.0], "sgd", steps=3, lr=0.25)
    >>> path[-1].tolist()
    [0.125, -0.25]
    """
    cls, kwargs = _optimizer_class(optimizer, hyper)
    x0 = _start_point(start)
    steps = _check_steps(steps)
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")

    x = x0.clone().requires_grad_(True)
    opt = cls([x], **kwargs)
    path = np.empty((steps + 1, 2), dtype=np.float64)
    path[0] = x0.numpy()
    for k in range(1, steps + 1):
        opt.zero_grad()
        value = f(x)
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise ValueError(f"f must return a scalar tensor, got {shape}")
        if not value.requires_grad:
            raise ValueError(
                "f's output does not depend on its input through torch operations, "
                "so autograd cannot differentiate it (avoid .item(), numpy and math.* in f)"
            )
        value.reshape(()).backward()
        opt.step()
        path[k] = x.detach().numpy()
        if not math.isfinite(float(path[k].sum())):
            path[k + 1 :] = path[k]  # diverged: keep the last (non-finite) point
            break
    return path


def _own_update(opt: torch.optim.Optimizer) -> Callable[[], None] | None:
    """What ``opt.step()`` does to its one parameter, without the per-step bookkeeping: the
    class's own ``_update`` (a :mod:`dlcourse.optim` class, not maximizing, a float learning rate),
    else ``None`` (then ``step()`` itself is called)."""
    group = opt.param_groups[0]
    if (
        not isinstance(opt, PerParameterOptimizer)
        or group["maximize"]
        or isinstance(group["lr"], torch.Tensor)
    ):
        return None
    (p,) = group["params"]
    state = opt.state[p]
    return lambda: opt._update(p, p.grad, state, group)


def trajectory_with_grad(
    grad: Callable[[float, float], tuple[float, float]],
    start: Any,
    optimizer: str | type = "sgd",
    steps: int = 100,
    **hyper: Any,
) -> np.ndarray:
    r"""The path of ``optimizer`` from ``start`` given the gradient written out: the path
    :func:`trajectory` returns for an ``f`` whose autograd gradient has ``grad``'s values (bit
    for bit where they are the same floating-point numbers).

    .. math::
        x_0 = \text{start}, \qquad
        x_{k} = \text{optimizer.step}\big(x_{k-1}, \text{grad}(x_{k-1})\big), \quad k = 1..\text{steps}

    ``grad(x, y)`` takes two floats and returns :math:`(\partial f/\partial x, \partial f/\partial
    y)`; the optimizer is the same class with the same arguments as in :func:`trajectory`. Each
    step writes the gradient into the parameter's ``.grad`` and applies the class's update rule:
    for the classes of :mod:`dlcourse.optim` directly their ``_update`` (the code ``step()``
    runs for each parameter, without its checks, hooks and profiling, which cost more than a 2-D
    update), for any other class ``step()``. No autograd graph is built, so a step costs a few
    microseconds. A diverging run keeps its last, non-finite point, as in :func:`trajectory`.

    >>> path = trajectory_with_grad(lambda x, y: (2 * x, 2 * y), [1.0, -2.0], "sgd", steps=3, lr=0.25)
    >>> path[-1].tolist()
    [0.125, -0.25]
    """
    cls, kwargs = _optimizer_class(optimizer, hyper)
    x0 = _start_point(start)
    steps = _check_steps(steps)
    if not callable(grad):
        raise TypeError(f"grad must be callable, got {type(grad).__name__}")

    x = x0.clone()
    x.grad = torch.zeros_like(x)
    opt = cls([x], **kwargs)
    update = _own_update(opt) or opt.step
    point, g = x.numpy(), x.grad.numpy()  # views of the parameter and its gradient: no copies
    path = np.empty((steps + 1, 2), dtype=np.float64)
    path[0] = point
    px, py = point.tolist()
    with torch.no_grad():
        for k in range(1, steps + 1):
            value = grad(px, py)
            if k == 1:
                _check_grad(value)
            g[0], g[1] = value
            update()
            px, py = point.tolist()
            path[k] = px, py
            if not (math.isfinite(px) and math.isfinite(py)):
                path[k + 1 :] = path[k]  # diverged: keep the last (non-finite) point
                break
    return path


def _check_grad(value: Any) -> None:
    try:
        if len(value) == 2 and all(isinstance(float(v), float) for v in value):
            return
    except (TypeError, ValueError):
        pass
    raise ValueError(f"grad must return two numbers (df/dx, df/dy), got {value!r}")
