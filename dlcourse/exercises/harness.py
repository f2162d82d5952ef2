"""The one harness every chapter's self-checks share: call the learner's attempt, compare results.

The contract of a self-check (``dlcourse.exercises.chN.check_*``): it calls the learner's function
on fresh inputs through :func:`attempt`, compares with an independent reference through
:func:`close`, prints what is wrong (never the expected values) and returns ``True`` or ``False``.
It never raises, so a chapter whose exercises are left blank still runs top to bottom.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

__all__ = ["attempt", "close"]


def attempt(fn: Callable, *args: Any, name: str, returns: type | None = None) -> tuple[bool, Any]:
    """Run the learner's ``fn(*args)``; return ``(True, result)`` or print why and return
    ``(False, None)``: not a function, the stub's ``NotImplementedError``, any other exception, a
    ``None`` result, or (with ``returns``) a result of another type."""
    if not callable(fn):
        print(f"{name}: expected a function, got {type(fn).__name__}.")
        return False, None
    try:
        out = fn(*args)
    except NotImplementedError:
        print(f"{name}: not implemented yet (it raised NotImplementedError).")
        return False, None
    except Exception as err:  # noqa: BLE001  the learner's bug, reported rather than raised
        print(f"{name}: raised {type(err).__name__}: {err}")
        return False, None
    if out is None:
        print(f"{name}: returned None; fill in the stub and return the result.")
        return False, None
    if returns is not None and not isinstance(out, returns):
        print(f"{name}: returned a {type(out).__name__}; return a {returns.__module__}.{returns.__name__}.")
        return False, None
    return True, out


def close(got: Any, want: torch.Tensor, what: str, *, rtol: float = 1e-6, atol: float = 1e-8) -> bool:
    r"""Whether ``got`` equals the reference ``want`` elementwise within
    :math:`|g - w| \le \text{atol} + \text{rtol}\,|w|` (compared in ``want``'s dtype); prints the
    shape or the size of the error when not, never ``want`` itself."""
    if not isinstance(got, torch.Tensor):
        print(f"{what}: expected a torch.Tensor, got {type(got).__name__}.")
        return False
    if tuple(got.shape) != tuple(want.shape):
        print(f"{what}: shape {tuple(got.shape)}, expected shape {tuple(want.shape)}.")
        return False
    if not torch.isfinite(got).all():
        print(f"{what}: contains NaN or infinity.")
        return False
    err = (got.detach().to(want.dtype) - want).abs()
    if not bool((err <= atol + rtol * want.abs()).all()):
        print(f"{what}: values differ from the reference (largest absolute error {err.max().item():.2e}).")
        return False
    return True
