"""Self-checks for chapter 2 (optimizers and hyperparameters).

Each learner's step function works on plain tensors and returns the new parameters and state.
The reference is ``torch.optim`` run for a few steps on the same gradients; the checks print
which quantity is wrong and how far off it is, never the expected values, and never raise.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .harness import attempt, close

__all__ = ["check_momentum_step", "check_rmsprop_step", "check_adam_step"]

_STEPS = 4


def _gradients(seed: int, n: int = 5) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(n, generator=gen, dtype=torch.float64) for _ in range(_STEPS)]


def _torch_run(opt_cls, theta0: torch.Tensor, grads: list[torch.Tensor], **hyper) -> list:
    """Parameters and optimizer state after each step of ``opt_cls`` fed ``grads``."""
    p = torch.nn.Parameter(theta0.clone())
    opt = opt_cls([p], **hyper)
    out = []
    for g in grads:
        p.grad = g.clone()
        opt.step()
        out.append(
            (p.detach().clone(), {k: v.clone() if torch.is_tensor(v) else v for k, v in opt.state[p].items()})
        )
    return out


def _check_one_state_step(
    fn: Callable, name: str, opt_cls, seed: int, hyper: dict, state_key: str, state_name: str
) -> bool:
    """Run ``fn(theta, grad, state, *hyper.values()) -> (theta, state)`` beside ``opt_cls``."""
    grads = _gradients(seed)
    theta = torch.linspace(-1, 1, 5, dtype=torch.float64)
    ref = _torch_run(opt_cls, theta, grads, **hyper)
    state_now = torch.zeros_like(theta)
    for t, (g, (want_theta, state)) in enumerate(zip(grads, ref), start=1):
        ran, got = attempt(fn, theta.clone(), g.clone(), state_now.clone(), *hyper.values(), name=name)
        if not ran:
            return False
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            print(f"{name}: expected a tuple (theta, {state_name}).")
            return False
        if not (
            close(got[1], state[state_key], f"{state_name} after step {t}")
            and close(got[0], want_theta, f"theta after step {t}")
        ):
            return False
        theta, state_now = got[0].to(torch.float64), got[1].to(torch.float64)
    print(f"{name}: correct for {_STEPS} steps (matches torch.optim.{opt_cls.__name__}).")
    return True


def check_momentum_step(fn: Callable) -> bool:
    r"""Check ``fn(theta, grad, buf, lr, momentum) -> (theta, buf)``, torch's heavy ball.

    :math:`\mathbf{b}_t = \mu \mathbf{b}_{t-1} + \mathbf{g}_t` (with :math:`\mathbf{b}_1 = \mathbf{g}_1`,
    which is what starting from ``buf = zeros`` gives), :math:`\theta_t = \theta_{t-1} - \eta \mathbf{b}_t`.
    """
    return _check_one_state_step(
        fn, "momentum_step", torch.optim.SGD, 21, {"lr": 0.1, "momentum": 0.9}, "momentum_buffer", "buf"
    )


def check_rmsprop_step(fn: Callable) -> bool:
    r"""Check ``fn(theta, grad, v, lr, alpha, eps) -> (theta, v)``, torch's RMSprop.

    :math:`\mathbf{v}_t = \alpha \mathbf{v}_{t-1} + (1-\alpha)\mathbf{g}_t^2`,
    :math:`\theta_t = \theta_{t-1} - \eta\, \mathbf{g}_t / (\sqrt{\mathbf{v}_t} + \epsilon)`.
    """
    return _check_one_state_step(
        fn,
        "rmsprop_step",
        torch.optim.RMSprop,
        22,
        {"lr": 0.01, "alpha": 0.9, "eps": 1e-8},
        "square_avg",
        "v",
    )


def check_adam_step(fn: Callable) -> bool:
    r"""Check ``fn(theta, grad, m, v, t, lr, betas, eps) -> (theta, m, v)``, Adam with bias correction.

    :math:`\mathbf{m}_t = \beta_1\mathbf{m}_{t-1} + (1-\beta_1)\mathbf{g}_t`,
    :math:`\mathbf{v}_t = \beta_2\mathbf{v}_{t-1} + (1-\beta_2)\mathbf{g}_t^2`,
    :math:`\theta_t = \theta_{t-1} - \eta\,\hat{\mathbf{m}}_t/(\sqrt{\hat{\mathbf{v}}_t}+\epsilon)`.
    """
    lr, betas, eps = 0.1, (0.9, 0.999), 1e-8
    grads = _gradients(23)
    theta = torch.linspace(-1, 1, 5, dtype=torch.float64)
    ref = _torch_run(torch.optim.Adam, theta, grads, lr=lr, betas=betas, eps=eps)
    m = torch.zeros_like(theta)
    v = torch.zeros_like(theta)
    for t, (g, (want_theta, state)) in enumerate(zip(grads, ref), start=1):
        ran, got = attempt(
            fn, theta.clone(), g.clone(), m.clone(), v.clone(), t, lr, betas, eps, name="adam_step"
        )
        if not ran:
            return False
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            print("adam_step: expected a tuple (theta, m, v).")
            return False
        ok = close(got[1], state["exp_avg"], f"m after step {t}")
        ok = ok and close(got[2], state["exp_avg_sq"], f"v after step {t}")
        if ok and not close(got[0], want_theta, f"theta after step {t}"):
            if t == 1:
                print(
                    "  hint: at t = 1 the corrected step has size about lr in every coordinate; "
                    "check the bias correction."
                )
            return False
        if not ok:
            return False
        theta, m, v = (x.to(torch.float64) for x in got)
    print(f"adam_step: correct for {_STEPS} steps (matches torch.optim.Adam).")
    return True
