r"""Self-checks for the code exercises of chapter 6 (training tricks).

Each check calls the learner's function on fresh inputs, compares with a reference computed here
(or with ``torch.nn.functional``), prints what is wrong without printing expected values, and
returns ``True`` or ``False``. It never raises.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .harness import attempt, close

__all__ = ["check_expected_calibration_error", "check_smooth_labels", "check_standardize"]


def check_smooth_labels(smooth_labels: Callable) -> bool:
    r"""Check ``smooth_labels(y, num_classes, eps)`` = :math:`(1-\varepsilon)\,\text{onehot}(y) + \varepsilon/K`.

    Independent reference: the cross-entropy against these targets must equal
    ``F.cross_entropy(logits, y, label_smoothing=eps)``.
    """
    g = torch.Generator().manual_seed(21)
    for trial, (n, k, eps) in enumerate([(6, 4, 0.1), (10, 10, 0.3), (3, 2, 0.0)]):
        y = torch.randint(0, k, (n,), generator=g)
        ran, out = attempt(smooth_labels, y.clone(), k, eps, name="smooth_labels", returns=torch.Tensor)
        if not ran:
            return False
        if out.shape != (n, k):
            print(f"smooth_labels: wrong shape {tuple(out.shape)}; expected (N, K) = ({n}, {k})")
            return False
        if not out.is_floating_point():
            print(f"smooth_labels: return a floating-point tensor, got dtype {out.dtype}")
            return False
        if float((out.double().sum(1) - 1).abs().max()) > 1e-6:
            print("smooth_labels: the rows do not sum to 1")
            return False
        logits = torch.randn(n, k, generator=g, dtype=torch.float64)
        mine = -(out.double() * F.log_softmax(logits, dim=1)).sum(1).mean()
        ref = F.cross_entropy(logits, y, label_smoothing=eps)
        if not close(mine, ref, f"smooth_labels (trial {trial + 1}, eps={eps})", rtol=1e-6, atol=1e-6):
            print("  hint: every class, the true one included, receives eps / K")
            return False
    print("smooth_labels: correct")
    return True


def _ece_reference(probs: torch.Tensor, y: torch.Tensor, n_bins: int) -> torch.Tensor:
    conf, pred = probs.max(1)
    correct = (pred == y).double()
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)
    total = torch.zeros((), dtype=torch.float64)
    for b in range(n_bins):
        lo, hi = edges[b], edges[b + 1]
        inside = (conf > lo) & (conf <= hi) if b > 0 else (conf >= lo) & (conf <= hi)
        if inside.any():
            gap = (correct[inside].mean() - conf[inside].double().mean()).abs()
            total = total + inside.double().mean() * gap
    return total


def check_expected_calibration_error(expected_calibration_error: Callable) -> bool:
    r"""Check ``expected_calibration_error(probs, y, n_bins)``: equal-width confidence bins on
    :math:`[0, 1]`, :math:`\sum_b \frac{|B_b|}{N}\,\lvert \operatorname{acc}(B_b) - \operatorname{conf}(B_b)\rvert`."""
    g = torch.Generator().manual_seed(33)
    for trial, (n, k, temp, bins) in enumerate([(400, 5, 1.0, 10), (300, 10, 4.0, 15), (200, 3, 0.3, 5)]):
        probs = torch.softmax(temp * torch.randn(n, k, generator=g, dtype=torch.float64), dim=1)
        # half the labels agree with the prediction, half are random: low-confidence bins come out
        # under-confident and high-confidence bins over-confident, so the bins' signs differ
        agree = torch.rand(n, generator=g) < 0.5
        y = torch.where(agree, probs.argmax(1), torch.randint(0, k, (n,), generator=g))
        ran, out = attempt(
            expected_calibration_error,
            probs.clone(),
            y.clone(),
            bins,
            name="expected_calibration_error",
            returns=torch.Tensor,
        )
        if not ran:
            return False
        out = out.reshape(()) if out.numel() == 1 else out
        if out.ndim != 0:
            print(f"expected_calibration_error: return one number, got shape {tuple(out.shape)}")
            return False
        if not close(
            out.double(),
            _ece_reference(probs, y, bins),
            f"expected_calibration_error (trial {trial + 1})",
            rtol=1e-6,
            atol=1e-6,
        ):
            print("  hint: weight each bin's |accuracy - confidence| by the fraction of examples in it")
            return False
    print("expected_calibration_error: correct")
    return True


def check_standardize(standardize: Callable) -> bool:
    r"""Check ``standardize(X_train, X_other) -> (Z_train, Z_other)``: per-feature mean and standard
    deviation from the *training* set only, applied to both. A feature that is constant in the
    training set is divided by 1 instead of 0: exactly 0 in ``Z_train``, its offset from the training
    mean in ``Z_other``."""
    g = torch.Generator().manual_seed(44)
    X_train = torch.randn(50, 6, generator=g, dtype=torch.float64) * torch.tensor([1.0, 5, 0.1, 3, 1, 2]) + 7
    X_train[:, 4] = 2.5  # a constant feature
    X_other = torch.randn(20, 6, generator=g, dtype=torch.float64) * 3 + 1
    ran, out = attempt(standardize, X_train.clone(), X_other.clone(), name="standardize")
    if not ran:
        return False
    if not (isinstance(out, tuple) and len(out) == 2 and all(isinstance(t, torch.Tensor) for t in out)):
        print("standardize: return a pair of tensors (Z_train, Z_other)")
        return False
    z_train, z_other = out
    if not (torch.isfinite(z_train).all() and torch.isfinite(z_other).all()):
        print("standardize: inf or NaN in the result; guard the division for constant features")
        return False
    varying = [0, 1, 2, 3, 5]
    if (
        float(z_train[:, varying].mean(0).abs().max()) > 1e-8
        or float((z_train[:, varying].std(0, unbiased=False) - 1).abs().max()) > 1e-6
    ):
        print("standardize: the training features do not have mean 0 and standard deviation 1")
        return False
    mean, std = X_train.mean(0), X_train.std(0, unbiased=False)
    ref_other = (X_other[:, varying] - mean[varying]) / std[varying]
    if not close(
        z_other[:, varying].double(), ref_other, "standardize (the other set)", rtol=1e-6, atol=1e-6
    ):
        print("  hint: use the training set's statistics for the other set too")
        return False
    if not bool((z_train[:, 4] == 0).all()):
        print("standardize: a feature that is constant in the training set must come out as exactly 0 there")
        return False
    if not close(
        z_other[:, 4].double(), X_other[:, 4] - 2.5, "standardize (a constant feature, the other set)"
    ):
        print("  hint: divide a constant feature by 1: the other set keeps its offset from the training mean")
        return False
    print("standardize: correct")
    return True
