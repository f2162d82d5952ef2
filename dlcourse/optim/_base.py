"""What every optimizer of :mod:`dlcourse.optim` shares: argument checks and the step loop.

Private to :mod:`dlcourse.optim`; each optimizer module writes only its ``_update``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch.optim import Optimizer

__all__ = ["PerParameterOptimizer", "at_least_zero", "in_unit_interval"]


def at_least_zero(**named: float | torch.Tensor) -> None:
    """Raise ``ValueError`` unless every value is >= 0 (a one-element tensor counts as a number)."""
    for name, value in named.items():
        if isinstance(value, torch.Tensor):
            if value.numel() != 1:
                raise ValueError(
                    f"{name} must be a number or a one-element tensor, "
                    f"got a tensor of shape {tuple(value.shape)}"
                )
            value = value.item()
        if not value >= 0.0:  # also rejects NaN
            raise ValueError(f"{name} must be >= 0, got {value!r}")


def in_unit_interval(name: str, value: float, *, closed: bool) -> None:
    ok = 0.0 <= value <= 1.0 if closed else 0.0 <= value < 1.0
    if not ok:
        interval = "[0, 1]" if closed else "[0, 1)"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")


class PerParameterOptimizer(Optimizer):
    """The loop every optimizer below shares; subclasses write ``_update`` for one parameter."""

    def _update(self, p: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError

    def __setstate__(self, state: dict) -> None:
        """Fill in options a state saved by an older version lacks, with the constructor's
        defaults (as ``torch.optim`` does), so that ``load_state_dict`` of such a state works."""
        super().__setstate__(state)
        defaults = {
            name: p.default
            for name, p in inspect.signature(type(self).__init__).parameters.items()
            if p.default is not inspect.Parameter.empty
        }
        for group in self.param_groups:
            for name, value in defaults.items():
                group.setdefault(name, value)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return ``closure()``'s loss if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        with torch.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if p.grad.is_sparse or p.is_complex():
                        kind = "a sparse gradient" if p.grad.is_sparse else "a complex parameter"
                        raise TypeError(
                            f"{type(self).__name__} got {kind} (shape {tuple(p.shape)}); "
                            "dlcourse optimizers handle dense real tensors only"
                        )
                    grad = -p.grad if group["maximize"] else p.grad
                    if isinstance(group["lr"], torch.Tensor):  # a one-element tensor, as in torch
                        group = {**group, "lr": group["lr"].reshape(())}
                    state = self.state[p]
                    self._update(p, grad, state, group)
                    if not state:  # SGD without momentum keeps no state, as torch's does not
                        del self.state[p]
        return loss
