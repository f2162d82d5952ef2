r"""Optimizers written out from their update rules, step for step as ``torch.optim`` runs them.

Each class is a :class:`torch.optim.Optimizer` (so ``zero_grad``, ``state_dict`` /
``load_state_dict``, parameter groups and ``torch.optim.lr_scheduler`` work with it) whose
``_update`` method is the algorithm: one line of code per line of the ``.. math::`` block in the
class docstring. Constructor arguments, defaults, argument checks, state names (``step``,
``momentum_buffer``, ``sum``, ``square_avg``, ``grad_avg``, ``acc_delta``, ``exp_avg``,
``exp_avg_sq``, ``max_exp_avg_sq``) and the order of floating-point operations follow
``torch.optim``'s single-tensor path, so results agree with it to rounding and state dicts can be
exchanged both ways. Not supported: sparse or complex gradients, ``foreach``/``fused``/
``capturable``/``differentiable``.

Notation: :math:`g_t` gradient, :math:`\theta` parameter, :math:`\eta` ``lr``, :math:`\lambda`
``weight_decay``, :math:`\epsilon` ``eps``; products and roots are elementwise.

The 2-D functional layer for the teaching plots, :func:`trajectory`, lives in ``_optim_2d.py``.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch.optim import Optimizer

__all__ = ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "OPTIMIZERS", "trajectory"]


def _at_least_zero(**named: float) -> None:
    for name, value in named.items():
        if not value >= 0.0:  # also rejects NaN
            raise ValueError(f"{name} must be >= 0, got {value!r}")


def _in_unit_interval(name: str, value: float, *, closed: bool) -> None:
    ok = 0.0 <= value <= 1.0 if closed else 0.0 <= value < 1.0
    if not ok:
        interval = "[0, 1]" if closed else "[0, 1)"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")


class _PerParameterOptimizer(Optimizer):
    """The loop every optimizer below shares; subclasses write ``_update`` for one parameter."""

    def _update(self, p: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError

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
                    self._update(p, grad, self.state[p], group)
        return loss


class SGD(_PerParameterOptimizer):
    r"""Stochastic gradient descent with optional momentum and Nesterov momentum.

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        b_t &\leftarrow g_t \ \text{if } t = 1 \text{ else } \mu b_{t-1} + (1 - \tau) g_t \\
        g_t &\leftarrow g_t + \mu b_t \ \text{(nesterov) else } b_t \\
        \theta_t &\leftarrow \theta_{t-1} - \eta\, g_t

    with momentum :math:`\mu` and dampening :math:`\tau` (the middle lines only when
    :math:`\mu \neq 0`). Robbins & Monro (1951), *A stochastic approximation method*; momentum:
    Polyak (1964), *Some methods of speeding up the convergence of iteration methods*; Nesterov
    (1983), *A method for solving the convex programming problem with convergence rate*
    :math:`O(1/k^2)`; Sutskever, Martens, Dahl & Hinton (2013), *On the importance of
    initialization and momentum in deep learning*.

    .. note::
        Dampening is skipped on the first momentum step (:math:`b_1 = g_1`, not
        :math:`(1-\tau) g_1`). Polyak and Sutskever keep a velocity
        :math:`v_t = \mu v_{t-1} - \eta g_t`, :math:`\theta_t = \theta_{t-1} + v_t`; torch's
        buffer holds gradients and is scaled by :math:`\eta` only when applied, which is the same
        for a constant :math:`\eta` but not when a scheduler changes it. Sutskever's Nesterov step
        takes the gradient at the look-ahead point :math:`\theta + \mu v`; torch uses the
        equivalent rewrite :math:`g_t + \mu b_t` with the gradient at the current point.
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False):
        _at_least_zero(lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                f"nesterov=True needs momentum > 0 and dampening == 0, "
                f"got momentum={momentum!r}, dampening={dampening!r}"
            )
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
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


class Adagrad(_PerParameterOptimizer):
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

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *,
                 maximize: bool = False):
        _at_least_zero(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                       initial_accumulator_value=initial_accumulator_value, eps=eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps,
                        maximize=maximize)
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


class RMSprop(_PerParameterOptimizer):
    r"""RMSprop: divide the gradient by a running root mean square of recent gradients.

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        v_t &= \alpha v_{t-1} + (1 - \alpha) g_t^2 \\
        \bar g_t &= \bar g_{t-1} + (1 - \alpha)(g_t - \bar g_{t-1}) \ \text{(centered)} \\
        d_t &= \sqrt{v_t - \bar g_t^2} + \epsilon \ \text{(centered) else } \sqrt{v_t} + \epsilon \\
        b_t &= \mu b_{t-1} + g_t / d_t, \quad \theta_t = \theta_{t-1} - \eta\, b_t
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

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False):
        _at_least_zero(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
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


class Adadelta(_PerParameterOptimizer):
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

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, *, maximize: bool = False):
        _at_least_zero(lr=lr)
        _in_unit_interval("rho", rho, closed=True)
        _at_least_zero(eps=eps, weight_decay=weight_decay)
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


class Adam(_PerParameterOptimizer):
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

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 maximize: bool = False):
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        _at_least_zero(lr=lr, eps=eps)
        _in_unit_interval("betas[0]", betas[0], closed=False)
        _in_unit_interval("betas[1]", betas[1], closed=False)
        _at_least_zero(weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize)
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

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)


from ._optim_2d import OPTIMIZERS, trajectory  # noqa: E402  (needs the classes above)
