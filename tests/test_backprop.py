"""dlcourse.backprop: the hand-written backward pass against torch.autograd, and gradient_check."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F

from dlcourse.backprop import MLP, GradientCheck, gradient_check

ACTS = ("sigmoid", "tanh", "relu")
SIZES = ([3, 1], [4, 5, 2], [3, 6, 5, 4, 2])
TORCH_ACT = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}
CPU = torch.device("cpu")


def data(sizes, n=7, seed=1, dtype=torch.float64, device=CPU):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, sizes[0], generator=g, dtype=torch.float64)
    Y = torch.randn(n, sizes[-1], generator=g, dtype=torch.float64)
    return X.to(device, dtype), Y.to(device, dtype)


def autograd_reference(model, X, Y):
    """Loss, parameter gradients and dL/dz per layer from torch.autograd on copies of params."""
    leaves = [(W.clone().requires_grad_(), b.clone().requires_grad_()) for W, b in model.params]
    a, zs = X, []
    for l, (W, b) in enumerate(leaves):
        z = a @ W + b
        z.retain_grad()
        zs.append(z)
        a = z if l == len(leaves) - 1 else TORCH_ACT[model.activation](z)
    loss = F.mse_loss(a, Y)
    loss.backward()
    grads = [(W.grad, b.grad) for W, b in leaves]
    return loss.item(), grads, [z.grad for z in zs], a.detach()


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("sizes", SIZES, ids=str)
def test_loss_grads_and_deltas_match_autograd(activation, sizes):
    model = MLP(sizes, activation, seed=3, device="cpu")
    X, Y = data(sizes)
    loss, grads, deltas = model.loss_and_grads(X, Y, return_deltas=True)
    ref_loss, ref_grads, ref_deltas, ref_out = autograd_reference(model, X, Y)
    assert loss == pytest.approx(ref_loss, rel=1e-12, abs=1e-14)
    torch.testing.assert_close(model.forward(X), ref_out, rtol=0, atol=1e-12)
    assert len(grads) == len(model.params) == len(sizes) - 1
    for (dW, db), (rW, rb), (W, b) in zip(grads, ref_grads, model.params):
        assert dW.shape == W.shape and db.shape == b.shape
        torch.testing.assert_close(dW, rW, rtol=0, atol=1e-10)
        torch.testing.assert_close(db, rb, rtol=0, atol=1e-10)
    for d, rd in zip(deltas, ref_deltas):
        torch.testing.assert_close(d, rd, rtol=0, atol=1e-10)


@pytest.mark.parametrize("activation", ACTS)
def test_float32_matches_autograd(activation):
    sizes = [4, 8, 3]
    model = MLP(sizes, activation, dtype=torch.float32, device="cpu")
    X, Y = data(sizes, dtype=torch.float32)
    loss, grads = model.loss_and_grads(X, Y)
    ref_loss, ref_grads, _, _ = autograd_reference(model, X, Y)
    assert model.dtype == torch.float32 and grads[0][0].dtype == torch.float32
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    for (dW, db), (rW, rb) in zip(grads, ref_grads):
        torch.testing.assert_close(dW, rW, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(db, rb, rtol=1e-4, atol=1e-6)


def test_initialisation_seeded_and_scaled():
    a, b = MLP([3, 4, 2], seed=5, device="cpu"), MLP([3, 4, 2], seed=5, device="cpu")
    c = MLP([3, 4, 2], seed=6, device="cpu")
    for (Wa, ba), (Wb, bb) in zip(a.params, b.params):
        assert torch.equal(Wa, Wb) and torch.equal(ba, bb) and not ba.any()
    assert not torch.equal(a.params[0][0], c.params[0][0])
    he = MLP([400, 300, 10], "relu", device="cpu").params
    xavier = MLP([400, 300, 10], "tanh", device="cpu").params
    assert he[0][0].std().item() == pytest.approx((2 / 400) ** 0.5, rel=0.02)
    assert xavier[0][0].std().item() == pytest.approx((2 / 700) ** 0.5, rel=0.02)
    assert he[1][0].std().item() == pytest.approx((2 / 310) ** 0.5, rel=0.1)  # linear output
    assert MLP([3, 4, 2], device="cpu").num_parameters() == 3 * 4 + 4 + 4 * 2 + 2


def test_step_equals_torch_sgd():
    sizes = [4, 5, 2]
    model = MLP(sizes, "tanh", device="cpu")
    X, Y = data(sizes)
    leaves = [p.clone().requires_grad_() for pair in model.params for p in pair]
    opt = torch.optim.SGD(leaves, lr=0.3)
    for _ in range(5):
        _, grads = model.loss_and_grads(X, Y)
        model.step(grads, lr=0.3)
        opt.zero_grad()
        a = X
        for l in range(len(sizes) - 1):
            z = a @ leaves[2 * l] + leaves[2 * l + 1]
            a = z if l == len(sizes) - 2 else torch.tanh(z)
        F.mse_loss(a, Y).backward()
        opt.step()
    mine = [p for pair in model.params for p in pair]
    for p, q in zip(mine, leaves):
        torch.testing.assert_close(p, q.detach(), rtol=0, atol=1e-12)


def test_training_decreases_loss():
    g = torch.Generator().manual_seed(0)
    X = torch.linspace(-2, 2, 64, dtype=torch.float64).reshape(-1, 1)
    Y = torch.sin(2 * X) + 0.05 * torch.randn(64, 1, generator=g, dtype=torch.float64)
    model = MLP([1, 16, 1], "tanh", device="cpu")
    first, _ = model.loss_and_grads(X, Y)
    for _ in range(2000):
        loss, grads = model.loss_and_grads(X, Y)
        model.step(grads, lr=0.2)
    assert loss < 0.1 * first


# --------------------------------------------------------------------------- gradient_check
@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("sizes", SIZES, ids=str)
def test_gradient_check_passes(activation, sizes):
    model = MLP(sizes, activation, device="cpu")
    # Biases off zero: with zero biases a sample whose ReLUs are all off puts the next layer
    # exactly at the kink z = 0, where a difference quotient is no check of anything.
    model.params = [(W, b + 0.1) for W, b in model.params]
    X, Y = data(sizes)
    result = gradient_check(model, X, Y)
    assert isinstance(result, GradientCheck)
    assert result.passed, str(result)
    assert result.max_rel_error < 1e-6
    assert set(result.per_param) == {f"{p}[{l}]" for l in range(len(sizes) - 1) for p in "Wb"}
    assert str(result).startswith("gradient check passed: max relative error")


def test_gradient_check_catches_one_wrong_entry():
    sizes = [3, 6, 5, 4, 2]
    model = MLP(sizes, "sigmoid", device="cpu")
    X, Y = data(sizes)
    _, grads = model.loss_and_grads(X, Y)
    grads = [(dW.clone(), db.clone()) for dW, db in grads]
    grads[1][0][2, 3] *= 1.01  # one entry off by 1 %
    result = gradient_check(model, X, Y, grads=grads)
    assert not result.passed
    assert result.worst == "W[1][2, 3]"
    assert result.max_rel_error == pytest.approx(0.01 / 2.01, rel=1e-3)
    assert "FAILED" in str(result) and "W[1][2, 3]" in str(result)
    assert result.per_param["W[0]"] < 1e-6 and result.per_param["W[1]"] > 1e-3


class NoTransposeMLP(MLP):
    """A planted bug: the delta is propagated through W instead of W^T."""

    def loss_and_grads(self, X, Y, return_deltas=False):
        cache = self.forward_cache(X)
        N, n_out = Y.shape
        delta = 2.0 / (N * n_out) * (cache.activations[-1] - Y)
        deltas = [delta]
        for l in range(len(self.params) - 1, 0, -1):
            delta = (delta @ self.params[l][0]) * self.sigma_grad(cache.zs[l - 1])  # bug: no .T
            deltas.insert(0, delta)
        grads = [(a.T @ d, d.sum(0)) for a, d in zip(cache.activations[:-1], deltas)]
        return ((cache.activations[-1] - Y) ** 2).mean().item(), grads


class NoSigmaPrimeMLP(MLP):
    """A planted bug: the activation's derivative is forgotten in the hidden deltas."""

    def loss_and_grads(self, X, Y, return_deltas=False):
        loss, grads, deltas = MLP.loss_and_grads(self, X, Y, return_deltas=True)
        cache = self.forward_cache(X)
        wrong = [deltas[-1]]
        for l in range(len(self.params) - 1, 0, -1):
            wrong.insert(0, wrong[0] @ self.params[l][0].T)
        return loss, [(a.T @ d, d.sum(0)) for a, d in zip(cache.activations[:-1], wrong)]


@pytest.mark.parametrize("cls", [NoTransposeMLP, NoSigmaPrimeMLP])
def test_gradient_check_catches_backward_bugs(cls):
    sizes = [3, 3, 3, 3]  # square layers, so the transpose bug still has valid shapes
    model = cls(sizes, "tanh", device="cpu")
    X, Y = data(sizes)
    result = gradient_check(model, X, Y)
    assert not result.passed and result.max_rel_error > 1e-2, str(result)
    assert re.fullmatch(r"[Wb]\[[01]\]\[\d+(, \d+)?\]", result.worst)  # not the last layer


def test_gradient_check_float32_model_left_untouched():
    sizes = [4, 5, 2]
    model = MLP(sizes, "sigmoid", dtype=torch.float32, device="cpu")
    before = [(W.clone(), b.clone()) for W, b in model.params]
    X, Y = data(sizes, dtype=torch.float32)
    result = gradient_check(model, X, Y)
    assert result.passed, str(result)
    for (W, b), (W0, b0) in zip(model.params, before):
        assert W.dtype == torch.float32 and torch.equal(W, W0) and torch.equal(b, b0)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("sizes", [[3], [3, 0], [3, -2], [3, 2.5], "32", 5, [True, 2]])
def test_bad_sizes(sizes):
    with pytest.raises((ValueError, TypeError), match="sizes"):
        MLP(sizes, device="cpu")


def test_bad_arguments():
    with pytest.raises(ValueError, match="activation.*'softmax'"):
        MLP([2, 3, 1], "softmax", device="cpu")
    with pytest.raises(TypeError, match="dtype"):
        MLP([2, 1], dtype=torch.int64, device="cpu")
    model = MLP([2, 3, 1], device="cpu")
    X, Y = data([2, 3, 1])
    with pytest.raises(ValueError, match=r"X must have shape \(N, 2\)"):
        model.forward(torch.zeros(4, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"Y must have shape \(N, 1\).*reshape"):
        model.loss_and_grads(X, Y.reshape(-1))
    with pytest.raises(ValueError, match="same number of rows"):
        model.loss_and_grads(X, Y[:3])
    with pytest.raises(TypeError, match="float64"):
        model.forward(X.float())
    with pytest.raises(TypeError, match="X must be a torch.Tensor"):
        model.forward(X.tolist())
    _, grads = model.loss_and_grads(X, Y)
    with pytest.raises(ValueError, match=r"lr must be a real number in \[0, inf\), got -0.1"):
        model.step(grads, lr=-0.1)
    with pytest.raises(TypeError, match="lr"):
        model.step(grads, lr="0.1")
    with pytest.raises(TypeError, match="grads must be a list of 2"):
        model.step(grads[:1], lr=0.1)
    with pytest.raises(TypeError, match="grads must be a list"):
        model.step(grads[0][0], lr=0.1)
    with pytest.raises(ValueError, match=r"grads\[0\] dW must have shape \(2, 3\)"):
        model.step([(grads[0][0].T, grads[0][1]), grads[1]], lr=0.1)
    with pytest.raises(ValueError, match="eps"):
        gradient_check(model, X, Y, eps=0.0)
    with pytest.raises(ValueError, match="tol"):
        gradient_check(model, X, Y, tol=-1.0)
    with pytest.raises(TypeError, match="model"):
        gradient_check(object(), X, Y)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cuda_matches_autograd(dtype):
    sizes = [5, 16, 8, 3]
    model = MLP(sizes, "relu", dtype=dtype, device="cuda")
    X, Y = data(sizes, n=32, dtype=dtype, device=torch.device("cuda"))
    loss, grads = model.loss_and_grads(X, Y)
    _, ref_grads, _, _ = autograd_reference(model, X, Y)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == torch.float32 else dict(rtol=0, atol=1e-10)
    for (dW, db), (rW, rb) in zip(grads, ref_grads):
        assert dW.is_cuda
        torch.testing.assert_close(dW, rW, **tol)
        torch.testing.assert_close(db, rb, **tol)
    model.step(grads, 0.1)
    assert gradient_check(MLP(sizes, "tanh", device="cuda"), X.double(), Y.double()).passed
