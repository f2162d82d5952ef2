"""dlcourse.activations against torch: values, autograd gradients, the *_grad functions, extremes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dlcourse import activations as A
from dlcourse import losses

DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-14)}

# (ours, torch reference, our derivative), each with the same parameters
CASES = {
    "sigmoid": (A.sigmoid, torch.sigmoid, A.sigmoid_grad),
    "tanh": (A.tanh, torch.tanh, A.tanh_grad),
    "relu": (A.relu, F.relu, A.relu_grad),
    "leaky_relu": (A.leaky_relu, F.leaky_relu, A.leaky_relu_grad),
    "leaky_relu_0.2": (
        lambda x: A.leaky_relu(x, 0.2),
        lambda x: F.leaky_relu(x, 0.2),
        lambda x: A.leaky_relu_grad(x, 0.2),
    ),
    "elu": (A.elu, F.elu, A.elu_grad),
    "elu_1.7": (lambda x: A.elu(x, 1.7), lambda x: F.elu(x, 1.7), lambda x: A.elu_grad(x, 1.7)),
}


def _inputs(dtype):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, generator=g, dtype=dtype) * 4
    special = torch.tensor(
        [0.0, -0.0, 1e-30, -1e-30, 1e-7, -1e-7, 30.0, -30.0, 1e4, -1e4, 1e30, -1e30], dtype=dtype
    )
    return torch.cat([x, special])


def _value_and_grad(fn, x):
    x = x.detach().clone().requires_grad_(True)
    y = fn(x)
    (gx,) = torch.autograd.grad(y.sum(), x)
    return y.detach(), gx


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(CASES))
def test_values_and_autograd_match_torch(name, dtype):
    ours, ref, _ = CASES[name]
    x = _inputs(dtype)
    y, gx = _value_and_grad(ours, x)
    y_ref, gx_ref = _value_and_grad(ref, x)
    assert torch.isfinite(y).all() and torch.isfinite(gx).all()
    torch.testing.assert_close(y, y_ref, **TOL[dtype])
    torch.testing.assert_close(gx, gx_ref, **TOL[dtype])
    assert y.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(CASES))
def test_closed_form_grad_matches_autograd(name, dtype):
    ours, _, grad = CASES[name]
    x = _inputs(dtype)
    _, gx = _value_and_grad(ours, x)
    d = grad(x)
    assert d.shape == x.shape and d.dtype == dtype
    torch.testing.assert_close(d, gx, **TOL[dtype])


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "elu"])
def test_grad_matches_finite_differences(name):
    ours, _, grad = CASES[name]
    x = torch.linspace(-4, 4, 40, dtype=torch.float64)  # avoids 0, where elu'' jumps (O(h) error)
    h = 1e-6
    fd = (ours(x + h) - ours(x - h)) / (2 * h)
    torch.testing.assert_close(grad(x), fd, rtol=1e-7, atol=1e-9)


def test_tanh_accurate_for_tiny_inputs():
    # expm1 keeps tanh(x) ~ x to full relative precision where 2*sigmoid(2x)-1 would not
    x = torch.tensor([1e-20, 1e-10, -3e-9], dtype=torch.float64)
    torch.testing.assert_close(A.tanh(x), torch.tanh(x), rtol=1e-15, atol=0)


@pytest.mark.parametrize(
    "shape, wshape", [((6, 3, 4, 4), (3,)), ((6, 3), (3,)), ((6, 3, 5), (1,)), ((7,), (1,)), ((), ())]
)
@pytest.mark.parametrize("dtype", DTYPES)
def test_prelu_matches_torch_and_grads(shape, wshape, dtype):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(shape, generator=g, dtype=dtype)
    w = torch.rand(wshape, generator=g, dtype=dtype) * 0.5
    up = torch.randn(shape, generator=g, dtype=dtype)  # upstream gradient

    def run(fn):
        x_, w_ = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
        y = fn(x_, w_)
        gx, gw = torch.autograd.grad((y * up).sum(), (x_, w_))
        return y.detach(), gx, gw

    y, gx, gw = run(A.prelu)
    y_ref, gx_ref, gw_ref = run(F.prelu)
    for a, b in [(y, y_ref), (gx, gx_ref), (gw, gw_ref)]:
        torch.testing.assert_close(a, b, **TOL[dtype])
    # the documented use of prelu_grad: elementwise, then summed over all but the channel dim
    d_x, d_a = A.prelu_grad(x, w)
    assert d_x.shape == x.shape and d_a.shape == x.shape
    torch.testing.assert_close(up * d_x, gx_ref, **TOL[dtype])
    contrib = up * d_a
    if w.numel() == 1:
        wgrad = contrib.sum().reshape(w.shape)
    else:
        wgrad = contrib.transpose(0, 1).reshape(w.numel(), -1).sum(1)
    torch.testing.assert_close(wgrad, gw_ref, **TOL[dtype])


def test_softmax_is_the_losses_one():
    assert A.softmax is losses.softmax


def test_get_activation():
    for name in A.ACTIVATIONS:
        fn, grad = A.get_activation(name)
        assert fn is getattr(A, name) and grad is getattr(A, name + "_grad")
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        A.get_activation("swish")
    with pytest.raises(TypeError, match="str"):
        A.get_activation(torch.sigmoid)


def test_maxout_matches_manual_max():
    torch.manual_seed(0)
    m = A.Maxout(5, 3, 4)
    x = torch.randn(10, 5)
    W, b = m.linear.weight, m.linear.bias
    assert W.shape == (12, 5)
    manual = torch.stack(
        [
            torch.stack([x @ W[j * 4 + p] + b[j * 4 + p] for p in range(4)], -1).max(-1).values
            for j in range(3)
        ],
        -1,
    )
    torch.testing.assert_close(m(x), manual)
    assert m(torch.randn(2, 7, 5)).shape == (2, 7, 3)
    # gradient flows only into the winning piece of each unit
    m(x[:1]).sum().backward()
    assert int((W.grad.abs().sum(1) > 0).sum()) == 3
    assert "pieces=4" in repr(m)


def test_maxout_bad_arguments():
    for args, exc in [
        ((0, 3, 2), ValueError),
        ((5, -1, 2), ValueError),
        ((5, 3, 0), ValueError),
        ((5.0, 3, 2), TypeError),
        ((5, 3, True), TypeError),
    ]:
        with pytest.raises(exc, match="in_features|out_features|pieces"):
            A.Maxout(*args)
    with pytest.raises(ValueError, match="last dimension 5"):
        A.Maxout(5, 3, 2)(torch.randn(4, 6))


def test_bad_inputs():
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        A.sigmoid([0.0, 1.0])
    with pytest.raises(TypeError, match="floating-point"):
        A.relu(torch.tensor([1, 2]))
    with pytest.raises(TypeError, match="negative_slope"):
        A.leaky_relu(torch.randn(3), negative_slope="0.1")
    with pytest.raises(TypeError, match="alpha"):
        A.elu_grad(torch.randn(3), alpha=None)
    with pytest.raises(ValueError, match="weight must have 1 or 3 elements"):
        A.prelu(torch.randn(2, 3), torch.ones(4))
    with pytest.raises(TypeError, match="weight must be a torch.Tensor"):
        A.prelu(torch.randn(2, 3), 0.25)


@pytest.mark.gpu
def test_activations_on_cuda():
    dev = torch.device("cuda")
    for dtype in DTYPES:
        x = _inputs(dtype).to(dev)
        for ours, ref, grad in CASES.values():
            y, gx = _value_and_grad(ours, x)
            y_ref, gx_ref = _value_and_grad(ref, x)
            assert y.device.type == "cuda"
            torch.testing.assert_close(y, y_ref, **TOL[dtype])
            torch.testing.assert_close(gx, gx_ref, **TOL[dtype])
            torch.testing.assert_close(grad(x), gx, **TOL[dtype])
    m = A.Maxout(4, 2, 3).to(dev)
    assert m(torch.randn(5, 4, device=dev)).device.type == "cuda"
