"""dlcourse.optim against torch.optim's single-tensor path (foreach=False), and the 2-D layer.

Every optimizer runs side by side with its torch.optim twin for 30 steps on a small seeded
network, under every option combination, in float32 and float64, with parameter groups, a
state_dict save/resume, an lr scheduler and a closure. The 2-D ``trajectory`` is checked against
gradient descent and heavy-ball momentum written out in NumPy.
"""

from __future__ import annotations

import copy
import inspect
import itertools

import numpy as np
import pytest
import torch

from dlcourse import optim as dl

NAMES = ("SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW")
STEPS = 30
TOL = {torch.float32: dict(rtol=1e-6, atol=1e-7), torch.float64: dict(rtol=1e-12, atol=1e-14)}


def _grid(**options):
    keys = list(options)
    return [dict(zip(keys, values)) for values in itertools.product(*options.values())]


CONFIGS = (
    [
        ("SGD", c)
        for c in _grid(
            lr=[0.05], momentum=[0, 0.9], dampening=[0, 0.3], nesterov=[False, True], weight_decay=[0, 0.1]
        )
        if not (c["nesterov"] and (c["momentum"] == 0 or c["dampening"] != 0))
    ]
    + [
        ("Adagrad", c)
        for c in _grid(
            lr=[0.1], lr_decay=[0, 0.05], initial_accumulator_value=[0, 0.5], weight_decay=[0, 0.1]
        )
    ]
    + [
        ("RMSprop", c)
        for c in _grid(
            lr=[0.01], alpha=[0.99, 0.9], centered=[False, True], momentum=[0, 0.5], weight_decay=[0, 0.1]
        )
    ]
    + [("Adadelta", c) for c in _grid(lr=[1.0, 0.5], rho=[0.9, 0.5], weight_decay=[0, 0.1])]
    + [
        (n, c)
        for n in ("Adam", "AdamW")
        for c in _grid(
            lr=[0.01], betas=[(0.9, 0.999), (0.5, 0.9)], amsgrad=[False, True], weight_decay=[0, 0.1]
        )
    ]
    + [(n, {"lr": 0.01, "maximize": True}) for n in NAMES]
)


def make_params(dtype=torch.float64, device="cpu", seed=0):
    """A 4-8-3 tanh network's parameters, drawn from a seeded generator."""
    g = torch.Generator().manual_seed(seed)
    shapes = [(4, 8), (8,), (8, 3), (3,)]
    return [torch.randn(s, generator=g, dtype=dtype).to(device).requires_grad_() for s in shapes]


def make_data(dtype=torch.float64, device="cpu", seed=1):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(16, 4, generator=g, dtype=dtype).to(device),
        torch.randn(16, 3, generator=g, dtype=dtype).to(device),
    )


def loss_of(params, data):
    W1, b1, W2, b2 = params
    X, Y = data
    return ((torch.tanh(X @ W1 + b1) @ W2 + b2 - Y) ** 2).mean()


def run(opt, params, data, steps=STEPS, scheduler=None):
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_of(params, data)
        loss.backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.item())
    return losses


def twins(name, groups_of, dtype=torch.float64, device="cpu", **kwargs):
    """(ours, torch's) optimizers on two identical copies of the network."""
    out = []
    for cls, extra in ((getattr(dl, name), {}), (getattr(torch.optim, name), {"foreach": False})):
        params = make_params(dtype, device)
        out.append((cls(groups_of(params), **kwargs, **extra), params))
    return out


def assert_same(ours, theirs, dtype):
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, **TOL[dtype])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=[f"{n}-{c}" for n, c in CONFIGS])
def test_matches_torch(name, kwargs, dtype):
    data = make_data(dtype)
    (ours, p_ours), (theirs, p_theirs) = twins(name, list, dtype, **kwargs)
    losses = run(ours, p_ours, data)
    run(theirs, p_theirs, data)
    assert_same(p_ours, p_theirs, dtype)
    assert p_ours[0].dtype == dtype
    assert losses[0] != losses[-1]  # the parameters did move
    for a, b in zip(p_ours, p_theirs):  # the same state, under the same names, as torch's
        expected = {k: v for k, v in theirs.state[b].items() if v is not None}
        assert set(ours.state[a]) == set(expected)
        for key, value in expected.items():
            if key == "step":
                assert float(ours.state[a][key]) == float(value) == STEPS
            else:
                torch.testing.assert_close(ours.state[a][key], value, **TOL[dtype])


GROUP_SETTINGS = {
    "SGD": ({"momentum": 0.9, "nesterov": True}, {"lr": 0.01, "weight_decay": 0.1}),
    "Adagrad": ({"lr_decay": 0.1}, {"lr": 0.05, "weight_decay": 0.1}),
    "RMSprop": ({"centered": True, "momentum": 0.3}, {"lr": 0.001, "alpha": 0.5}),
    "Adadelta": ({"rho": 0.5}, {"lr": 0.3, "weight_decay": 0.05}),
    "Adam": ({"amsgrad": True, "betas": (0.8, 0.99)}, {"lr": 0.003, "weight_decay": 0.1}),
    "AdamW": ({"amsgrad": True, "weight_decay": 0.5}, {"lr": 0.003, "eps": 1e-3}),
}


@pytest.mark.parametrize("name", NAMES)
def test_parameter_groups(name):
    first, second = GROUP_SETTINGS[name]

    def groups_of(params):  # b2 is frozen: no gradient, so it must be skipped
        return [{"params": params[:2], **first}, {"params": params[2:3], **second}]

    data = make_data()
    (ours, p_ours), (theirs, p_theirs) = twins(name, groups_of, lr=0.02)
    p_ours[3].requires_grad_(False)
    p_theirs[3].requires_grad_(False)
    run(ours, p_ours, data)
    run(theirs, p_theirs, data)
    assert_same(p_ours, p_theirs, torch.float64)
    torch.testing.assert_close(p_ours[3], make_params()[3].detach())
    assert [g["lr"] for g in ours.param_groups] == [g["lr"] for g in theirs.param_groups]


FULL_STATE = {
    "SGD": {"momentum": 0.9, "dampening": 0.1},
    "Adagrad": {"lr_decay": 0.01},
    "RMSprop": {"centered": True, "momentum": 0.5},
    "Adadelta": {},
    "Adam": {"amsgrad": True},
    "AdamW": {"amsgrad": True},
}


@pytest.mark.parametrize("target", ["dlcourse", "torch"])
@pytest.mark.parametrize("name", NAMES)
def test_state_dict_resume(name, target):
    """Save ours half-way, resume in a fresh optimizer (ours or torch's): same as uninterrupted."""
    kwargs = {"lr": 0.01, **FULL_STATE[name]}
    data = make_data()
    (ours, p_ours), (theirs, p_theirs) = twins(name, list, **kwargs)
    run(ours, p_ours, data, STEPS // 2)
    saved = copy.deepcopy(ours.state_dict())
    resumed_params = [p.detach().clone().requires_grad_() for p in p_ours]
    cls = getattr(dl, name) if target == "dlcourse" else getattr(torch.optim, name)
    resumed = cls(resumed_params, lr=123.0)  # load_state_dict must restore lr and options
    resumed.load_state_dict(saved)
    run(resumed, resumed_params, data, STEPS - STEPS // 2)
    run(theirs, p_theirs, data)
    assert_same(resumed_params, p_theirs, torch.float64)


@pytest.mark.parametrize("name", NAMES)
def test_loads_torch_state_dict(name):
    kwargs = {"lr": 0.01, **FULL_STATE[name]}
    data = make_data()
    (_, p_ours), (theirs, p_theirs) = twins(name, list, **kwargs)
    run(theirs, p_theirs, data, 10)
    with torch.no_grad():
        for a, b in zip(p_ours, p_theirs):
            a.copy_(b)
    ours = getattr(dl, name)(p_ours, **kwargs)
    ours.load_state_dict(copy.deepcopy(theirs.state_dict()))
    run(ours, p_ours, data, 10)
    run(theirs, p_theirs, data, 10)
    assert_same(p_ours, p_theirs, torch.float64)


@pytest.mark.parametrize("sched", ["step", "lambda"])
@pytest.mark.parametrize("name", NAMES)
def test_lr_scheduler(name, sched):
    def make(opt):
        if sched == "step":
            return torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.0 / (1 + t))

    data = make_data(torch.float32)
    (ours, p_ours), (theirs, p_theirs) = twins(name, list, torch.float32, lr=0.05, **FULL_STATE[name])
    run(ours, p_ours, data, scheduler=make(ours))
    run(theirs, p_theirs, data, scheduler=make(theirs))
    assert ours.param_groups[0]["lr"] == pytest.approx(theirs.param_groups[0]["lr"])
    assert ours.param_groups[0]["lr"] < 0.05
    assert_same(p_ours, p_theirs, torch.float32)


@pytest.mark.parametrize("name", NAMES)
def test_closure_returns_loss(name):
    data = make_data()
    pair = twins(name, list, lr=0.01)
    results = []
    for opt, params in pair:

        def closure(opt=opt, params=params):
            opt.zero_grad()
            loss = loss_of(params, data)
            loss.backward()
            return loss

        results.append([opt.step(closure).item() for _ in range(5)])
    assert results[0] == pytest.approx(results[1], rel=1e-12)
    assert dl.SGD(make_params()).step() is None


@pytest.mark.parametrize("name", NAMES)
def test_signature_defaults_match_torch(name):
    ours = inspect.signature(getattr(dl, name)).parameters
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    for arg, p in ours.items():
        assert arg in theirs, arg
        assert p.default == theirs[arg].default, (arg, p.default, theirs[arg].default)
    cls = getattr(dl, name)
    assert issubclass(cls, torch.optim.Optimizer)
    assert not issubclass(cls, getattr(torch.optim, name))
    assert ".. math::" in cls.__doc__ and ".. note::" in cls.__doc__


BAD = (
    [(n, {"lr": -0.1}, "lr") for n in NAMES]
    + [
        ("SGD", {"momentum": -0.5}, "momentum"),
        ("SGD", {"weight_decay": -1}, "weight_decay"),
        ("SGD", {"nesterov": True}, "nesterov"),
        ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "dampening"),
        ("Adagrad", {"lr_decay": -1}, "lr_decay"),
        ("Adagrad", {"eps": -1e-3}, "eps"),
        ("Adagrad", {"initial_accumulator_value": -1}, "initial_accumulator_value"),
        ("Adagrad", {"weight_decay": -1}, "weight_decay"),
        ("RMSprop", {"alpha": -0.1}, "alpha"),
        ("RMSprop", {"eps": -1.0}, "eps"),
        ("RMSprop", {"momentum": -0.1}, "momentum"),
        ("RMSprop", {"weight_decay": -1}, "weight_decay"),
        ("Adadelta", {"rho": -0.1}, "rho"),
        ("Adadelta", {"rho": 1.5}, "rho"),
        ("Adadelta", {"eps": -1.0}, "eps"),
        ("Adadelta", {"weight_decay": -1}, "weight_decay"),
        ("Adam", {"lr": float("nan")}, "lr"),
    ]
    + [
        (n, kw, arg)
        for n in ("Adam", "AdamW")
        for kw, arg in [
            ({"betas": (1.0, 0.999)}, "betas[0]"),
            ({"betas": (-0.1, 0.999)}, "betas[0]"),
            ({"betas": (0.9, 1.0)}, "betas[1]"),
            ({"betas": (0.9, -0.5)}, "betas[1]"),
            ({"eps": -1e-8}, "eps"),
            ({"weight_decay": -0.1}, "weight_decay"),
        ]
    ]
)


@pytest.mark.parametrize("name,kwargs,arg", BAD, ids=[f"{n}-{k}" for n, k, _ in BAD])
def test_bad_arguments(name, kwargs, arg):
    with pytest.raises(ValueError):  # torch rejects it too: the checks are the same
        getattr(torch.optim, name)(make_params(), **kwargs)
    with pytest.raises(ValueError, match=arg.replace("[", r"\[").replace("]", r"\]")) as err:
        getattr(dl, name)(make_params(), **kwargs)
    values = [v for v in kwargs.values() if not isinstance(v, bool)]
    if values:  # the message shows the offending value
        bad = (
            values[-1] if not isinstance(values[-1], tuple) else [b for b in values[-1] if not 0 <= b < 1][0]
        )
        assert str(bad) in str(err.value)


def test_adagrad_initial_accumulator_per_group():
    """Unlike torch.optim.Adagrad (which uses the constructor's value for every group), a
    group's own initial_accumulator_value is honoured."""
    params = make_params()
    opt = dl.Adagrad(
        [{"params": params[:2]}, {"params": params[2:], "initial_accumulator_value": 2.0}], lr=0.1
    )
    loss_of(params, make_data()).backward()
    grads = [p.grad.clone() for p in params]
    opt.step()
    for p, g, s0 in zip(params, grads, [0.0, 0.0, 2.0, 2.0]):
        torch.testing.assert_close(opt.state[p]["sum"], s0 + g**2)


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("SGD", {"lr": 0.0}),
        ("Adadelta", {"rho": 1.0}),
        ("Adadelta", {"rho": 0.0}),
        ("RMSprop", {"alpha": 0.0}),
        ("Adam", {"betas": (0.0, 0.0)}),
        ("Adagrad", {"eps": 0.0}),
    ],
)
def test_edge_arguments_accepted_like_torch(name, kwargs):
    getattr(torch.optim, name)(make_params(), **kwargs)
    getattr(dl, name)(make_params(), **kwargs)


def test_betas_must_be_a_pair():
    with pytest.raises(TypeError, match="betas"):
        dl.Adam(make_params(), betas=0.9)


@pytest.mark.parametrize("name", NAMES)
def test_sparse_gradient_is_a_clear_error(name):
    emb = torch.nn.Embedding(5, 3, sparse=True)
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(TypeError, match="sparse"):
        getattr(dl, name)(emb.parameters()).step()


# ---------------------------------------------------------------- the 2-D functional layer

A = np.array([[3.0, 0.5], [0.5, 1.0]])
B = np.array([1.0, -2.0])


def quadratic(p):
    a, b = torch.as_tensor(A), torch.as_tensor(B)
    return 0.5 * p @ a @ p - b @ p


def test_trajectory_sgd_is_gradient_descent():
    x = np.array([2.0, 1.5])
    expected = [x]
    for _ in range(40):
        x = x - 0.1 * (A @ x - B)
        expected.append(x)
    path = dl.trajectory(quadratic, [2.0, 1.5], "sgd", steps=40, lr=0.1)
    assert path.shape == (41, 2) and path.dtype == np.float64
    np.testing.assert_allclose(path, np.array(expected), rtol=1e-12, atol=1e-14)


def test_trajectory_momentum_is_heavy_ball():
    x, buf = np.array([2.0, 1.5]), None
    expected = [x]
    for _ in range(25):
        g = A @ x - B
        buf = g if buf is None else 0.9 * buf + g
        x = x - 0.05 * buf
        expected.append(x)
    path = dl.trajectory(quadratic, np.array([2.0, 1.5]), "momentum", steps=25, lr=0.05)
    np.testing.assert_allclose(path, np.array(expected), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", dl.OPTIMIZERS)
def test_trajectory_every_name_decreases_a_convex_quadratic(name):
    hyper = {"lr": 1.0} if name == "adadelta" else {"lr": 0.05}
    path = dl.trajectory(quadratic, [2.0, 1.5], name, steps=200, **hyper)
    values = [quadratic(torch.as_tensor(p)).item() for p in path]
    assert np.isfinite(path).all()
    assert values[-1] < values[0]
    assert np.array_equal(path[0], [2.0, 1.5])


def test_trajectory_accepts_an_optimizer_class():
    ours = dl.trajectory(quadratic, [2.0, 1.5], "adam", steps=50, lr=0.1)
    theirs = dl.trajectory(quadratic, [2.0, 1.5], torch.optim.Adam, steps=50, lr=0.1, foreach=False)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    nesterov = dl.trajectory(quadratic, [2.0, 1.5], "nesterov", steps=20, lr=0.05)
    np.testing.assert_allclose(
        nesterov, dl.trajectory(quadratic, [2.0, 1.5], dl.SGD, steps=20, lr=0.05, momentum=0.9, nesterov=True)
    )


def test_trajectory_zero_steps_and_divergence():
    assert dl.trajectory(quadratic, (0.5, 0.5), steps=0).tolist() == [[0.5, 0.5]]
    path = dl.trajectory(lambda p: (p**4).sum(), [3.0, 3.0], "sgd", steps=20, lr=10.0)
    assert path.shape == (21, 2) and not np.isfinite(path[-1]).all()


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"optimizer": "lbfgs"}, ValueError, "unknown optimizer"),
        ({"optimizer": int}, TypeError, "Optimizer subclass"),
        ({"optimizer": 3}, TypeError, "optimizer"),
        ({"start": [1.0, 2.0, 3.0]}, ValueError, r"shape \(2,\)"),
        ({"start": [[1.0, 2.0]]}, ValueError, "start"),
        ({"start": [float("nan"), 0.0]}, ValueError, "finite"),
        ({"start": ["a", "b"]}, TypeError, "start"),
        ({"steps": -1}, ValueError, "steps must be >= 0"),
        ({"steps": 2.5}, TypeError, "steps must be an int"),
        ({"f": lambda p: p * 2}, ValueError, "scalar"),
        ({"f": lambda p: p.detach().sum().item()}, ValueError, "scalar"),
        ({"f": lambda p: torch.tensor(1.0)}, ValueError, "autograd"),
        ({"lr": -1.0}, ValueError, "lr"),
    ],
)
def test_trajectory_errors(kwargs, error, match):
    args = {"f": quadratic, "start": [1.0, 1.0], "optimizer": "sgd", "steps": 3, **kwargs}
    with pytest.raises(error, match=match):
        dl.trajectory(**args)


def quadratic_grad(x, y):
    """The gradient of ``quadratic``, written out: A @ p - b (A symmetric)."""
    return A[0][0] * x + A[0][1] * y - B[0], A[1][0] * x + A[1][1] * y - B[1]


@pytest.mark.parametrize("name", dl.OPTIMIZERS)
def test_trajectory_with_grad_is_trajectory(name):
    """The written-out gradient through the classes' update rule gives trajectory's path (to
    rounding: autograd sums A @ p in its own order), for every name and for a torch class."""
    hyper = {"lr": 1.0} if name == "adadelta" else {"lr": 0.05}
    ours = dl.trajectory_with_grad(quadratic_grad, [2.0, 1.5], name, steps=200, **hyper)
    np.testing.assert_allclose(
        ours, dl.trajectory(quadratic, [2.0, 1.5], name, steps=200, **hyper), rtol=1e-9, atol=1e-12
    )
    theirs = dl.trajectory_with_grad(
        quadratic_grad, [2.0, 1.5], torch.optim.Adam, steps=50, lr=0.1, foreach=False
    )
    np.testing.assert_allclose(
        theirs, dl.trajectory(quadratic, [2.0, 1.5], "adam", steps=50, lr=0.1), rtol=1e-9, atol=1e-12
    )


def test_trajectory_with_grad_zero_steps_divergence_and_errors():
    assert dl.trajectory_with_grad(quadratic_grad, (0.5, 0.5), steps=0).tolist() == [[0.5, 0.5]]
    with np.errstate(over="ignore", invalid="ignore"):
        path = dl.trajectory_with_grad(
            lambda x, y: (4 * x**3, 4 * y**3), [3.0, 3.0], "sgd", steps=20, lr=10.0
        )
    assert path.shape == (21, 2) and not np.isfinite(path[-1]).all()
    for kwargs, error, match in (
        ({"grad": 3}, TypeError, "grad must be callable"),
        ({"grad": lambda x, y: x}, ValueError, "two numbers"),
        ({"grad": lambda x, y: ("a", "b")}, ValueError, "two numbers"),
        ({"steps": -1}, ValueError, "steps must be >= 0"),
        ({"optimizer": "lbfgs"}, ValueError, "unknown optimizer"),
        ({"start": [1.0]}, ValueError, "start"),
    ):
        args = {"grad": quadratic_grad, "start": [1.0, 1.0], "steps": 3, **kwargs}
        with pytest.raises(error, match=match):
            dl.trajectory_with_grad(**args)


# ---------------------------------------------------------------- CUDA


@pytest.mark.gpu
@pytest.mark.parametrize("name", NAMES)
def test_matches_torch_on_cuda(name):
    device = torch.device("cuda")
    data = make_data(torch.float32, device)
    (ours, p_ours), (theirs, p_theirs) = twins(name, list, torch.float32, device, lr=0.01, **FULL_STATE[name])
    run(ours, p_ours, data)
    run(theirs, p_theirs, data)
    assert all(p.device.type == "cuda" for p in p_ours)
    assert all(v.device.type == "cuda" for s in ours.state.values() for k, v in s.items() if k != "step")
    assert_same(p_ours, p_theirs, torch.float32)


# ---------------------------------------------------------------- drop-in behaviours of torch.optim


def _run_both(name, kwargs, steps=3):
    torch.manual_seed(0)
    p1 = torch.randn(5, requires_grad=True)
    p2 = p1.detach().clone().requires_grad_()
    ours, theirs = (
        getattr(dl, name)([p1], **kwargs),
        getattr(torch.optim, name)([p2], **copy.deepcopy(kwargs)),
    )
    for _ in range(steps):
        for p, opt in ((p1, ours), (p2, theirs)):
            opt.zero_grad()
            (p**3).sum().backward()
            opt.step()
    return p1, p2, ours, theirs


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_one_element_tensor_lr_steps_like_torch(name, shape):
    p1, p2, _, _ = _run_both(name, {"lr": torch.full(shape, 0.05)})
    torch.testing.assert_close(p1, p2, rtol=0, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_tensor_lr_of_two_elements_is_a_clear_error(name):
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=r"lr must be a number or a one-element tensor.*\(2,\)"):
        getattr(dl, name)([p], lr=torch.tensor([0.1, 0.2]))
    with pytest.raises(ValueError):  # torch refuses it too (its message differs)
        getattr(torch.optim, name)([p], lr=torch.tensor([0.1, 0.2]))


@pytest.mark.parametrize("name", NAMES)
def test_loads_a_state_saved_before_newer_options_existed(name):
    """Param groups without keys added later (``maximize``, ...) get the defaults, as in torch."""
    _, _, ours, theirs = _run_both(name, {"lr": 0.01})
    for opt in (ours, theirs):
        saved = opt.state_dict()
        for group in saved["param_groups"]:
            group.pop("maximize")
        opt.load_state_dict(saved)
        assert opt.param_groups[0]["maximize"] is False
        opt.step()  # must not raise KeyError


def test_sgd_without_momentum_keeps_no_state_like_torch():
    _, _, ours, theirs = _run_both("SGD", {"lr": 0.01})
    assert len(theirs.state) == 0 and len(ours.state) == 0
    _, _, ours, theirs = _run_both("SGD", {"lr": 0.01, "momentum": 0.9})
    assert len(ours.state) == len(theirs.state) == 1
