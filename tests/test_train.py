"""dlcourse.train: fit/evaluate, the range test, warm-up schedules and ensembles."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from dlcourse.data import load_digits
from dlcourse.train import (
    History,
    accuracy,
    ensemble_predict,
    evaluate,
    fit,
    lr_range_test,
    suggest_lr,
    warmup_schedule,
)

CPU = "cpu"


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models train ~10x faster on one thread than on two busy cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0, device=CPU)


def small_net(seed: int = 0, hidden: int = 32) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def toy(n=100, d=5, classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    return X, (X[:, 0] > 0).long() + (X[:, 1] > 1).long() * (classes - 2)


# --------------------------------------------------------------------------- fit
def test_fit_digits_reaches_accuracy(digits):
    model = small_net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    hist = fit(
        model, digits.train, opt, F.cross_entropy, epochs=5, val_data=digits.val, device=CPU, progress=False
    )
    assert isinstance(hist, History)
    assert hist.val_acc[-1] >= 0.90, hist.val_acc
    assert evaluate(model, digits.test, F.cross_entropy)[1] >= 0.90
    assert hist.train_loss[-1] < 0.5 * hist.train_loss[0]
    d = hist.as_dict()
    assert set(d) == {"train_loss", "train_acc", "val_loss", "val_acc", "lr"}
    assert all(len(v) == 5 for v in d.values())
    assert hist.lr == [1e-2] * 5


def test_fit_is_a_plain_minibatch_loop():
    """Same parameters as a loop written out here with the same shuffling generator."""
    X, y = toy()
    torch.manual_seed(1)
    model = nn.Linear(5, 3)
    twin = nn.Linear(5, 3)
    twin.load_state_dict(model.state_dict())
    fit(
        model,
        (X, y),
        torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        F.cross_entropy,
        epochs=3,
        batch_size=16,
        seed=7,
        device=CPU,
        progress=False,
    )
    opt = torch.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9)
    gen = torch.Generator().manual_seed(7)
    for _ in range(3):
        order = torch.randperm(len(X), generator=gen)
        for start in range(0, len(X), 16):
            idx = order[start : start + 16]
            opt.zero_grad()
            F.cross_entropy(twin(X[idx]), y[idx]).backward()
            opt.step()
    for p, q in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)


def test_fit_history_matches_evaluate_and_is_deterministic():
    X, y = toy(seed=2)
    Xv, yv = toy(seed=3)
    runs = []
    for seed in (0, 0, 1):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3))
        hist = fit(
            model,
            TensorDataset(X, y),
            torch.optim.SGD(model.parameters(), lr=0.2),
            F.cross_entropy,
            epochs=3,
            batch_size=10,
            val_data=(Xv, yv),
            seed=seed,
            device=CPU,
            progress=False,
        )
        runs.append(hist)
        loss, acc = F.cross_entropy(model(Xv), yv).item(), (model(Xv).argmax(1) == yv).float()
        assert hist.val_loss[-1] == pytest.approx(loss, rel=1e-5)
        assert hist.val_acc[-1] == pytest.approx(acc.mean().item())
        assert all(0 <= a <= 1 for a in hist.train_acc)
    assert runs[0] == runs[1]
    assert runs[0].train_loss != runs[2].train_loss


def test_fit_regression_has_nan_accuracy_and_no_val_lists():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 3, generator=g)
    y = X @ torch.tensor([1.0, -2.0, 0.5]) + 0.01 * torch.randn(64, generator=g)
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    loss_fn = lambda out, target: F.mse_loss(out.squeeze(-1), target)
    hist = fit(
        model,
        (X, y),
        torch.optim.SGD(model.parameters(), lr=0.1),
        loss_fn,
        epochs=20,
        batch_size=16,
        device=CPU,
        progress=False,
    )
    assert all(math.isnan(a) for a in hist.train_acc) and len(hist.train_acc) == 20
    assert hist.val_loss == [] and hist.val_acc == []
    assert hist.train_loss[-1] < 1e-2 * hist.train_loss[0]


def test_fit_steps_the_scheduler_once_per_optimizer_step():
    X, y = toy(n=100)
    model = nn.Linear(5, 3)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1 / (t + 1))
    hist = fit(
        model,
        (X, y),
        opt,
        F.cross_entropy,
        epochs=2,
        batch_size=10,
        scheduler=sched,
        device=CPU,
        progress=False,
    )
    # 10 steps per epoch: the last step of epoch 1 is step 9, of epoch 2 step 19
    assert hist.lr == pytest.approx([1 / 10, 1 / 20])
    assert opt.param_groups[0]["lr"] == pytest.approx(1 / 21)


def test_fit_progress_bar(capsys):
    X, y = toy()
    model = nn.Linear(5, 3)
    fit(
        model,
        (X, y),
        torch.optim.SGD(model.parameters(), lr=0.1),
        F.cross_entropy,
        epochs=2,
        device=CPU,
        progress=False,
    )
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    fit(
        model,
        (X, y),
        torch.optim.SGD(model.parameters(), lr=0.1),
        F.cross_entropy,
        epochs=2,
        device=CPU,
        progress=True,
    )
    assert "epochs" in capsys.readouterr().err


def test_fit_metrics_without_accuracy():
    X, y = toy()
    model = nn.Linear(5, 3)
    hist = fit(
        model,
        (X, y),
        torch.optim.SGD(model.parameters(), lr=0.1),
        F.cross_entropy,
        epochs=1,
        val_data=(X, y),
        device=CPU,
        progress=False,
        metrics=("loss",),
    )
    assert math.isnan(hist.train_acc[0]) and math.isnan(hist.val_acc[0])


def test_evaluate_and_accuracy():
    X, y = toy(n=300)
    model = nn.Sequential(nn.Linear(5, 8), nn.Dropout(0.5), nn.Linear(8, 3))
    model.train()
    loss, acc = evaluate(model, (X, y), F.cross_entropy, batch_size=64)
    assert model.training  # mode restored
    assert all(p.grad is None for p in model.parameters())
    model.eval()
    with torch.no_grad():
        logits = model(X)
    assert loss == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-5)
    assert acc == pytest.approx((logits.argmax(1) == y).double().mean().item())
    assert accuracy(
        torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]]), torch.tensor([0, 1, 1])
    ) == pytest.approx(2 / 3)
    assert accuracy(torch.tensor([0.3, -1.0, 2.0, -0.1]), torch.tensor([1, 0, 0, 0])) == 0.75
    assert accuracy(torch.tensor([[0.3], [-1.0]]), torch.tensor([1, 1])) == 0.5


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"epochs": 0}, ValueError, r"epochs must be an integer in \[1, inf\), got 0"),
        ({"batch_size": 0}, ValueError, r"batch_size must be an integer in \[1, inf\)"),
        ({"epochs": 2.0}, TypeError, "epochs must be an int"),
        ({"metrics": ("loss", "f1")}, ValueError, "metrics must be a subset"),
        ({"train_data": torch.zeros(4, 5)}, TypeError, r"train_data must be an \(X, y\)"),
        ({"train_data": (torch.zeros(4, 5), torch.zeros(3))}, ValueError, "same, non-zero"),
        ({"val_data": [1, 2]}, TypeError, "val_data must hold two tensors"),
        ({"optimizer": "sgd"}, TypeError, "optimizer must be a torch.optim.Optimizer"),
        ({"model": lambda x: x}, TypeError, "model must be a torch.nn.Module"),
    ],
)
def test_fit_bad_arguments(kwargs, error, match):
    X, y = toy()
    model = nn.Linear(5, 3)
    args = dict(
        model=model,
        train_data=(X, y),
        optimizer=torch.optim.SGD(model.parameters()),
        loss_fn=F.cross_entropy,
        epochs=1,
        device=CPU,
        progress=False,
    )
    args.update(kwargs)
    with pytest.raises(error, match=match):
        fit(**args)


# --------------------------------------------------------------------------- range test
def test_lr_range_test_restores_state_and_grows_lr(digits):
    model = small_net()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    F.cross_entropy(model(digits.train[0][:32]), digits.train[1][:32]).backward()
    opt.step()  # a momentum buffer to restore
    model.eval()
    params = [p.detach().clone() for p in model.parameters()]
    buffers = [opt.state[p]["momentum_buffer"].clone() for p in model.parameters()]
    lrs, losses = lr_range_test(
        model, digits.train, opt, F.cross_entropy, start_lr=1e-4, end_lr=1e-1, steps=50
    )
    assert len(lrs) == len(losses) == 50
    assert lrs[0] == pytest.approx(1e-4) and lrs[-1] == pytest.approx(1e-1)
    np.testing.assert_allclose(np.diff(np.log(lrs)), np.log(1e3) / 49, rtol=1e-9)
    assert np.isfinite(losses).all() and losses[-10:].mean() < losses[:10].mean()
    for p, q in zip(model.parameters(), params):
        assert torch.equal(p.detach(), q)
    for p, b in zip(model.parameters(), buffers):
        assert torch.equal(opt.state[p]["momentum_buffer"], b)
    assert opt.param_groups[0]["lr"] == 0.05 and not model.training


def test_lr_range_test_stops_when_the_loss_diverges(digits):
    model = small_net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    lrs, losses = lr_range_test(
        model, digits.train, opt, F.cross_entropy, start_lr=1e-3, end_lr=1e4, steps=200
    )
    assert 20 < len(lrs) < 200
    assert lrs[-1] > 1.0  # only a large learning rate diverges
    best = suggest_lr(lrs, losses)
    assert 1e-3 <= best <= 1.0


def test_suggest_lr_finds_the_steepest_descent():
    lrs = np.logspace(-5, 1, 301)
    losses = 2.0 - np.tanh(np.log10(lrs) + 2)  # falls fastest at lr = 1e-2
    assert suggest_lr(lrs, losses, beta=0.0) == pytest.approx(1e-3, rel=0.05)
    with pytest.raises(ValueError, match="equal length"):
        suggest_lr(lrs, losses[:-1])


def test_lr_range_test_bad_arguments(digits):
    model = small_net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="end_lr must be > start_lr"):
        lr_range_test(model, digits.train, opt, F.cross_entropy, start_lr=1.0, end_lr=0.1)
    with pytest.raises(ValueError, match=r"start_lr must be a real number in \(0, inf\), got 0"):
        lr_range_test(model, digits.train, opt, F.cross_entropy, start_lr=0)
    with pytest.raises(ValueError, match=r"steps must be an integer in \[2, inf\)"):
        lr_range_test(model, digits.train, opt, F.cross_entropy, steps=1)


# --------------------------------------------------------------------------- schedules
def expected_factor(t, W, T, decay, m):
    """The schedule written out independently, case by case."""
    if t < W:
        return (t + 1) / W
    p = min(1.0, (t - W) / (T - W))
    return {
        "cosine": m + (1 - m) * (1 + math.cos(math.pi * p)) / 2,
        "linear": m + (1 - m) * (1 - p),
        "step": max(m, 1.0 if p < 0.5 else 0.1 if p < 0.75 else 0.01),
        "none": 1.0,
    }[decay]


@pytest.mark.parametrize("decay", ["cosine", "linear", "step", "none"])
@pytest.mark.parametrize("min_factor", [0.0, 0.05])
def test_warmup_schedule_values(decay, min_factor):
    W, T, base = 10, 50, 0.4
    w = torch.zeros(3, requires_grad=True)
    opt = torch.optim.Adam(
        [{"params": [w]}, {"params": [torch.zeros(1, requires_grad=True)], "lr": 2 * base}], lr=base
    )
    sched = warmup_schedule(opt, W, T, decay=decay, min_factor=min_factor)
    seen = []
    for _ in range(T + 5):
        seen.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    for t in range(T + 5):
        f = expected_factor(t, W, T, decay, min_factor)
        assert seen[t] == pytest.approx([base * f, 2 * base * f], rel=1e-12, abs=1e-15), t
    assert seen[0][0] == pytest.approx(base / W) and seen[W - 1][0] == pytest.approx(base)
    end = {"none": 1.0, "step": max(min_factor, 0.01)}.get(decay, min_factor)
    assert seen[T][0] == pytest.approx(base * end, abs=1e-15)
    if decay == "cosine":
        assert seen[(W + T) // 2][0] == pytest.approx(base * (1 + min_factor) / 2)


def test_warmup_schedule_state_dict_and_no_warmup():
    opt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=1.0)
    sched = warmup_schedule(opt, 0, 4, decay="linear")
    assert opt.param_groups[0]["lr"] == 1.0
    for _ in range(2):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5)
    state = sched.state_dict()
    opt2 = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=1.0)
    sched2 = warmup_schedule(opt2, 3, 9)
    sched2.load_state_dict(state)
    assert sched2.last_epoch == 2


@pytest.mark.parametrize(
    "args, match",
    [
        ((5, 3), "warmup_steps must be <= total_steps"),
        ((-1, 3), r"warmup_steps must be an integer in \[0, inf\)"),
        ((0, 0), r"total_steps must be an integer in \[1, inf\)"),
        ((1, 3, "exp"), "decay must be one of"),
        ((1, 3, "cosine", 1.5), r"min_factor must be a number in \[0, 1\]"),
    ],
)
def test_warmup_schedule_bad_arguments(args, match):
    opt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=1.0)
    with pytest.raises(ValueError, match=match):
        warmup_schedule(opt, *args)
    with pytest.raises(TypeError, match="optimizer"):
        warmup_schedule("sgd", 1, 3)


# --------------------------------------------------------------------------- ensembles
def test_ensemble_predict_averages():
    X = torch.randn(20, 4, generator=torch.Generator().manual_seed(0))
    models = []
    for seed in range(3):
        torch.manual_seed(seed)
        models.append(nn.Sequential(nn.Linear(4, 6), nn.Dropout(0.3), nn.Linear(6, 5)))
    models[0].train()
    probs = ensemble_predict(models, X)
    with torch.no_grad():
        for m in models:
            m.eval()
        expected = sum(F.softmax(m(X), dim=1) for m in models) / 3
        votes = torch.stack([m(X).argmax(1) for m in models])
    torch.testing.assert_close(probs, expected)
    torch.testing.assert_close(probs.sum(1), torch.ones(20))
    vote = ensemble_predict(models, X, method="vote")
    for c in range(5):
        torch.testing.assert_close(vote[:, c], (votes == c).float().mean(0))
    assert not probs.requires_grad
    big = torch.tensor([[1e4, -1e4, 0.0]])
    out = ensemble_predict([nn.Identity(), nn.Identity()], big)
    assert torch.isfinite(out).all() and out[0, 0] == 1.0


def test_ensemble_modes_restored_and_at_least_worst_member(digits):
    models = []
    for seed in range(3):
        model = small_net(seed, hidden=16)
        fit(
            model,
            digits.train,
            torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9),
            F.cross_entropy,
            epochs=2,
            seed=seed,
            device=CPU,
            progress=False,
        )
        models.append(model)
    X, y = digits.test
    singles = [evaluate(m, digits.test, F.cross_entropy)[1] for m in models]
    ens = (ensemble_predict(models, X).argmax(1) == y).float().mean().item()
    assert ens >= min(singles), (ens, singles)
    assert all(m.training for m in models)


def test_ensemble_bad_arguments():
    X = torch.zeros(2, 3)
    with pytest.raises(TypeError, match="models must be a non-empty list"):
        ensemble_predict([], X)
    with pytest.raises(TypeError, match="models must be a non-empty list"):
        ensemble_predict(nn.Linear(3, 2), X)
    with pytest.raises(TypeError, match=r"models\[1\] must be an nn.Module"):
        ensemble_predict([nn.Linear(3, 2), "net"], X)
    with pytest.raises(ValueError, match="method must be"):
        ensemble_predict([nn.Linear(3, 2)], X, method="median")
    with pytest.raises(ValueError, match=r"models\[1\] returned shape"):
        ensemble_predict([nn.Linear(3, 2), nn.Linear(3, 4)], X)


@pytest.mark.gpu
def test_fit_on_cuda():
    splits = load_digits(device="cuda")
    model = small_net()
    hist = fit(
        model,
        splits.train,
        torch.optim.Adam(model.parameters(), lr=1e-2),
        F.cross_entropy,
        epochs=5,
        val_data=splits.val,
        device="cuda",
        progress=False,
    )
    assert next(model.parameters()).is_cuda
    assert hist.val_acc[-1] >= 0.90
    probs = ensemble_predict([model], splits.test[0])
    assert probs.is_cuda
    lrs, _ = lr_range_test(
        model, splits.train, torch.optim.SGD(model.parameters(), lr=0.1), F.cross_entropy, steps=20
    )
    assert len(lrs) == 20
