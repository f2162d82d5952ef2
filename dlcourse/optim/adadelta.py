"""Adadelta. See :mod:`dlcourse.optim` for what all optimizers share."""

from __future__ import annotations

import torch

from ._base import PerParameterOptimizer, at_least_zero, in_unit_interval

__all__ = ["Adadelta"]


class Adadelta(PerParameterOptimizer):
    r"""Adadelta: the step's units come from a running RMS of past steps over that of gradients.

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        v_t &= \rho v_{t-1} + (1 - \rho) g_t^2 \\
        \Delta_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t \\
        u_t &= \rho u_{t-1} + (1 - \rho) \Delta_t^2 \\
        \theta_t &= \theta_{t-1} - \eta\, \Delta_t

    with :math:`v` = ``square_avg`` and :math:`u` = ``acc_delta``. Zeiler (2012), *ADADELTA: an
    adaptive learning rate method*, arXiv:1212.5701.

    .. note::
        The paper has no learning rate (its point is to need none); torch multiplies the step by
        ``lr``, whose default 1.0 gives the paper's rule. :math:`\epsilon` is inside both roots,
        as in the paper.
    """

    def __init__(
        self,
        params,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        *,
        maximize: bool = False,
    ):
        at_least_zero(lr=lr)
        in_unit_interval("rho", rho, closed=True)
        at_least_zero(eps=eps, weight_decay=weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = 0
            state["square_avg"] = torch.zeros_like(p)
            state["acc_delta"] = torch.zeros_like(p)
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        v, u = state["square_avg"], state["acc_delta"]
        v.mul_(rho).addcmul_(grad, grad, value=1 - rho)
        delta = u.add(eps).sqrt_().div_(v.add(eps).sqrt_()).mul_(grad)
        u.mul_(rho).addcmul_(delta, delta, value=1 - rho)
        p.add_(delta, alpha=-group["lr"])
