r"""Self-checks for the code exercises of chapter 5 (loss functions).

Each check calls the learner's function on fresh inputs, compares with an independent reference
(``torch.logsumexp``, ``torch.nn.functional``), prints what is wrong without printing the expected
values, and returns ``True`` or ``False``. It never raises.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .harness import attempt, close

__all__ = ["check_crammer_singer", "check_logsumexp", "check_multiclass_hinge", "check_soft_cross_entropy"]


def check_logsumexp(logsumexp: Callable) -> bool:
    r"""Check ``logsumexp(z)`` (log of the sum of exponentials over the last dimension), including
    logits so large or so small that the naive formula overflows or underflows."""
    cases = [
        torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64),
        torch.tensor([[1000.0, 999.0, 0.0], [-1000.0, -1001.0, -1002.0]], dtype=torch.float32),
        torch.randn(5, 7, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 30,
    ]
    for i, z in enumerate(cases):
        ran, out = attempt(logsumexp, z.clone(), name="logsumexp", returns=torch.Tensor)
        if not ran:
            return False
        ref = torch.logsumexp(z.double(), dim=-1)
        if out.shape != ref.shape:
            print(
                f"logsumexp (case {i + 1}): wrong shape {tuple(out.shape)}; reduce over the last dimension only"
            )
            return False
        if not torch.isfinite(out).all():
            print(
                f"logsumexp (case {i + 1}): got inf or NaN for logits of size up to {float(z.abs().max()):.0f}; "
                "subtract the largest logit before exponentiating"
            )
            return False
        if not close(out.double(), ref, f"logsumexp (case {i + 1})", rtol=1e-5, atol=1e-5):
            return False
    print("logsumexp: correct")
    return True


def check_multiclass_hinge(multiclass_hinge: Callable) -> bool:
    r"""Check ``multiclass_hinge(scores, target, margin)``: the Weston-Watkins hinge summed over the
    wrong classes (no division by the number of classes), averaged over the batch.

    Reference: ``F.multi_margin_loss`` divides each sample's sum by :math:`C`, so it is multiplied
    back by :math:`C` here.
    """
    g = torch.Generator().manual_seed(5)
    for trial, (n, c, margin) in enumerate([(6, 4, 1.0), (9, 10, 0.5), (3, 2, 2.0)]):
        scores = torch.randn(n, c, generator=g, dtype=torch.float64)
        target = torch.randint(0, c, (n,), generator=g)
        ran, out = attempt(
            multiclass_hinge,
            scores.clone(),
            target.clone(),
            margin,
            name="multiclass_hinge",
            returns=torch.Tensor,
        )
        if not ran:
            return False
        ref = c * F.multi_margin_loss(scores, target, margin=margin)
        if out.ndim != 0:
            print(f"multiclass_hinge: return one number (a 0-d tensor), got shape {tuple(out.shape)}")
            return False
        if not close(out.double(), ref, f"multiclass_hinge (trial {trial + 1})", rtol=1e-8, atol=1e-8):
            with_true = ref + margin  # what including the j = y term would add per sample
            if abs(float(out) - float(with_true)) < 1e-6:
                print("  hint: leave out the term j = y_i (it would always contribute the margin)")
            return False
    print("multiclass_hinge: correct")
    return True


def check_soft_cross_entropy(soft_cross_entropy: Callable) -> bool:
    r"""Check ``soft_cross_entropy(logits, Y)`` = mean over the batch of
    :math:`-\sum_k Y_k \log \operatorname{softmax}(z)_k`, for soft targets ``Y`` of shape (N, K)."""
    g = torch.Generator().manual_seed(8)
    for trial, (n, k, scale) in enumerate([(5, 3, 1.0), (8, 10, 50.0), (4, 6, 200.0)]):
        logits = torch.randn(n, k, generator=g, dtype=torch.float64) * scale
        Y = torch.softmax(torch.randn(n, k, generator=g, dtype=torch.float64), dim=1)
        ran, out = attempt(
            soft_cross_entropy, logits.clone(), Y.clone(), name="soft_cross_entropy", returns=torch.Tensor
        )
        if not ran:
            return False
        ref = F.cross_entropy(logits, Y)  # torch accepts probabilities as targets
        if out.ndim != 0:
            print(f"soft_cross_entropy: return the batch mean (a 0-d tensor), got shape {tuple(out.shape)}")
            return False
        if not torch.isfinite(out):
            print(
                f"soft_cross_entropy (trial {trial + 1}): inf or NaN for logits of size ~{scale:.0f}; "
                "use a stable log-softmax"
            )
            return False
        if not close(out.double(), ref, f"soft_cross_entropy (trial {trial + 1})", rtol=1e-7, atol=1e-7):
            return False
    print("soft_cross_entropy: correct")
    return True


def _crammer_singer_reference(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, margin: float):
    """Loss from the formula with torch operations, gradient by autograd (no hand derivation)."""
    W = W.detach().clone().requires_grad_(True)
    Z = X @ W
    rival = Z.masked_fill(F.one_hot(y, Z.shape[1]).bool(), float("-inf")).amax(1)
    loss = torch.clamp(margin + rival - Z.gather(1, y[:, None]).squeeze(1), min=0).mean()
    (grad,) = torch.autograd.grad(loss, W)
    return loss.detach(), grad


def check_crammer_singer(crammer_singer_loss_grad: Callable) -> bool:
    r"""Check ``crammer_singer_loss_grad(W, X, y, margin) -> (loss, grad)``: the Crammer-Singer hinge
    :math:`\frac1N \sum_i \max(0, \Delta + \max_{j \ne y_i} Z_{ij} - Z_{i y_i})` of
    :math:`Z = XW` and its gradient with respect to :math:`W`, against autograd of the formula."""
    g = torch.Generator().manual_seed(17)
    for trial, (n, d, k, margin, scale) in enumerate(
        [(30, 5, 4, 1.0, 0.5), (50, 8, 10, 0.5, 1.0), (6, 3, 3, 2.0, 3.0)]
    ):
        X = torch.randn(n, d, generator=g, dtype=torch.float64)
        W = scale * torch.randn(d, k, generator=g, dtype=torch.float64)
        y = torch.randint(0, k, (n,), generator=g)
        ran, out = attempt(
            crammer_singer_loss_grad, W.clone(), X.clone(), y.clone(), margin, name="crammer_singer_loss_grad"
        )
        if not ran:
            return False
        if not (isinstance(out, tuple) and len(out) == 2 and all(isinstance(t, torch.Tensor) for t in out)):
            print("crammer_singer_loss_grad: return a pair of tensors (loss, grad)")
            return False
        loss, grad = out
        ref_loss, ref_grad = _crammer_singer_reference(W, X, y, margin)
        if loss.numel() != 1:
            print(f"crammer_singer_loss_grad: the loss must be one number, got shape {tuple(loss.shape)}")
            return False
        if not close(
            loss.reshape(()).double(), ref_loss, f"the loss (trial {trial + 1})", rtol=1e-8, atol=1e-10
        ):
            print("  hint: only the largest wrong-class score counts, and the loss is a mean over examples")
            return False
        if not close(grad.double(), ref_grad, f"the gradient (trial {trial + 1})", rtol=1e-8, atol=1e-10):
            print(
                "  hint: a violated margin puts +1/N at the rival class and -1/N at the true class of its row"
            )
            return False
    print("crammer_singer_loss_grad: correct")
    return True
