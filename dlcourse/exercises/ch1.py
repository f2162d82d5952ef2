"""Self-checks for chapter 1 (backpropagation with MSE and SGD).

Each ``check_*`` takes the learner's function, runs it on fresh random inputs, compares it with
an independent reference (``torch.autograd``), prints what is wrong without printing the expected
values, and returns ``True`` or ``False``. It never raises.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .harness import attempt, close

__all__ = ["check_mse_grad", "check_layer_backward", "check_numerical_gradient"]


def check_mse_grad(fn: Callable) -> bool:
    r"""Check ``fn(pred, target) -> dL/dpred`` for :math:`L = \frac{1}{NK}\sum_{n,k}(\hat y_{nk}-y_{nk})^2`."""
    gen = torch.Generator().manual_seed(11)
    ok = True
    for shape in [(5, 3), (8, 1), (2, 7)]:
        pred = torch.randn(shape, generator=gen, dtype=torch.float64)
        target = torch.randn(shape, generator=gen, dtype=torch.float64)
        p = pred.clone().requires_grad_(True)
        ((p - target) ** 2).mean().backward()
        ran, got = attempt(fn, pred.clone(), target.clone(), name="mse_grad")
        if not ran:
            return False
        if not close(got, p.grad, f"mse_grad on a batch of shape {shape}"):
            ok = False
            if isinstance(got, torch.Tensor) and got.shape == p.grad.shape:
                ratio = (got / p.grad).median().item()
                if abs(ratio - 1) > 1e-3 and torch.allclose(got, ratio * p.grad):
                    print(
                        "  hint: the direction is right but the scale is off; the loss is a mean "
                        "over all N*K entries."
                    )
            break
    if ok:
        print("mse_grad: correct.")
    return ok


def check_layer_backward(fn: Callable) -> bool:
    r"""Check ``fn(delta, W, a_prev, z_prev) -> (dW, db, delta_prev)`` for a sigmoid hidden layer.

    ``delta`` is :math:`\boldsymbol\delta^{(l)}` (N, n_l), ``W`` is :math:`\mathbf{W}^{(l)}`
    (n_{l-1}, n_l), ``a_prev = sigmoid(z_prev)`` is :math:`\mathbf{A}^{(l-1)}`.
    """
    gen = torch.Generator().manual_seed(12)
    n, n_prev, n_l = 6, 4, 3
    z_prev = torch.randn(n, n_prev, generator=gen, dtype=torch.float64, requires_grad=True)
    W = torch.randn(n_prev, n_l, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.randn(n_l, generator=gen, dtype=torch.float64, requires_grad=True)
    delta = torch.randn(n, n_l, generator=gen, dtype=torch.float64)
    a_prev = torch.sigmoid(z_prev)
    z = a_prev @ W + b
    # the reference: autograd through z = sigmoid(z_prev) W + b with upstream gradient delta
    dW, db, dz_prev = torch.autograd.grad(z, (W, b, z_prev), grad_outputs=delta)
    ran, got = attempt(
        fn,
        delta.clone(),
        W.detach().clone(),
        a_prev.detach().clone(),
        z_prev.detach().clone(),
        name="layer_backward",
    )
    if not ran:
        return False
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        print("layer_backward: expected a tuple (dW, db, delta_prev).")
        return False
    ok = close(got[0], dW, "dW")
    ok = close(got[1], db, "db") and ok
    ok = close(got[2], dz_prev, "delta_prev") and ok
    if ok:
        print("layer_backward: correct.")
    elif isinstance(got[2], torch.Tensor) and got[2].shape == dz_prev.shape:
        no_sigma = delta @ W.detach().T
        if torch.allclose(got[2].to(torch.float64), no_sigma):
            print("  hint: delta_prev is missing the factor sigma'(z_prev).")
    return ok


def check_numerical_gradient(fn: Callable) -> bool:
    r"""Check ``fn(f, x, eps) -> g`` with :math:`g_i = (f(x+\epsilon e_i) - f(x-\epsilon e_i)) / 2\epsilon`.

    The tolerance (:math:`10^{-8} + 10^{-7}|g_i|`) lets the central difference pass (its error,
    :math:`\epsilon^2 f^{(3)}/6` plus rounding, stays below :math:`10^{-8}` here) and rejects the
    one-sided :math:`(f(x+\epsilon e_i) - f(x))/\epsilon`, whose error :math:`\epsilon f''/2` is
    above :math:`10^{-6}` on :math:`\sum_i e^{3x_i}` (:math:`f'' = 9 e^{3x_i} \ge 2` for
    :math:`|x_i| \le 0.5`). ``x`` must come back unchanged.
    """
    gen = torch.Generator().manual_seed(13)
    tests: list[tuple[str, Callable[[torch.Tensor], torch.Tensor]]] = [
        ("sum of exp(3x)", lambda x: torch.exp(3 * x).sum()),
        ("sum of cubes", lambda x: (x**3).sum()),
        ("log-sum-exp", lambda x: torch.logsumexp(x, dim=0)),
        ("a product", lambda x: x.prod() + torch.sin(x).sum()),
    ]
    eps = 1e-6
    for what, f in tests:
        x = torch.rand(5, generator=gen, dtype=torch.float64) - 0.5
        xr = x.clone().requires_grad_(True)
        (want,) = torch.autograd.grad(f(xr), xr)
        given = x.clone()
        ran, got = attempt(fn, f, given, eps, name="numerical_gradient")
        if not ran:
            return False
        if not torch.equal(given, x):
            print("numerical_gradient: it changed x in place; evaluate f on copies (x.clone()) instead.")
            return False
        if not close(got, want, f"numerical_gradient of {what}", rtol=1e-7, atol=1e-8):
            steps = eps * torch.eye(len(x), dtype=x.dtype)
            with torch.no_grad():
                one_sided = torch.stack([(f(x + steps[i]) - f(x)) / eps for i in range(len(x))])
            if isinstance(got, torch.Tensor) and got.shape == x.shape:
                if torch.allclose(got.to(x.dtype), one_sided, rtol=1e-7, atol=1e-8):
                    print(
                        "  hint: this is the one-sided difference (f(x + eps e_i) - f(x)) / eps, "
                        "whose error shrinks only like eps; use the central difference."
                    )
            return False
    print("numerical_gradient: correct (agrees with autograd to about 1e-7).")
    return True
