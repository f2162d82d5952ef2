"""Stochastic gradient descent, with momentum and Nesterov momentum. See :mod:`dlcourse.optim` for what all optimizers share."""

from __future__ import annotations

from ._base import PerParameterOptimizer, at_least_zero

__all__ = ["SGD"]


class SGD(PerParameterOptimizer):
    r"""Stochastic gradient descent with optional momentum and Nesterov momentum.

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        m_t &\leftarrow g_t \ \text{if } t = 1 \text{ else } \mu m_{t-1} + (1 - \tau) g_t \\
        g_t &\leftarrow g_t + \mu m_t \ \text{(nesterov) else } m_t \\
        \theta_t &\leftarrow \theta_{t-1} - \eta\, g_t

    with momentum :math:`\mu` and dampening :math:`\tau` (the middle lines only when
    :math:`\mu \neq 0`). Robbins & Monro (1951), *A stochastic approximation method*; momentum:
    Polyak (1964), *Some methods of speeding up the convergence of iteration methods*; Nesterov
    (1983), *A method for solving the convex programming problem with convergence rate*
    :math:`O(1/k^2)`; Sutskever, Martens, Dahl & Hinton (2013), *On the importance of
    initialization and momentum in deep learning*.

    .. note::
        Dampening is skipped on the first momentum step (:math:`m_1 = g_1`, not
        :math:`(1-\tau) g_1`). Polyak and Sutskever keep a velocity
        :math:`v_t = \mu v_{t-1} - \eta g_t`, :math:`\theta_t = \theta_{t-1} + v_t`; torch's
        buffer holds gradients and is scaled by :math:`\eta` only when applied, which is the same
        for a constant :math:`\eta` but not when a scheduler changes it. Sutskever's Nesterov step
        takes the gradient at the look-ahead point :math:`\theta + \mu v`; torch uses the
        equivalent rewrite :math:`g_t + \mu m_t` with the gradient at the current point.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ):
        at_least_zero(lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                f"nesterov=True needs momentum > 0 and dampening == 0, "
                f"got momentum={momentum!r}, dampening={dampening!r}"
            )
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        lr, mu, tau, wd = group["lr"], group["momentum"], group["dampening"], group["weight_decay"]
        if wd != 0:
            grad = grad.add(p, alpha=wd)
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.clone()
            else:
                buf.mul_(mu).add_(grad, alpha=1 - tau)
            grad = grad.add(buf, alpha=mu) if group["nesterov"] else buf
        p.add_(grad, alpha=-lr)
