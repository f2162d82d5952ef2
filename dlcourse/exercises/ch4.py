r"""Self-checks for the code exercises of chapter 4 (regularization).

Each check calls the learner's function on fresh random inputs, compares it with a reference
computed here from the formula, prints what is wrong (never the expected values) and returns
``True`` or ``False``. It never raises, so an unfinished exercise does not stop the chapter.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .harness import attempt, close

__all__ = ["check_ista_step", "check_ridge_solution", "check_svt"]


def check_ista_step(ista_step: Callable) -> bool:
    r"""Check ``ista_step(w, X, y, lam, lr)``: one proximal-gradient step for the Lasso.

    The objective is :math:`\frac{1}{2N}\lVert X w - y\rVert_2^2 + \lambda \lVert w\rVert_1`; the step is
    :math:`S_{\eta\lambda}\big(w - \eta\, X^\top (X w - y) / N\big)`.
    """
    g = torch.Generator().manual_seed(1234)
    ok = True
    for trial, (n, d, lam, lr) in enumerate([(30, 6, 0.3, 0.1), (50, 12, 0.05, 0.02), (8, 3, 2.0, 0.5)]):
        X = torch.randn(n, d, generator=g, dtype=torch.float64)
        y = torch.randn(n, generator=g, dtype=torch.float64)
        w = torch.randn(d, generator=g, dtype=torch.float64)
        ran, out = attempt(ista_step, w.clone(), X, y, lam, lr, name="ista_step", returns=torch.Tensor)
        if not ran:
            return False
        z = w - lr * (X.T @ (X @ w - y)) / n
        ref = torch.sign(z) * torch.clamp(z.abs() - lr * lam, min=0.0)
        if not close(out, ref, f"ista_step (trial {trial + 1})", rtol=1e-8, atol=1e-8):
            ok = False
            if bool(((out == 0) != (ref == 0)).any()):
                print(
                    "  hint: the zero pattern differs; the threshold is lr * lam, applied after the gradient step"
                )
            break
    if ok:
        print("ista_step: correct")
    return ok


def check_ridge_solution(ridge_solution: Callable) -> bool:
    r"""Check ``ridge_solution(X, y, lam)``: the minimiser of :math:`\lVert Xw-y\rVert^2 + \lambda\lVert w\rVert^2`.

    The reference is found without the closed form: the gradient
    :math:`2X^\top(Xw - y) + 2\lambda w` of the objective must vanish at the learner's answer.
    """
    g = torch.Generator().manual_seed(99)
    for trial, (n, d, lam) in enumerate([(40, 5, 0.5), (10, 15, 2.0), (60, 8, 0.0)]):
        X = torch.randn(n, d, generator=g, dtype=torch.float64)
        y = torch.randn(n, generator=g, dtype=torch.float64)
        ran, out = attempt(ridge_solution, X, y, lam, name="ridge_solution", returns=torch.Tensor)
        if not ran:
            return False
        if out.shape != (d,):
            print(
                f"ridge_solution: wrong shape {tuple(out.shape)}; expected one weight per feature, shape ({d},)"
            )
            return False
        w = out.double().detach().requires_grad_(True)
        objective = ((X @ w - y) ** 2).sum() + lam * (w**2).sum()
        (grad,) = torch.autograd.grad(objective, w)
        scale = float((X.T @ y).abs().max())
        if float(grad.abs().max()) > 1e-6 * (1 + scale):
            print(
                f"ridge_solution (trial {trial + 1}, lam={lam}): the objective's gradient is not zero there "
                f"(largest entry {float(grad.abs().max()):.2e}); not the minimiser"
            )
            return False
    print("ridge_solution: correct")
    return True


def check_svt(svt: Callable) -> bool:
    r"""Check ``svt(W, tau)``: singular-value thresholding :math:`U \operatorname{diag}(\max(s-\tau,0)) V^\top`."""
    g = torch.Generator().manual_seed(7)
    for trial, (m, n, tau) in enumerate([(6, 4, 0.5), (5, 9, 1.5), (7, 7, 0.0)]):
        W = torch.randn(m, n, generator=g, dtype=torch.float64)
        ran, out = attempt(svt, W.clone(), tau, name="svt", returns=torch.Tensor)
        if not ran:
            return False
        U, s, Vh = torch.linalg.svd(W, full_matrices=False)
        ref = U @ torch.diag(torch.clamp(s - tau, min=0.0)) @ Vh
        if not close(out, ref, f"svt (trial {trial + 1})", rtol=1e-7, atol=1e-7):
            got = torch.linalg.svdvals(out.double()) if out.shape == ref.shape else None
            if got is not None and int((got > 1e-9).sum()) != int((s > tau).sum()):
                print("  hint: the rank of your result is not the number of singular values above tau")
            return False
    print("svt: correct")
    return True
