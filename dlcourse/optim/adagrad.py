"""Adagrad. See :mod:`dlcourse.optim` for what all optimizers share."""

from __future__ import annotations

import torch

from ._base import PerParameterOptimizer, at_least_zero

__all__ = ["Adagrad"]


class Adagrad(PerParameterOptimizer):
    r"""Adagrad: each coordinate's step shrinks with the sum of its squared gradients.

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        \tilde\eta_t &= \eta \,/\, (1 + (t - 1)\, \delta) \\
        s_t &= s_{t-1} + g_t^2, \qquad s_0 = s_\text{init} \\
        \theta_t &= \theta_{t-1} - \tilde\eta_t\, g_t \,/\, (\sqrt{s_t} + \epsilon)

    with :math:`\delta` = ``lr_decay`` and :math:`s_\text{init}` = ``initial_accumulator_value``.
    Duchi, Hazan & Singer (2011), *Adaptive subgradient methods for online learning and
    stochastic optimization*, JMLR 12.

    .. note::
        The paper starts the accumulator at zero and has no learning-rate decay: ``lr_decay``
        and ``initial_accumulator_value`` are torch's additions (both 0 by default, which is the
        paper). :math:`\epsilon` sits outside the root, as the paper's :math:`\delta I` does.
        A parameter group's own ``initial_accumulator_value`` is honoured here; torch 2.x
        starts every group's accumulator from the constructor's value.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ):
        at_least_zero(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        if not state:
            state["step"] = 0
            state["sum"] = torch.full_like(p, group["initial_accumulator_value"])
        state["step"] += 1
        t = float(state["step"])
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        clr = group["lr"] / (1 + (t - 1) * group["lr_decay"])
        state["sum"].addcmul_(grad, grad, value=1)
        std = state["sum"].sqrt().add_(group["eps"])
        p.addcdiv_(grad, std, value=-clr)
