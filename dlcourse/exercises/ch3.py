"""Self-checks for chapter 3 (activations).

References are ``torch.autograd`` and ``torch.nn.functional``; the checks print what is wrong
without the expected values and never raise.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .harness import attempt, close

__all__ = ["check_sigmoid_grad", "check_elu", "check_elu_grad", "check_dead_fraction"]


def _inputs(seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    x = 4 * torch.randn(40, generator=gen, dtype=torch.float64)
    return torch.cat([x, torch.tensor([-800.0, -30.0, -1.0, 0.5, 30.0, 800.0], dtype=torch.float64)])


def _autograd_derivative(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    xr = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(xr).sum(), xr)
    return g


def check_sigmoid_grad(fn: Callable) -> bool:
    r"""Check ``fn(x) -> sigma'(x)`` elementwise, :math:`\sigma'(x) = \sigma(x)(1-\sigma(x))`."""
    x = _inputs(31)
    want = _autograd_derivative(torch.sigmoid, x)
    ran, got = attempt(fn, x.clone(), name="sigmoid_grad")
    if not ran or not close(got, want, "sigmoid_grad", rtol=1e-6, atol=1e-12):
        return False
    print("sigmoid_grad: correct (also for large |x|).")
    return True


def check_elu(fn: Callable) -> bool:
    r"""Check ``fn(x, alpha) -> ELU(x)``: :math:`x` for :math:`x>0`, :math:`\alpha(e^x-1)` otherwise."""
    x = _inputs(32)
    for alpha in (1.0, 0.5):
        ran, got = attempt(fn, x.clone(), alpha, name="elu")
        if not ran or not close(got, F.elu(x, alpha=alpha), f"elu with alpha={alpha}"):
            return False
    print("elu: correct.")
    return True


def check_elu_grad(fn: Callable) -> bool:
    r"""Check ``fn(x, alpha) -> ELU'(x)``: 1 for :math:`x>0`, :math:`\alpha e^x` otherwise."""
    x = _inputs(33)
    x = x[x != 0]  # the kink: both one-sided values are defensible there
    for alpha in (1.0, 0.5):
        want = _autograd_derivative(lambda t, a=alpha: F.elu(t, alpha=a), x)
        ran, got = attempt(fn, x.clone(), alpha, name="elu_grad")
        if not ran or not close(got, want, f"elu_grad with alpha={alpha}"):
            return False
    print("elu_grad: correct.")
    return True


def check_dead_fraction(fn: Callable) -> bool:
    r"""Check ``fn(Z) -> float``: the fraction of units (columns of the (N, units) pre-activations
    ``Z``) that are :math:`\le 0` for every example (row), i.e. silent under ReLU.

    The batches include units whose pre-activation is exactly 0 on every example, or 0 on some and
    negative on the others: their ReLU output and gradient are 0 (PyTorch's
    :math:`\operatorname{ReLU}'(0) = 0`), so they count; ``Z < 0`` would miss them.
    """
    gen = torch.Generator().manual_seed(34)
    for n, units, n_dead, n_zero in [(50, 20, 7, 2), (10, 8, 0, 0), (30, 5, 4, 1), (12, 9, 1, 3)]:
        Z = torch.randn(n, units, generator=gen)
        Z[0] = Z[0].abs() + 0.1  # every unit active on at least one example...
        picked = torch.randperm(units, generator=gen)[: n_dead + n_zero]
        dead, zero = picked[:n_dead], picked[n_dead:]
        Z[:, dead] = -Z[:, dead].abs()  # ...except the dead ones (one of them 0 on half the rows)
        Z[:, dead[:1]] = Z[:, dead[:1]] * (torch.arange(n) % 2).unsqueeze(1)
        Z[:, zero] = 0.0  # and the units that are exactly 0 on every example
        want = (n_dead + n_zero) / units
        ran, got = attempt(fn, Z.clone(), name="dead_fraction")
        if not ran:
            return False
        try:
            got = float(got)
        except (TypeError, ValueError):
            print(f"dead_fraction: expected a number, got {type(got).__name__}.")
            return False
        if abs(got - want) > 1e-6:
            strict = (Z < 0).all(dim=0).float().mean().item()
            hint = (
                " A pre-activation of exactly 0 is silent too (ReLU gives 0 and gradient 0): use <= 0."
                if abs(got - strict) < 1e-6
                else ""
            )
            print(
                f"dead_fraction: wrong on a ({n}, {units}) batch; a unit is dead when its "
                "pre-activation is <= 0 for every example (all rows), and the answer is a fraction "
                f"of the units (columns).{hint}"
            )
            return False
    print("dead_fraction: correct.")
    return True
