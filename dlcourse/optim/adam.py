"""Adam and AdamW. See :mod:`dlcourse.optim` for what all optimizers share."""

from __future__ import annotations

import torch

from ._base import PerParameterOptimizer, at_least_zero, in_unit_interval

__all__ = ["Adam", "AdamW"]


class Adam(PerParameterOptimizer):
    r"""Adam: momentum on the gradient, RMSprop on its scale, both bias-corrected.

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        m_t &= m_{t-1} + (1 - \beta_1)(g_t - m_{t-1}) = \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \hat v_t &= \max(\hat v_{t-1}, v_t) \ \text{(amsgrad) else } v_t \\
        \theta_t &= \theta_{t-1} - \frac{\eta}{1 - \beta_1^t}\, m_t \Big/
            \Big(\sqrt{\hat v_t} \big/ \sqrt{1 - \beta_2^t} + \epsilon\Big)

    that is :math:`\theta_t = \theta_{t-1} - \eta\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)` with
    the bias-corrected :math:`\hat m_t = m_t / (1 - \beta_1^t)` and
    :math:`\hat v_t / (1 - \beta_2^t)`. Kingma & Ba (2015), *Adam: a method for stochastic
    optimization*, ICLR; ``amsgrad``: Reddi, Kale & Kumar (2018), *On the convergence of Adam
    and beyond*, ICLR.

    .. note::
        :math:`\epsilon` is added to the bias-corrected root :math:`\sqrt{\hat v_t}`, as in the
        paper's Algorithm 1 (not to :math:`\sqrt{v_t}` as in its "more efficient" variant).
        ``weight_decay`` here is an L2 penalty added to the gradient, so it passes through
        :math:`m` and :math:`v`; :class:`AdamW` decouples it. torch's AMSGrad keeps the maximum
        of the uncorrected :math:`v_t` and then bias-corrects it.
    """

    decoupled_weight_decay = False

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ):
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        at_least_zero(lr=lr, eps=eps)
        in_unit_interval("betas[0]", betas[0], closed=False)
        in_unit_interval("betas[1]", betas[1], closed=False)
        at_least_zero(weight_decay=weight_decay)
        defaults = dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize
        )
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = torch.zeros_like(p)
        state["step"] += 1
        t = float(state["step"])
        if wd != 0:
            if self.decoupled_weight_decay:
                p.mul_(1 - lr * wd)
            else:
                grad = grad.add(p, alpha=wd)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(grad, 1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        if group["amsgrad"]:
            v = torch.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        bias_correction1 = 1 - beta1**t
        bias_correction2 = 1 - beta2**t
        denom = (v.sqrt() / bias_correction2**0.5).add_(group["eps"])
        p.addcdiv_(m, denom, value=-lr / bias_correction1)


class AdamW(Adam):
    r"""AdamW: Adam with weight decay taken out of the gradient and applied to the weights.

    .. math::
        \theta_{t-1} &\leftarrow \theta_{t-1} (1 - \eta \lambda) \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \hat v_t &= \max(\hat v_{t-1}, v_t) \ \text{(amsgrad) else } v_t \\
        \theta_t &= \theta_{t-1} - \frac{\eta}{1 - \beta_1^t}\, m_t \Big/
            \Big(\sqrt{\hat v_t} \big/ \sqrt{1 - \beta_2^t} + \epsilon\Big)

    The gradient :math:`g_t` is the loss's alone: the decay never enters :math:`m` or :math:`v`.
    Loshchilov & Hutter (2019), *Decoupled weight decay regularization*, ICLR.

    .. note::
        The paper writes :math:`\theta_t = \theta_{t-1} - \eta_t(\alpha\, \hat m_t /
        (\sqrt{\hat v_t} + \epsilon) + \lambda \theta_{t-1})`, where :math:`\eta_t` is only the
        schedule multiplier; torch multiplies the decay by the full learning rate
        :math:`\eta = \eta_t \alpha`, so torch's :math:`\lambda` equals the paper's divided by
        :math:`\alpha`. The default ``weight_decay`` is 1e-2 (Adam's is 0).
    """

    decoupled_weight_decay = True

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ):
        super().__init__(
            params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize
        )
