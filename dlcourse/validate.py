"""Argument checks shared by every part of :mod:`dlcourse`: one contract, one wording.

The contract, for every public function of the package:

* an argument of the wrong **type** raises ``TypeError`` (a ``bool`` is not a number, a float is
  not an int, a list is not a tensor);
* an argument of the right type with a wrong **value** raises ``ValueError`` (NaN or infinity,
  out of its range, not one of the allowed choices, a tensor of the wrong shape);
* the message names the argument, shows the value (or its type) and says what was expected:
  ``lr must be a real number in (0, inf), got nan``.

Each check returns the value converted to the plain Python type it stands for, so that callers
can write ``lr = check_real("lr", lr, low=0, low_open=True)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real

import torch

__all__ = ["check_real", "check_int", "check_bool", "check_choice", "check_tensor", "check_generator"]


def _interval(low, high, low_open: bool, high_open: bool) -> str:
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    return f"{left}{lo}, {hi}{right}"


def _in_range(value, low, high, low_open: bool, high_open: bool) -> bool:
    if low is not None and (value < low or (low_open and value == low)):
        return False
    return not (high is not None and (value > high or (high_open and value == high)))


def check_real(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a finite ``float`` in the interval given by ``low``/``high``.

    ``TypeError`` unless ``value`` is a real number (``bool`` is not); ``ValueError`` when it is
    NaN, infinite or outside the interval (``*_open`` excludes that end).
    """
    where = _interval(low, high, low_open, high_open)
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number in {where}, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value) or not _in_range(value, low, high, low_open, high_open):
        raise ValueError(f"{name} must be a real number in {where}, got {value!r}")
    return value


def check_int(name: str, value: object, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an ``int`` in ``[low, high]``; ``TypeError`` unless it is an integer
    (``bool`` and floats such as ``3.0`` are not), ``ValueError`` outside the range."""
    where = _interval(low, high, False, False)
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer in {where}, got {type(value).__name__} {value!r}")
    value = int(value)
    if not _in_range(value, low, high, False, False):
        raise ValueError(f"{name} must be an integer in {where}, got {value!r}")
    return value


def check_bool(name: str, value: object) -> bool:
    """``value`` itself; ``TypeError`` unless it is ``True`` or ``False``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


def check_choice(name: str, value: object, choices: Iterable) -> object:
    """``value`` itself; ``ValueError`` unless it is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_tensor(
    name: str, value: object, *, floating: bool = False, ndim: int | tuple[int, ...] | None = None
) -> torch.Tensor:
    """``value`` itself; ``TypeError`` unless it is a ``torch.Tensor`` (of a floating dtype when
    ``floating``), ``ValueError`` when its number of dimensions is not ``ndim`` (or one of them)."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if floating and not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if value.dim() not in allowed:
            want = " or ".join(str(d) for d in allowed)
            raise ValueError(f"{name} must have {want} dimensions, got shape {tuple(value.shape)}")
    return value


def check_generator(name: str, value: object) -> torch.Generator | None:
    """``value`` itself; ``TypeError`` unless it is a ``torch.Generator`` or ``None``."""
    if value is not None and not isinstance(value, torch.Generator):
        raise TypeError(f"{name} must be a torch.Generator or None, got {type(value).__name__}")
    return value
