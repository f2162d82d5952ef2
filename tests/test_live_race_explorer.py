"""The optimizer race and the activation explorer: their JavaScript computes what Python computes
(run under Node, to 1e-9 on a grid of settings), and their widgets draw what they should."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from test_live_widgets import as_array, assert_same, node_calls

from dlcourse.landscapes import deepnet as dn
from dlcourse.landscapes import race as rc
from dlcourse.widgets import explorer as we
from dlcourse.widgets import live
from dlcourse.widgets import race as wr

RACE = ("live_compute_race.js",)
EXPLORER = ("live_compute_explorer.js",)


def race_setup() -> dict:
    return live.live_optimizer_race().setup


# ---------------------------------------------------------------- the race, under Node -------
def test_fma_is_exact():
    """The page's fused multiply-add equals a + b c rounded once (exact rational arithmetic),
    ties and near-cancellations included."""
    rng = np.random.default_rng(5)
    cases = []
    for i in range(3000):
        a, b, c = (float(v) for v in rng.standard_normal(3) * np.exp(rng.standard_normal(3) * 5))
        if i % 3 == 0:  # a b + c close to 0
            c = -float(Fraction(a) * Fraction(b)) * (1 + float(rng.standard_normal()) * 2**-40)
        if i % 5 == 0:  # halfway cases
            a, b = 1 + 2.0 ** -int(rng.integers(20, 52)), 1 + 2.0 ** -int(rng.integers(1, 52))
            c = float(rng.choice([-1, 1])) * 2.0 ** -int(rng.integers(40, 110))
        cases.append((a, b, c))
    got = node_calls([("fma", list(c)) for c in cases], files=RACE)
    wrong = [
        (c, g) for c, g in zip(cases, got) if g != float(Fraction(c[0]) * Fraction(c[1]) + Fraction(c[2]))
    ]
    assert not wrong, f"{len(wrong)} of {len(cases)} differ, e.g. {wrong[:3]}"


RATES = (1e-4, 10**-2.5, 0.1, 1.0, 10.0)


@pytest.mark.parametrize("surface", rc.SURFACES)
def test_race_paths_equal_python(surface):
    """Every optimizer at five rates across the sweep (including diverging ones), 120 steps: the
    path and its gaps to 1e-9; where Python diverged, so does the page, at the same step."""
    setup = race_setup()
    calls, expected = [], []
    for name in rc.RACERS:
        for lr in RATES:
            path = rc.race_path(surface, name, lr, 120)
            calls += [
                ("racePath", [surface, name, lr, 120, setup]),
                ("lossGap", [surface, path.ravel().tolist(), setup]),
            ]
            expected += [path, rc.loss_gap(surface, path)]
    got = node_calls(calls, files=RACE)
    for k, ((fn, _), js, py) in enumerate(zip(calls, got, expected)):
        name, lr = calls[k - k % 2][1][1:3]
        assert_same(js, py, f"{fn} of {name} at lr {lr} on {surface}")
        if fn == "racePath":
            assert np.array_equal(np.isfinite(as_array(js)), np.isfinite(py.ravel())), (name, lr)


def test_tune_picks_pythons_rate_on_every_surface():
    """sweepRates (the page's tune) chooses the rate landscapes.race.best_rate chooses from
    Python's runs, for every optimizer and surface, at two run lengths; and bestRate breaks ties
    and skips divergence as best_rate does."""
    setup, sweep = race_setup(), list(rc.SWEEP)
    calls, expected = [], []
    for surface in rc.SURFACES:
        for name in rc.RACERS:
            runs = [rc.loss_gap(surface, rc.race_path(surface, name, lr, 40)) for lr in sweep]
            for steps in (15, 40):
                finals = [float(g[steps]) for g in runs]
                calls.append(("sweepRates", [surface, name, steps, sweep, setup]))
                expected.append((rc.best_rate(finals), finals))
    got = node_calls(calls, files=RACE)
    for (_, args), js, (best, finals) in zip(calls, got, expected):
        assert js["best"] == best, f"tune on {args[0]} for {args[1]} after {args[2]} steps"
        assert_same(js["finals"], finals, f"sweep of {args[1]} on {args[0]}")
    gaps = [[3.0, 1.0, 1.0, 2.0], [float("nan"), float("inf"), 5.0], [float("inf"), float("nan")]]
    assert node_calls([("bestRate", [g]) for g in gaps], files=RACE) == [rc.best_rate(g) for g in gaps]


def test_race_tune_in_the_widget_is_the_sweep():
    """The matplotlib widget's tune uses landscapes.race.best_rate over the sweep's runs."""
    tuned = wr.tuned_rates("valley", 30)
    for name in ("sgd", "adam"):
        finals = [float(rc.loss_gap("valley", rc.race_path("valley", name, lr, 30))[-1]) for lr in rc.SWEEP]
        assert tuned[name] == (rc.best_rate(finals), tuple(finals))


# ---------------------------------------------------------------- the explorer, under Node ---
def explorer_setup() -> dict:
    return live.live_activation_explorer().setup


GRID = [
    (a, i, d)
    for a in dn.ACTIVATIONS
    for i in dn.INITS
    for d in (1, 9, 40)
    if not (a == "tanh" and i == "normal")
]
GRID += [("tanh", "normal", 1), ("tanh", "normal", 6)]


def test_deep_network_equals_python():
    """Per-layer spread, gradient norm, saturated and dead fractions and PReLU's slope gradient,
    to 1e-9 relative; the pre-activations to 1e-9 of their layer's scale. tanh with N(0, 1)
    weights is checked only 6 layers deep: that network is chaotic (a last-bit difference in
    tanh grows by about 1.7 per layer, Poole et al. 2016), so no two maths libraries agree
    deeper, and Python on another processor would not either."""
    setup = explorer_setup()
    calls, expected = [], []
    for k, (name, init, depth) in enumerate(GRID):
        slope, alpha = (0.01, 1.0) if k % 2 else (0.3, 0.45)
        calls.append(("deepNetwork", [name, init, depth, slope, alpha, setup]))
        expected.append(dn.deep_network(name, init, depth, slope, alpha, width=we.WIDTH, batch=we.BATCH))
    got = node_calls(calls, files=EXPLORER)
    for (_, args), js, py in zip(calls, got, expected):
        what = f"deepNetwork{tuple(args[:5])}"
        for key in ("z_std", "grad_norm", "saturated", "dead", "slope_grad"):
            a, b = as_array(js[key]), py[key]
            err = np.abs(a - b) / np.maximum(np.abs(b), 1e-300)
            assert np.all(err <= 1e-9), f"{what} {key}: relative error {err.max():.3g}"
        pre = np.array([as_array(z) for z in js["pre"]]).reshape(py["pre"].shape)
        scale = np.abs(py["pre"]).max(axis=(1, 2), keepdims=True)
        assert np.all(np.abs(pre - py["pre"]) <= 1e-9 * scale), what


def test_random_numbers_and_histogram_equal_python():
    calls = [("randomWords", [0, 3, 200]), ("randomWords", [7, 50, 64]), ("standardNormal", [0, 1, 1001])]
    values = np.concatenate([we.EDGES, [-7.0, 6.5, 0.1, -6.0, 6.0, 1e30, -1e30]])
    calls.append(("histogramWithTails", [values.tolist(), we.EDGES.tolist()]))
    got = node_calls(calls, files=EXPLORER)
    assert [int(v) for v in got[0]] == dn.random_words(0, 3, 200).tolist()  # bit for bit
    assert [int(v) for v in got[1]] == dn.random_words(7, 50, 64).tolist()
    assert_same(got[2], dn.standard_normal(0, 1, 1001), "standardNormal")
    np.testing.assert_array_equal(as_array(got[3]), dn.histogram_with_tails(values, we.EDGES))


def test_activation_values_equal_python():
    x = np.linspace(-8, 8, 97).tolist() + [-1e4, 1e4, 0.0]
    calls, expected = [], []
    for name in dn.ACTIVATIONS:
        a = dn.PRELU_INIT if name == "prelu" else 0.13
        for x0 in x:
            calls += [("activationValue", [name, x0, a, 0.7]), ("activationSlope", [name, x0, a, 0.7])]
            expected += [dn.activation(name, x0, 0.13, 0.7), dn.activation_slope(name, x0, 0.13, 0.7)]
        calls.append(("peakSlope", [name, 1.7]))
        expected.append(dn.peak_slope(name, 0.13, 1.7))
    got = node_calls(calls, files=EXPLORER)
    js, py = as_array(got), np.array(expected, dtype=float)
    assert np.all(np.abs(js - py) <= 1e-15 + 1e-14 * np.abs(py))


# ---------------------------------------------------------------- the widgets ----------------
def test_race_every_control_changes_the_drawing():
    """Each control, moved in the state where it acts (the rate sliders with tune off), changes
    the image; the first tune on a surface runs the sweep, and turning it off restores the
    sliders' rates."""
    w = wr.optimizer_race(tune=False, steps=60)
    assert not w.controls["lr_sgd"].disabled  # the sliders act while tune is off
    image = lambda: bytes(w.canvas.buffer_rgba())
    moves = [("surface", "rosenbrock"), ("steps", 150)]
    for name in rc.RACERS:  # each rate, then each toggle (a hidden optimizer's rate shows nothing)
        moves += [(f"lr_{name}", w.controls[f"lr_{name}"].value * 10), (f"on_{name}", False)]
    for name, value in moves:
        before = image()
        w.controls[name].value = value
        assert image() != before, f"moving {name} to {value} drew nothing"
    w.controls["surface"].value = "valley"
    before = image()
    w.controls["tune"].value = True
    assert image() != before and w.controls["lr_adam"].disabled
    assert wr.rates_in_use(w.values())["sgd"] in rc.SWEEP


def test_explorer_every_control_changes_the_drawing():
    w = we.activation_explorer()
    image = lambda: bytes(w.canvas.buffer_rgba())
    moves = [("activation", "tanh"), ("init", "he"), ("depth", 35), ("activation", "leaky_relu")]
    moves += [("slope", 0.3), ("activation", "elu"), ("alpha", 0.4), ("activation", "prelu")]
    for name, value in moves:
        before = image()
        w.controls[name].value = value
        assert image() != before, f"moving {name} to {value} drew nothing"
    assert w.controls["slope"].disabled and w.controls["alpha"].disabled  # PReLU learns its slope
    with pytest.raises(ValueError, match="activation"):
        we.activation_explorer(activation="swish")
    with pytest.raises(ValueError, match="depth"):
        we.activation_explorer(depth=51)


def test_explorer_states_the_networks_numbers():
    """What the explorer's titles state is deep_network's result for the setting."""
    w = we.activation_explorer(activation="relu", init="normal", depth=12)
    s = we.summary(we.network(w.values()))
    net = dn.deep_network("relu", "normal", 12, width=we.WIDTH, batch=we.BATCH, seed=we.SEED)
    assert s["grad_ratio"] == net["grad_norm"][0] / net["grad_norm"][-1]
    assert s["dead_last"] == net["dead"][-1]
    titles = " ".join(ax.get_title() for ax in w.figure.axes)
    assert f"{s['grad_ratio']:.2e}" in titles and f"{s['dead_last']:.2f} dead" in titles


@pytest.mark.parametrize("factory", [lambda: wr.optimizer_race(tune=False), we.activation_explorer])
def test_a_blitted_redraw_with_kept_texts_equals_a_full_redraw(factory):
    """Texts that did not change are put back from the last redraw, not rendered again: the
    image is the same as drawing everything again."""
    w = factory()
    name = "on_sgd" if "on_sgd" in w.controls else "depth"
    for value in (False, True, False) if name == "on_sgd" else (21, 22, 23):
        w.controls[name].value = value
    blitted = bytes(w.canvas.buffer_rgba())
    w.redraw(None)
    assert bytes(w.canvas.buffer_rgba()) == blitted


@pytest.mark.parametrize(
    "factory,name,value",
    [
        (we.activation_explorer, "depth", 3),
        (we.activation_explorer, "depth", 50),
        (wr.optimizer_race, "steps", 10),
    ],
)
def test_prerendered_axes_give_the_pixels_of_a_full_redraw(factory, name, value):
    """The axes drawn at build for their few ranges (FigureWidget.prerender) are put back, not
    rendered, on the first move to one of them, and the image is the one a full redraw draws."""
    w = factory()
    axis = w.figure.axes[2].xaxis if name == "depth" else w.figure.axes[1].xaxis
    assert len(w._kept[id(axis)]) > 2  # the states drawn at build
    rendered = []
    draw = axis.draw
    axis.draw = lambda *args, **kwargs: rendered.append(1) or draw(*args, **kwargs)
    w.controls[name].value = value
    assert not rendered
    blitted = bytes(w.canvas.buffer_rgba())
    w.redraw(None)
    assert bytes(w.canvas.buffer_rgba()) == blitted


@pytest.mark.parametrize("init", ["normal", "he"])
def test_explorer_histogram_heights_are_prerendered(init):
    """The histogram's height moves in a few steps (explorer.hist_top), each drawn at build: a
    move that changes it renders no tick of that axis, and the image is a full redraw's."""
    w = we.activation_explorer()
    axis = w.figure.axes[1].yaxis
    before = axis.get_view_interval()[1]
    rendered = []
    draw = axis.draw
    axis.draw = lambda *args, **kwargs: rendered.append(1) or draw(*args, **kwargs)
    w.controls["init"].value = init
    assert axis.get_view_interval()[1] != before  # the move did change the height
    assert not rendered
    blitted = bytes(w.canvas.buffer_rgba())
    w.redraw(None)
    assert bytes(w.canvas.buffer_rgba()) == blitted


def test_prerender_refuses_axes_it_cannot_keep():
    w = we.activation_explorer()
    with pytest.raises(ValueError, match="animated"):
        w.prerender(w.figure.axes[0].xaxis, [(0, 1)])
    with pytest.raises(ValueError, match="at most"):
        w.prerender(w.figure.axes[2].xaxis, [(0, k) for k in range(1, 30)])
