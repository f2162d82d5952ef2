"""dlcourse.regularization against NumPy, torch and the definitions (prox by grid search)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from dlcourse import regularization as R


def _params():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    with torch.no_grad():
        model[0].weight[0, :2] = 0.0  # some exact zeros for l0
    return model


def test_penalties_match_numpy():
    model = _params()
    arrays = [p.detach().numpy().astype(np.float64) for p in model.parameters()]
    assert (
        R.l0_norm(model.parameters())
        == sum(int(np.count_nonzero(a)) for a in arrays)
        == 3 * 4 + 3 + 6 + 2 - 2
    )
    assert isinstance(R.l0_norm(torch.zeros(3)), int) and R.l0_norm(torch.zeros(3)) == 0
    l1 = R.l1_penalty(model.parameters())
    l2 = R.l2_penalty(list(model.parameters()))
    assert math.isclose(l1.item(), sum(np.abs(a).sum() for a in arrays), rel_tol=1e-6)
    assert math.isclose(l2.item(), sum((a**2).sum() for a in arrays), rel_tol=1e-6)
    # a single tensor is accepted as well
    w = model[0].weight
    assert math.isclose(R.l2_penalty(w).item(), np.linalg.norm(arrays[0]) ** 2, rel_tol=1e-6)


def test_penalty_gradients_match_autograd_of_definitions():
    w = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    (g1,) = torch.autograd.grad(R.l1_penalty(w), w)
    (g2,) = torch.autograd.grad(R.l2_penalty(w), w)
    torch.testing.assert_close(g1, torch.sign(w.detach()))
    torch.testing.assert_close(g2, 2 * w.detach())  # no 1/2: gradient is 2w


@pytest.mark.parametrize("shape", [(5, 3), (3, 7), (2, 4, 4)])
def test_nuclear_norm_matches_numpy(shape):
    g = torch.Generator().manual_seed(1)
    W = torch.randn(shape, generator=g, dtype=torch.float64)
    expected = np.linalg.norm(W.numpy(), ord="nuc", axis=(-2, -1))
    np.testing.assert_allclose(R.nuclear_norm(W).numpy(), expected, rtol=1e-12)
    # rank-1 matrix: nuclear norm = |u| |v|
    u, v = torch.randn(4, dtype=torch.float64), torch.randn(6, dtype=torch.float64)
    torch.testing.assert_close(R.nuclear_norm(torch.outer(u, v)), u.norm() * v.norm())


def test_soft_threshold_is_the_prox_of_l1():
    lam = 0.7
    w = torch.tensor([-2.0, -0.7, -0.3, 0.0, 0.1, 0.69, 0.71, 3.0], dtype=torch.float64)
    out = R.soft_threshold(w, lam)
    grid = torch.linspace(-4, 4, 80001, dtype=torch.float64)  # step 1e-4
    for wi, oi in zip(w, out):
        objective = 0.5 * (grid - wi) ** 2 + lam * grid.abs()
        assert abs(grid[objective.argmin()] - oi) <= 1e-4
    assert (out[w.abs() <= lam] == 0).all()
    torch.testing.assert_close(R.soft_threshold(w, 0.0), w)
    torch.testing.assert_close(
        R.soft_threshold(w, torch.tensor(0.5).item()), torch.nn.functional.softshrink(w, 0.5)
    )


def test_dropout_statistics():
    g = torch.Generator().manual_seed(0)
    x = torch.full((400_000,), 2.0)
    for p in (0.1, 0.5, 0.8):
        y = R.dropout(x, p, generator=g)
        zero_frac = (y == 0).double().mean().item()
        se = math.sqrt(p * (1 - p) / x.numel())
        assert abs(zero_frac - p) < 5 * se
        kept = y[y != 0]
        torch.testing.assert_close(kept, torch.full_like(kept, 2.0 / (1 - p)))
        # expected value preserved: E[y] = x, within 5 standard errors
        se_mean = 2.0 * math.sqrt(p / (1 - p) / x.numel())
        assert abs(y.mean().item() - 2.0) < 5 * se_mean


def test_dropout_modes_and_reproducibility():
    x = torch.randn(50, 20, dtype=torch.float64, requires_grad=True)
    assert R.dropout(x, 0.5, training=False) is x
    assert R.dropout(x, 0.0) is x
    zeros = R.dropout(x, 1.0)
    assert (zeros == 0).all() and zeros.dtype == x.dtype
    a = R.dropout(x, 0.3, generator=torch.Generator().manual_seed(7))
    b = R.dropout(x, 0.3, generator=torch.Generator().manual_seed(7))
    c = R.dropout(x, 0.3, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    # gradient: mask / (1 - p)
    (gx,) = torch.autograd.grad(a.sum(), x)
    torch.testing.assert_close(gx, (a != 0).double() / 0.7)


def test_dropout_backward_matches_autograd_and_finite_differences():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(6, 9, generator=g, dtype=torch.float64)
    upstream = torch.randn(6, 9, generator=g, dtype=torch.float64)
    p = 0.4
    mask = R.dropout_mask(x.shape, p, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    # the same mask drawn inside dropout: autograd through the forward pass
    xr = x.clone().requires_grad_(True)
    out = R.dropout(xr, p, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(out.detach(), x * mask / (1 - p))
    (auto,) = torch.autograd.grad((out * upstream).sum(), xr)
    torch.testing.assert_close(R.dropout_backward(upstream, mask, p), auto)
    # finite differences of L(x) = sum(upstream * dropout(x)) with the mask held fixed
    assert torch.autograd.gradcheck(lambda t: t * mask / (1 - p), (xr,))
    h, numeric = 1e-6, torch.zeros_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            e = torch.zeros_like(x)
            e[i, j] = h
            plus = (upstream * (x + e) * mask / (1 - p)).sum()
            minus = (upstream * (x - e) * mask / (1 - p)).sum()
            numeric[i, j] = (plus - minus) / (2 * h)
    torch.testing.assert_close(R.dropout_backward(upstream, mask, p), numeric, rtol=1e-6, atol=1e-8)


def test_dropout_backward_matches_torch_dropout():
    torch.manual_seed(0)
    x = torch.rand(200, 30, dtype=torch.float64) + 0.5  # no zeros, so the mask shows in the output
    xr = x.clone().requires_grad_(True)
    out = torch.nn.functional.dropout(xr, p=0.3, training=True)
    upstream = torch.randn_like(x)
    (theirs,) = torch.autograd.grad((out * upstream).sum(), xr)
    mask = (out.detach() != 0).double()  # torch's own mask, read off its output
    torch.testing.assert_close(R.dropout_backward(upstream, mask, 0.3), theirs)


def test_dropout_mask_statistics_and_per_row_probabilities():
    g = torch.Generator().manual_seed(1)
    mask = R.dropout_mask((200_000,), 0.25, generator=g)
    assert set(mask.unique().tolist()) == {0.0, 1.0} and mask.dtype == torch.float32
    assert abs(mask.mean().item() - 0.75) < 5 * math.sqrt(0.25 * 0.75 / 200_000)
    p = torch.tensor([[0.0], [0.5], [0.9]])
    rows = R.dropout_mask((3, 100_000), p, generator=g)
    torch.testing.assert_close(rows.mean(1), torch.tensor([1.0, 0.5, 0.1]), atol=0.01, rtol=0)


def test_bad_inputs():
    for bad in (3.0, "w", None, nn.Linear(2, 2)):
        with pytest.raises(TypeError, match="params must be a tensor or an iterable of tensors"):
            R.l1_penalty(bad)
    with pytest.raises(TypeError, match=r"params\[1\] must be a torch.Tensor"):
        R.l2_penalty([torch.ones(2), [1.0, 2.0]])
    with pytest.raises(ValueError, match="at least one tensor"):
        R.l2_penalty([])
    with pytest.raises(TypeError, match="w must be a tensor"):
        R.l0_norm(5)
    with pytest.raises(ValueError, match=r"lam must be a real number in \[0, inf\)"):
        R.soft_threshold(torch.ones(3), -0.1)
    with pytest.raises(TypeError, match="lam"):
        R.soft_threshold(torch.ones(3), "0.1")
    with pytest.raises(TypeError, match="w must be a torch.Tensor"):
        R.soft_threshold([1.0], 0.1)
    for p in (-0.1, 1.1, float("nan")):
        with pytest.raises(ValueError, match=r"p must be a real number in \[0, 1\]"):
            R.dropout(torch.ones(3), p)
    with pytest.raises(TypeError, match="p must be a real number"):
        R.dropout(torch.ones(3), True)
    with pytest.raises(TypeError, match="training must be True or False"):
        R.dropout(torch.ones(3), 0.5, training=1)
    with pytest.raises(TypeError, match="floating-point"):
        R.dropout(torch.ones(3, dtype=torch.long), 0.5)
    with pytest.raises(TypeError, match="generator"):
        R.dropout(torch.ones(3), 0.5, generator=0)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        R.nuclear_norm(torch.ones(3))
    with pytest.raises(ValueError, match=r"p must be a real number in \[0, 1\)"):
        R.dropout_backward(torch.ones(3), torch.ones(3), 1.0)
    with pytest.raises(ValueError, match=r"mask must have grad_output's shape \(3,\)"):
        R.dropout_backward(torch.ones(3), torch.ones(2), 0.5)
    with pytest.raises(TypeError, match="grad_output must be a floating-point tensor"):
        R.dropout_backward(torch.ones(3, dtype=torch.long), torch.ones(3), 0.5)
    with pytest.raises(ValueError, match=r"p must hold probabilities in \[0, 1\]"):
        R.dropout_mask((3,), torch.tensor([0.5, 1.5, 0.0]))
    with pytest.raises(ValueError, match=r"p must be a real number in \[0, 1\]"):
        R.dropout_mask((3,), -0.5)
    with pytest.raises(TypeError, match="floating-point"):
        R.nuclear_norm(torch.ones(3, 3, dtype=torch.long))


@pytest.mark.gpu
def test_regularization_on_cuda():
    dev = torch.device("cuda")
    W = torch.randn(30, 20, device=dev, dtype=torch.float64)
    torch.testing.assert_close(R.nuclear_norm(W).cpu(), R.nuclear_norm(W.cpu()))
    torch.testing.assert_close(R.l2_penalty([W, W]).cpu(), 2 * R.l2_penalty(W.cpu()))
    g = torch.Generator(device=dev).manual_seed(0)
    y = R.dropout(torch.ones(200_000, device=dev), 0.25, generator=g)
    assert y.device.type == "cuda" and abs((y == 0).float().mean().item() - 0.25) < 0.01
    assert R.soft_threshold(W, 0.5).device.type == "cuda"
