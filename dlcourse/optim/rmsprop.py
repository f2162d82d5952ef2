"""RMSprop. See :mod:`dlcourse.optim` for what all optimizers share."""

from __future__ import annotations

import torch

from ._base import PerParameterOptimizer, at_least_zero

__all__ = ["RMSprop"]


class RMSprop(PerParameterOptimizer):
    r"""RMSprop: divide the gradient by a running root mean square of recent gradients.

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        v_t &= \alpha v_{t-1} + (1 - \alpha) g_t^2 \\
        \bar g_t &= \bar g_{t-1} + (1 - \alpha)(g_t - \bar g_{t-1}) \ \text{(centered)} \\
        d_t &= \sqrt{v_t - \bar g_t^2} + \epsilon \ \text{(centered) else } \sqrt{v_t} + \epsilon \\
        m_t &= \mu m_{t-1} + g_t / d_t, \quad \theta_t = \theta_{t-1} - \eta\, m_t
            \ \text{(momentum) else } \theta_t = \theta_{t-1} - \eta\, g_t / d_t

    Tieleman & Hinton (2012), *Lecture 6.5 - rmsprop*, COURSERA: Neural Networks for Machine
    Learning; the centered form is from Graves (2013), *Generating sequences with recurrent
    neural networks*.

    .. note::
        The lecture suggests a decay of 0.9; torch's default ``alpha`` is 0.99. :math:`\epsilon`
        is added outside the root (some libraries, e.g. TensorFlow, add it inside). ``centered``
        divides by an estimate of the gradient's standard deviation instead of its RMS, and
        ``momentum`` accumulates the already-scaled step :math:`g_t / d_t`.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ):
        at_least_zero(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        alpha, mu = group["alpha"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = torch.zeros_like(p)
            if mu > 0:
                state["momentum_buffer"] = torch.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = torch.zeros_like(p)
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        v = state["square_avg"]
        v.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        if group["centered"]:
            g_bar = state["grad_avg"]
            g_bar.lerp_(grad, 1 - alpha)
            denom = v.addcmul(g_bar, g_bar, value=-1).sqrt_()
        else:
            denom = v.sqrt()
        denom.add_(group["eps"])
        if mu > 0:
            buf = state["momentum_buffer"]
            buf.mul_(mu).addcdiv_(grad, denom)
            p.add_(buf, alpha=-group["lr"])
        else:
            p.addcdiv_(grad, denom, value=-group["lr"])
