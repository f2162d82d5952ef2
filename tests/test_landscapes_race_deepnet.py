"""The computations behind the optimizer race and the activation explorer, against references:
torch.autograd, finite differences, the optimizer classes run directly, torch.nn.functional,
torch.nn.init, and a torch copy of the deep network differentiated by autograd."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse import activations as A
from dlcourse.landscapes import deepnet as dn
from dlcourse.landscapes import race as rc
from dlcourse.optim import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop, trajectory

POINTS = [(-1.5, 2.0), (0.3, -0.7), (1.0, 1.0), (-0.01, 1e-3), (1.9, -1.4)]


# ---------------------------------------------------------------- the race's surfaces ---------
@pytest.mark.parametrize("surface", rc.SURFACES)
def test_surface_gradient_is_autograd_of_the_loss_and_finite_differences(surface):
    for x, y in POINTS:
        p = torch.tensor([x, y], dtype=torch.float64, requires_grad=True)
        rc.surface_loss(surface, p[0], p[1]).backward()  # autograd of the loss itself
        gx, gy = rc.surface_grad(surface, x, y)
        np.testing.assert_allclose([gx, gy], p.grad.numpy(), rtol=1e-13, atol=1e-13)
        h = 1e-6
        fd = [
            (rc.surface_loss(surface, x + h, y) - rc.surface_loss(surface, x - h, y)) / (2 * h),
            (rc.surface_loss(surface, x, y + h) - rc.surface_loss(surface, x, y - h)) / (2 * h),
        ]
        np.testing.assert_allclose([gx, gy], fd, rtol=1e-6, atol=1e-6)
        q = torch.tensor([x, y], dtype=torch.float64, requires_grad=True)
        rc.surface_function(surface)(q).backward()  # the function the paths use
        np.testing.assert_array_equal(q.grad.numpy(), [gx, gy])
    np.testing.assert_allclose(rc.surface_loss(surface, *rc.MINIMIZERS[surface][0]), rc.MINIMUM[surface])


def test_the_saddle_is_the_chapter_saddle_and_the_valley_the_chapter_valley():
    from dlcourse.landscapes import saddle_loss, valley_loss

    for x, y in POINTS:
        assert rc.surface_loss("saddle", x, y) == saddle_loss(x, y)
        assert rc.surface_loss("valley", x, y) == pytest.approx(valley_loss(x, y, rc.KAPPA), rel=1e-15)
        # the rotated valley is the valley turned by 45 degrees
        c = math.sqrt(0.5)
        assert rc.surface_loss("rotated", x, y) == pytest.approx(
            valley_loss(c * (x + y), c * (y - x), rc.KAPPA), rel=1e-14
        )


CLASSES = {"sgd": SGD, "momentum": SGD, "nesterov": SGD, "adagrad": Adagrad, "rmsprop": RMSprop}
CLASSES.update(adadelta=Adadelta, adam=Adam, adamw=AdamW)


@pytest.mark.parametrize("name", rc.RACERS)
def test_race_paths_are_the_optimizer_classes_with_the_hyperparameters_sent_to_the_page(name):
    """race_path is trajectory() by name; the same class with racer_hyper's settings gives the
    same path bit for bit (so the page's copy gets exactly the settings Python used), and so does
    autograd of the plain loss instead of the written-out gradient (to rounding)."""
    hyper = rc.racer_hyper(name)
    assert hyper.pop("class") == CLASSES[name].__name__
    hyper = {k: tuple(v) if isinstance(v, list) else v for k, v in hyper.items()}
    for surface, lr in (("rosenbrock", 1e-3), ("rotated", 0.1), ("saddle", 0.3)):
        path = rc.race_path(surface, name, lr, 60)
        direct = trajectory(
            rc.surface_function(surface), rc.START[surface], CLASSES[name], 60, lr=lr, **hyper
        )
        np.testing.assert_array_equal(path, direct)
        plain = trajectory(
            lambda p, s=surface: rc.surface_loss(s, p[0], p[1]), rc.START[surface], name, 60, lr=lr
        )
        np.testing.assert_allclose(path, plain, rtol=1e-9, atol=1e-12)
    opt = CLASSES[name]([torch.zeros(2, requires_grad=True)], lr=1.0, **hyper)
    assert {k: opt.defaults[k] for k in hyper} == hyper


def test_default_rates_are_the_classes_defaults():
    import inspect

    for name in rc.RACERS:
        assert rc.DEFAULT_LR[name] == inspect.signature(CLASSES[name]).parameters["lr"].default


def test_loss_gap_and_best_rate():
    path = np.array([[-1.5, 2.0], [1.0, 1.0], [np.inf, 0.0], [np.nan, np.nan]])
    gap = rc.loss_gap("rosenbrock", path)
    assert gap[0] == pytest.approx(12.5) and gap[1] == 0.0 and np.isinf(gap[2]) and np.isinf(gap[3])
    assert rc.best_rate([3.0, 1.0, 1.0, 2.0]) == 1  # the first of equal gaps
    assert rc.best_rate([np.nan, np.inf, 5.0]) == 2  # a diverged run never wins
    assert rc.best_rate([np.inf, np.nan]) == 0  # unless every run diverged
    with pytest.raises(ValueError, match="final_gaps"):
        rc.best_rate([])


def test_torch_fuses_tells_how_torch_rounds_a_multiply_add():
    """Where the probe says fused, torch's add(alpha=) equals the correctly rounded a + s b
    (exact rational arithmetic), and otherwise the product rounded first."""
    fused = rc.torch_fuses()
    assert set(fused) == {"add", "addcmul", "lerp"} and all(isinstance(v, bool) for v in fused.values())
    rng = np.random.default_rng(0)
    for a, b, s in rng.standard_normal((200, 3)):
        got = torch.full((2,), a, dtype=torch.float64).add(torch.full((2,), b, dtype=torch.float64), alpha=s)
        want = float(Fraction(a) + Fraction(s) * Fraction(b)) if fused["add"] else a + s * b
        assert got[0].item() == want


def test_race_checks_its_arguments():
    with pytest.raises(ValueError, match="surface"):
        rc.race_path("himalaya", "sgd", 0.1, 10)
    with pytest.raises(ValueError, match="optimizer"):
        rc.race_path("valley", "lbfgs", 0.1, 10)
    with pytest.raises(ValueError, match="lr"):
        rc.race_path("valley", "sgd", 0.0, 10)
    with pytest.raises(TypeError, match="steps"):
        rc.race_path("valley", "sgd", 0.1, 10.0)


def test_contours_lie_in_the_box():
    for surface in rc.SURFACES:
        lines = rc.surface_contours(surface)
        assert lines, surface
        points = np.concatenate(lines)
        (x0, x1), (y0, y1) = rc.VIEW
        assert points[:, 0].min() >= x0 - 1e-9 and points[:, 0].max() <= x1 + 1e-9
        assert points[:, 1].min() >= y0 - 1e-9 and points[:, 1].max() <= y1 + 1e-9


# ---------------------------------------------------------------- the deep network ------------
EXTREMES = np.array([-1e4, -30.0, -3.0, -1e-9, 0.0, 1e-9, 0.7, 3.0, 30.0, 1e4])


@pytest.mark.parametrize("name", dn.ACTIVATIONS)
def test_activation_and_slope_against_torch(name):
    x = np.concatenate([EXTREMES, np.linspace(-6, 6, 121)])
    t = torch.tensor(x, requires_grad=True)
    slope, alpha = 0.07, 1.3
    ref = torch_activation(name, slope, alpha)(t)
    np.testing.assert_allclose(
        dn.activation(name, x, slope, alpha), ref.detach().numpy(), rtol=1e-14, atol=1e-300
    )
    (grad,) = torch.autograd.grad(ref.sum(), t)
    # 1 - tanh^2 near saturation magnifies a last-bit difference in tanh: compare absolutely there
    np.testing.assert_allclose(
        dn.activation_slope(name, x, slope, alpha), grad.numpy(), rtol=1e-13, atol=1e-15
    )
    if name in A.ACTIVATIONS:  # the book's own functions agree too
        f, _ = A.get_activation(name)
        if name in ("sigmoid", "tanh", "relu"):
            np.testing.assert_allclose(dn.activation(name, x), f(torch.tensor(x)).numpy(), rtol=1e-14)
    assert dn.peak_slope(name, slope, alpha) == pytest.approx(
        max(dn.activation_slope(name, np.linspace(-8, 8, 16001), slope, alpha)), rel=1e-6
    )


def test_init_std_and_prelu_start_are_torchs():
    n = 32
    w = torch.empty(n, n, dtype=torch.float64)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(w)
    assert dn.init_std("xavier", n, n) == pytest.approx(1.0 * math.sqrt(2.0 / (fan_in + fan_out)))
    assert dn.init_std("he", n, n) == pytest.approx(torch.nn.init.calculate_gain("relu") / math.sqrt(fan_in))
    assert dn.init_std("normal", n, n) == 1.0
    assert dn.PRELU_INIT == torch.nn.PReLU().weight.item()


def test_random_numbers():
    words = dn.random_words(0, 3, 5)
    assert words.dtype == np.uint32 and len(set(words.tolist())) == 5
    assert not np.array_equal(dn.random_words(0, 4, 5), words) and not np.array_equal(
        dn.random_words(1, 3, 5), words
    )
    z = dn.standard_normal(0, 1, 200_001)
    assert len(z) == 200_001 and abs(z.mean()) < 0.01 and abs(z.std() - 1.0) < 0.01
    assert abs(np.mean(z**4) - 3.0) < 0.05  # normal, not merely unit variance
    np.testing.assert_array_equal(dn.standard_normal(0, 1, 7), z[:7])


def torch_activation(name, slope, alpha):
    """The activation as torch.nn.functional computes it (PReLU at its starting slope)."""
    return {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": F.relu,
        "leaky_relu": lambda v: F.leaky_relu(v, slope),
        "elu": lambda v: F.elu(v, alpha),
        "prelu": lambda v: F.prelu(v, torch.tensor([dn.PRELU_INIT], dtype=torch.float64)),
    }[name]


def torch_network(name, init, depth, slope, alpha, width=32, batch=32, seed=0):
    """The same network in torch (weights from the same draws), differentiated by autograd."""
    sigma = dn.init_std(init, width, width)
    h = torch.tensor(dn.standard_normal(seed, 0, batch * width).reshape(batch, width))
    ws = [
        (
            sigma * torch.tensor(dn.standard_normal(seed, l, width * width).reshape(width, width))
        ).requires_grad_()
        for l in range(1, depth + 1)
    ]
    prelu = [torch.tensor([dn.PRELU_INIT], dtype=torch.float64, requires_grad=True) for _ in ws]
    zs = []
    for w, a in zip(ws, prelu):
        z = h @ w.T
        z.retain_grad()
        zs.append(z)
        h = F.prelu(z, a) if name == "prelu" else torch_activation(name, slope, alpha)(z)
    (h.sum() / batch).backward()
    return ws, prelu, zs


@pytest.mark.parametrize(
    "name,init,depth",
    [("sigmoid", "xavier", 20), ("tanh", "he", 12), ("relu", "normal", 30), ("leaky_relu", "xavier", 9)]
    + [("elu", "he", 15), ("prelu", "normal", 10), ("relu", "he", 1)],
)
def test_deep_network_against_torch_autograd(name, init, depth):
    slope, alpha = 0.2, 0.6
    net = dn.deep_network(name, init, depth, slope, alpha, batch=32)
    ws, prelu, zs = torch_network(name, init, depth, slope, alpha)
    for l in range(depth):
        z = zs[l].detach().numpy()
        np.testing.assert_allclose(net["pre"][l], z, rtol=1e-9, atol=1e-12 * np.abs(z).max())
        assert net["z_std"][l] == pytest.approx(z.std(), rel=1e-9)
        assert net["grad_norm"][l] == pytest.approx(torch.linalg.norm(ws[l].grad).item(), rel=1e-9)
        if name == "prelu":
            assert net["slope_grad"][l] == pytest.approx(abs(prelu[l].grad.item()), rel=1e-9)
        else:
            assert net["slope_grad"][l] == 0.0
    # saturated and dead, from torch's own derivative of the activation
    for l in (0, depth - 1):
        zt = zs[l].detach().clone().requires_grad_()
        (fp,) = torch.autograd.grad(torch_activation(name, slope, alpha)(zt).sum(), zt)
        flat = (fp < dn.SATURATION * dn.peak_slope(name, slope, alpha)).numpy()
        assert net["saturated"][l] == flat.mean() and net["dead"][l] == flat.all(axis=0).mean()


def test_what_the_explorer_shows_for_the_classic_settings():
    """The chapter's claims: sigmoid with Xavier weights loses the gradient towards the input;
    ReLU with He weights keeps both signal and gradient; ReLU with N(0, 1) weights explodes; a
    deep ReLU network has dead units where the inputs' representations collapse."""
    sig = dn.deep_network("sigmoid", "xavier", 20, batch=32)
    assert sig["grad_norm"][0] / sig["grad_norm"][-1] < 1e-10
    he = dn.deep_network("relu", "he", 20, batch=32)
    assert 0.1 < he["grad_norm"][0] / he["grad_norm"][-1] < 10 and 0.5 < he["z_std"][-1] < 5
    big = dn.deep_network("relu", "normal", 20, batch=32)
    assert big["z_std"][-1] > 1e10
    deep = dn.deep_network("relu", "he", 50, batch=32)
    assert deep["dead"][-1] > 0.2


def test_histogram_with_tails():
    edges = np.linspace(-6.0, 6.0, 49)
    values = np.concatenate([edges, [-7.0, 6.5, 0.1, -6.0, 6.0]])
    counts = dn.histogram_with_tails(values, edges)
    assert counts[0] == 1 and counts[-1] == 1 and counts.sum() == len(values)
    np.testing.assert_array_equal(counts[1:-1], np.histogram(values, bins=edges)[0])


def test_deep_network_checks_its_arguments():
    with pytest.raises(ValueError, match="activation"):
        dn.deep_network("swish", "he", 3)
    with pytest.raises(ValueError, match="init"):
        dn.deep_network("relu", "lecun", 3)
    with pytest.raises(ValueError, match="depth"):
        dn.deep_network("relu", "he", 0)
    with pytest.raises(TypeError, match="depth"):
        dn.deep_network("relu", "he", 2.0)
    with pytest.raises(ValueError, match="slope"):
        dn.deep_network("leaky_relu", "he", 3, slope=-0.1)
