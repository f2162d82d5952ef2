"""dlcourse.losses against torch.nn.functional: values, autograd gradients, extremes, bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dlcourse import losses as L

DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-10, atol=1e-12)}


def _grads(fn, *inputs):
    """Value and gradients of fn(*inputs).sum() w.r.t. the floating inputs."""
    leaves = [t.detach().clone().requires_grad_(t.is_floating_point()) for t in inputs]
    out = fn(*leaves)
    diff = [t for t in leaves if t.requires_grad]
    grads = torch.autograd.grad(out.sum(), diff)
    return out.detach(), grads


def _compare(ours, theirs, *inputs, dtype):
    v1, g1 = _grads(ours, *inputs)
    v2, g2 = _grads(theirs, *inputs)
    torch.testing.assert_close(v1, v2, **TOL[dtype])
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_mse_matches_torch(dtype):
    g = torch.Generator().manual_seed(0)
    pred, target = (
        torch.randn(2, 7, 3, generator=g, dtype=dtype),
        torch.randn(2, 7, 3, generator=g, dtype=dtype),
    )
    _compare(L.mse_loss, F.mse_loss, pred, target, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("margin", [1.0, 0.3, 0.0])
def test_binary_hinge_matches_definition(dtype, margin):
    g = torch.Generator().manual_seed(1)
    s = torch.randn(50, generator=g, dtype=dtype) * 2
    y = torch.randint(0, 2, (50,), generator=g) * 2 - 1
    # independent reference: F.relu and a float label, summed by hand
    ref = lambda s_: F.relu(margin - y.to(dtype) * s_).sum() / s_.numel()
    _compare(lambda s_: L.binary_hinge_loss(s_, y, margin), ref, s, dtype=dtype)
    # float labels are accepted too
    torch.testing.assert_close(L.binary_hinge_loss(s, y.to(dtype), margin), ref(s))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("margin", [1.0, 0.5, 2.0])
@pytest.mark.parametrize("shape", [(9, 4), (4,)])
def test_hinge_matches_multi_margin(dtype, margin, shape):
    g = torch.Generator().manual_seed(2)
    s = torch.randn(*shape, generator=g, dtype=dtype)
    t = torch.randint(0, shape[-1], shape[:-1], generator=g)
    _compare(
        lambda s_: L.hinge_loss(s_, t, margin),
        lambda s_: F.multi_margin_loss(s_, t, margin=margin),
        s,
        dtype=dtype,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [-1, 0, 1])
def test_softmax_and_log_softmax_match_torch(dtype, dim):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(5, 6, 3, generator=g, dtype=dtype) * 3
    w = torch.randn(5, 6, 3, generator=g, dtype=dtype)  # a non-trivial upstream gradient
    _compare(lambda x_: L.softmax(x_, dim) * w, lambda x_: F.softmax(x_, dim) * w, x, dtype=dtype)
    _compare(lambda x_: L.log_softmax(x_, dim) * w, lambda x_: F.log_softmax(x_, dim) * w, x, dtype=dtype)
    _compare(lambda x_: L.naive_softmax(x_, dim) * w, lambda x_: F.softmax(x_, dim) * w, x, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("shape", [(8, 5), (5,), (3, 5, 4, 2)])
def test_cross_entropy_matches_torch(dtype, eps, shape):
    g = torch.Generator().manual_seed(4)
    z = torch.randn(*shape, generator=g, dtype=dtype) * 2
    tshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    t = torch.randint(0, 5, tshape, generator=g)
    _compare(
        lambda z_: L.cross_entropy(z_, t, label_smoothing=eps),
        lambda z_: F.cross_entropy(z_, t, label_smoothing=eps),
        z,
        dtype=dtype,
    )


def test_cross_entropy_smoothing_is_ce_against_smoothed_target():
    # the docstring's claim: CE against q = (1-eps) onehot + eps/C, computed with soft targets
    g = torch.Generator().manual_seed(5)
    z, t, eps = torch.randn(6, 4, generator=g, dtype=torch.float64), torch.tensor([0, 3, 1, 2, 2, 0]), 0.2
    q = (1 - eps) * F.one_hot(t, 4).double() + eps / 4
    torch.testing.assert_close(L.cross_entropy(z, t, eps), -(q * torch.log(F.softmax(z, -1))).sum(-1).mean())


@pytest.mark.parametrize("dtype", DTYPES)
def test_extreme_logits_stay_finite(dtype):
    z = torch.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    t = torch.tensor([1, 0, 2])
    for fn, ref in [
        (lambda z_: L.cross_entropy(z_, t, 0.1), lambda z_: F.cross_entropy(z_, t, label_smoothing=0.1)),
        (lambda z_: L.log_softmax(z_, -1), lambda z_: F.log_softmax(z_, -1)),
        (lambda z_: L.softmax(z_, -1), lambda z_: F.softmax(z_, -1)),
        (lambda z_: L.hinge_loss(z_, t), lambda z_: F.multi_margin_loss(z_, t)),
    ]:
        v, (gz,) = _grads(fn, z)
        assert torch.isfinite(v).all() and torch.isfinite(gz).all()
        v2, (gz2,) = _grads(ref, z)
        torch.testing.assert_close(v, v2, **TOL[dtype])
        torch.testing.assert_close(gz, gz2, **TOL[dtype])
    # the naive form really does break, which is what the chapter shows
    assert torch.isnan(L.naive_softmax(z, -1)).any()


def test_naive_softmax_overflow_threshold_float32():
    x = torch.tensor([88.0, 0.0])
    assert torch.isfinite(L.naive_softmax(x)).all()
    assert torch.isnan(L.naive_softmax(torch.tensor([89.0, 0.0]))).any()
    assert torch.isfinite(L.softmax(torch.tensor([89.0, 0.0]))).all()


def test_bad_inputs():
    z, t = torch.randn(4, 3), torch.tensor([0, 1, 2, 1])
    with pytest.raises(ValueError, match="same shape"):
        L.mse_loss(torch.randn(4), torch.randn(4, 1))
    with pytest.raises(TypeError, match="pred"):
        L.mse_loss([1.0], torch.randn(1))
    with pytest.raises(TypeError, match="integer class indices"):
        L.cross_entropy(z, t.float())
    with pytest.raises(ValueError, match=r"target must have shape \(4,\)"):
        L.cross_entropy(z, t[:3])
    with pytest.raises(ValueError, match=r"\[0, 2\].*max 3"):
        L.cross_entropy(z, torch.tensor([0, 1, 3, 1]))
    with pytest.raises(ValueError, match="min -1"):
        L.hinge_loss(z, torch.tensor([0, -1, 2, 1]))
    for eps in (-0.1, 1.5):
        with pytest.raises(ValueError, match="label_smoothing must be in"):
            L.cross_entropy(z, t, label_smoothing=eps)
    with pytest.raises(TypeError, match="label_smoothing"):
        L.cross_entropy(z, t, label_smoothing="0.1")
    with pytest.raises(ValueError, match=r"margin must be a real number in \[0, inf\)"):
        L.hinge_loss(z, t, margin=-1.0)
    with pytest.raises(ValueError, match="margin"):
        L.binary_hinge_loss(torch.randn(3), torch.tensor([1, -1, 1]), margin=float("nan"))
    with pytest.raises(ValueError, match=r"\{-1, \+1\}"):
        L.binary_hinge_loss(torch.randn(3), torch.tensor([1, 0, 1]))
    with pytest.raises(ValueError, match="same shape"):
        L.binary_hinge_loss(torch.randn(3), torch.tensor([1, -1]))
    with pytest.raises(ValueError, match="dim must be in"):
        L.softmax(z, dim=2)
    with pytest.raises(TypeError, match="dim must be an int"):
        L.log_softmax(z, dim=1.0)
    with pytest.raises(TypeError, match="floating-point"):
        L.softmax(torch.tensor([1, 2]))
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        L.hinge_loss(torch.randn(2, 3, 4), torch.zeros(2, 4, dtype=torch.long))


@pytest.mark.gpu
def test_losses_on_cuda_match_torch():
    dev = torch.device("cuda")
    g = torch.Generator(device=dev).manual_seed(0)
    for dtype in DTYPES:
        z = torch.randn(64, 10, generator=g, device=dev, dtype=dtype) * 5
        t = torch.randint(0, 10, (64,), generator=g, device=dev)
        _compare(
            lambda z_, t=t: L.cross_entropy(z_, t, 0.1),
            lambda z_, t=t: F.cross_entropy(z_, t, label_smoothing=0.1),
            z,
            dtype=dtype,
        )
        _compare(
            lambda z_, t=t: L.hinge_loss(z_, t), lambda z_, t=t: F.multi_margin_loss(z_, t), z, dtype=dtype
        )
        assert L.cross_entropy(z, t).device.type == "cuda"


# --------------------------------------------------------------------------- linear classifier
def _linear_problem(seed: int, n: int = 40, d: int = 7, k: int = 5, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=dtype)
    W = 0.5 * torch.randn(d, k, generator=g, dtype=dtype)
    y = torch.randint(0, k, (n,), generator=g)
    return W, X, y


@pytest.mark.parametrize("lam", [0.0, 0.3])
def test_linear_softmax_loss_matches_autograd_of_torch(lam):
    for seed in range(3):
        W, X, y = _linear_problem(seed)
        loss, grad = L.linear_softmax_loss(W, X, y, lam=lam)
        Wr = W.clone().requires_grad_(True)
        ref = F.cross_entropy(X @ Wr, y) + lam * (Wr**2).sum()  # independent reference
        (ref_grad,) = torch.autograd.grad(ref, Wr)
        torch.testing.assert_close(loss, ref.detach(), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(grad, ref_grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("margin", [1.0, 0.5])
@pytest.mark.parametrize("lam", [0.0, 0.3])
def test_linear_hinge_loss_matches_autograd_of_torch(margin, lam):
    for seed in range(3):
        W, X, y = _linear_problem(seed + 10)
        loss, grad = L.linear_hinge_loss(W, X, y, margin=margin, lam=lam)
        Wr = W.clone().requires_grad_(True)
        K = W.shape[1]  # torch divides by the number of classes; the summed form does not
        ref = K * F.multi_margin_loss(X @ Wr, y, margin=margin) + lam * (Wr**2).sum()
        (ref_grad,) = torch.autograd.grad(ref, Wr)
        torch.testing.assert_close(loss, ref.detach(), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(grad, ref_grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("which", ["softmax", "hinge"])
def test_linear_gradients_match_finite_differences(which):
    W, X, y = _linear_problem(21, n=30, d=5, k=4)
    fn = L.linear_softmax_loss if which == "softmax" else L.linear_hinge_loss
    _, grad = fn(W, X, y, lam=0.1)
    h = 1e-6
    numeric = torch.zeros_like(W)
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            E = torch.zeros_like(W)
            E[i, j] = h
            numeric[i, j] = (fn(W + E, X, y, lam=0.1)[0] - fn(W - E, X, y, lam=0.1)[0]) / (2 * h)
    torch.testing.assert_close(grad, numeric, rtol=1e-6, atol=1e-7)


def test_linear_losses_float32_and_bad_inputs():
    W, X, y = _linear_problem(3, dtype=torch.float32)
    for fn in (L.linear_softmax_loss, L.linear_hinge_loss):
        loss, grad = fn(W, X, y)
        assert loss.dtype == grad.dtype == torch.float32 and grad.shape == W.shape
        assert torch.isfinite(fn(W * 1e4, X, y)[1]).all()  # large scores stay finite
    with pytest.raises(ValueError, match=r"X must have W.shape\[0\] = 7 columns"):
        L.linear_softmax_loss(W, X[:, :3], y)
    with pytest.raises(ValueError, match="W must have 2 dimensions"):
        L.linear_hinge_loss(W[0], X, y)
    with pytest.raises(ValueError, match=r"target values must be class indices in \[0, 4\]"):
        L.linear_softmax_loss(W, X, y + 5)
    with pytest.raises(TypeError, match="integer class indices"):
        L.linear_hinge_loss(W, X, y.float())
    with pytest.raises(ValueError, match=r"lam must be a real number in \[0, inf\)"):
        L.linear_softmax_loss(W, X, y, lam=-1.0)
    with pytest.raises(ValueError, match="margin"):
        L.linear_hinge_loss(W, X, y, margin=-1.0)
