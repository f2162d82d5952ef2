"""dlcourse.stacked against the same networks built and trained one by one with torch.nn and torch.optim."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dlcourse.stacked import StackedMLP, evaluate_stacked, fit_stacked, member_cross_entropy

SIZES = (6, 8, 5, 3)


def _data(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, SIZES[0], generator=g), torch.randint(0, SIZES[-1], (n,), generator=g)


def test_each_member_computes_what_its_plain_copy_computes():
    model = StackedMLP(4, SIZES, generator=torch.Generator().manual_seed(1))
    X, _ = _data()
    out = model(X)
    assert out.shape == (4, 40, 3)
    for m in range(4):
        torch.testing.assert_close(out[m], model.member(m)(X))
    # per-member inputs
    Xm = torch.randn(4, 7, SIZES[0])
    out = model(Xm)
    for m in range(4):
        torch.testing.assert_close(out[m], model.member(m)(Xm[m]))
    norms = model.squared_norms()
    for m in range(4):
        torch.testing.assert_close(norms[m], sum((p**2).sum() for p in model.member(m).parameters()))


def test_initialisation_is_nn_linear_s():
    torch.manual_seed(0)
    model = StackedMLP(200, (50, 30))
    bound = 1 / 50**0.5
    w = model.weights[0].detach()
    assert float(w.abs().max()) <= bound and float(w.abs().max()) > 0.99 * bound
    assert abs(float(w.var()) - bound**2 / 3) < 0.02 * bound**2  # U(-b, b) has variance b^2/3
    assert abs(float(model.biases[0].detach().mean())) < 0.1 * bound


def _train_separately(model, X, y, lrs, epochs, batch_size, seed, optimizer):
    """The reference: each member as an nn.Sequential with its own torch.optim optimizer, fed the
    mini-batches fit_stacked draws for it (same generator, same orders)."""
    members = [model.member(m) for m in range(model.members)]
    opts = [optimizer(net.parameters(), lr) for net, lr in zip(members, lrs)]
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        orders = torch.rand(model.members, len(X), generator=gen).argsort(dim=1)
        for start in range(0, len(X), batch_size):
            for m, (net, opt) in enumerate(zip(members, opts)):
                idx = orders[m, start : start + batch_size]
                opt.zero_grad()
                F.cross_entropy(net(X[idx]), y[idx]).backward()
                opt.step()
    return members


@pytest.mark.parametrize(
    "optimizer",
    [
        lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9),
        lambda params, lr: torch.optim.Adam(params, lr=lr),
        lambda params, lr: torch.optim.AdamW(params, lr=lr, weight_decay=0.1),
    ],
    ids=["sgd-momentum", "adam", "adamw"],
)
def test_a_trained_stack_equals_members_trained_alone(optimizer):
    X, y = _data()
    lrs = [0.01, 0.03, 0.1]
    model = StackedMLP(3, SIZES, generator=torch.Generator().manual_seed(2))
    reference = _train_separately(model, X, y, lrs, epochs=3, batch_size=16, seed=5, optimizer=optimizer)
    opt = optimizer(model.parameters(), lrs[0])
    rec = fit_stacked(
        model,
        (X, y),
        opt,
        member_cross_entropy,
        epochs=3,
        batch_size=16,
        seed=5,
        lr_scale=[lr / lrs[0] for lr in lrs],
        evaluate=lambda m: dict(zip(("val_loss", "val_acc"), evaluate_stacked(m, X, y))),
    )
    assert rec["train_loss"].shape == rec["val_loss"].shape == (3, 3)
    for m in range(3):
        for ours, theirs in zip(model.member(m).parameters(), reference[m].parameters()):
            torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        ce = torch.stack([F.cross_entropy(net(X), y) for net in reference])
        acc = torch.stack([(net(X).argmax(1) == y).float().mean() for net in reference])
    torch.testing.assert_close(torch.as_tensor(rec["val_loss"][-1]), ce, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(torch.as_tensor(rec["val_acc"][-1]), acc)


def test_per_member_data_and_before_step():
    X, y = _data(24)
    model = StackedMLP(2, SIZES, generator=torch.Generator().manual_seed(3))
    before = [p.detach().clone() for p in model.parameters()]
    Xm, ym = torch.stack([X, X.flip(0)]), torch.stack([y, y.flip(0)])
    calls = []
    fit_stacked(
        model,
        (Xm, ym),
        torch.optim.SGD(model.parameters(), lr=0.0),
        member_cross_entropy,
        epochs=2,
        batch_size=10,
        before_step=lambda: calls.append(1),
    )
    assert len(calls) == 2 * 3  # called once per step
    for a, b in zip(before, model.parameters()):
        torch.testing.assert_close(a, b)  # lr 0 changes nothing


def test_dropout_per_member():
    torch.manual_seed(0)
    model = StackedMLP(3, (4, 1000, 1000), dropout=[0.0, 0.5, 0.9])
    with torch.no_grad():  # hidden units all positive, output layer the identity: the output is the
        model.weights[0].fill_(0.1)  # dropped hidden layer itself
        model.biases[0].fill_(0.1)
        model.weights[1].copy_(torch.eye(1000).expand(3, -1, -1))
        model.biases[1].zero_()
    x = torch.ones(20, 4)
    h = torch.full((20, 1000), 0.5)
    with torch.no_grad():
        out = model(x)
        zeroed = (out == 0).float().mean(dim=(1, 2))
        torch.testing.assert_close(zeroed, torch.tensor([0.0, 0.5, 0.9]), atol=0.01, rtol=0)
        for m, p in enumerate((0.0, 0.5, 0.9)):
            kept = out[m][out[m] != 0]
            torch.testing.assert_close(kept, torch.full_like(kept, 0.5 / (1 - p)))  # inverted scaling
        model.eval()
        torch.testing.assert_close(model(x), h.expand(3, -1, -1))  # no dropout in evaluation mode
    assert model.member(2)[2].p == pytest.approx(0.9)


def test_member_cross_entropy_matches_torch():
    g = torch.Generator().manual_seed(4)
    logits = torch.randn(3, 7, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 5, (3, 7), generator=g)
    eps = torch.tensor([0.0, 0.1, 0.3])
    ours = member_cross_entropy(logits, y, label_smoothing=eps)
    ref = torch.stack([F.cross_entropy(logits[m], y[m], label_smoothing=float(eps[m])) for m in range(3)])
    torch.testing.assert_close(ours, ref)
    probs = torch.softmax(torch.randn(3, 7, 5, generator=g, dtype=torch.float64), dim=-1)
    ref = torch.stack([F.cross_entropy(logits[m], probs[m]) for m in range(3)])
    torch.testing.assert_close(member_cross_entropy(logits, probs), ref)


def test_bad_inputs():
    with pytest.raises(ValueError, match="sizes must be a sequence of at least two"):
        StackedMLP(2, (5,))
    with pytest.raises(TypeError, match="members must be an integer"):
        StackedMLP(2.0, (5, 3))
    with pytest.raises(ValueError, match=r"dropout must be one probability in \[0, 1\) or 2 of them"):
        StackedMLP(2, (5, 3), dropout=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="dropout must be"):
        StackedMLP(2, (5, 3), dropout=1.0)
    model = StackedMLP(2, (5, 3))
    with pytest.raises(ValueError, match=r"x must have shape \(N, 5\) or \(2, N, 5\)"):
        model(torch.ones(4, 6))
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        model(torch.ones(4, 5, dtype=torch.long))
    X, y = torch.ones(4, 5), torch.zeros(4, dtype=torch.long)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="lr_scale must hold 2 positive numbers"):
        fit_stacked(model, (X, y), opt, member_cross_entropy, 1, 2, lr_scale=[1.0, -1.0])
    with pytest.raises(TypeError, match="model must be a StackedMLP"):
        fit_stacked(torch.nn.Linear(5, 3), (X, y), opt, member_cross_entropy, 1, 2)
    with pytest.raises(ValueError, match="X and y must hold the same rows"):
        fit_stacked(model, (X, y[:3]), opt, member_cross_entropy, 1, 2)
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer"):
        fit_stacked(model, (X, y), "sgd", member_cross_entropy, 1, 2)
    with pytest.raises(ValueError, match=r"class-index targets must have shape \(2, 4\)"):
        member_cross_entropy(torch.zeros(2, 4, 3), torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        member_cross_entropy(torch.zeros(2, 4, 3), torch.zeros(2, 4, dtype=torch.long), label_smoothing=2.0)
