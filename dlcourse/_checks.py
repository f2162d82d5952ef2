"""Argument checks shared by the modules: each error names the argument, the value and what was
expected."""

from __future__ import annotations

__all__ = ["check_int"]


def check_int(name: str, value, minimum: int) -> int:
    """``value`` as an int ``>= minimum``; ``TypeError``/``ValueError`` naming ``name`` otherwise."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value
