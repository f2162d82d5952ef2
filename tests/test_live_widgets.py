"""The live widgets: their JavaScript computes what Python computes (run under Node), and the
Python side (traits, keyword checks, jslink, the static fallback) works in-process."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import ipywidgets
import numpy as np
import pytest

from dlcourse import landscapes as ls
from dlcourse.widgets import live
from dlcourse.widgets.frame import nice_bound

COMPUTE = live.STATIC / "live_compute.js"
TOL = 1e-9

_RUNNER = """
import fs from "node:fs";
const m = await import(%s);
const dec = (k, v) => (v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v === "NaN" ? NaN : v);
const cases = JSON.parse(fs.readFileSync(0, "utf8"), dec);
const enc = (k, v) => ArrayBuffer.isView(v) ? Array.from(v)
  : (typeof v === "number" && !Number.isFinite(v)) ? String(v) : v;
const out = cases.map(([fn, args]) => m[fn](...args));
process.stdout.write(JSON.stringify(out, enc));
"""


def _encode(value):
    """JSON-ready: non-finite floats as the strings the runner turns back into numbers."""
    if isinstance(value, float) and not np.isfinite(value):
        return "NaN" if np.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def node_calls(calls: list, files: tuple[str, ...] = ("live_compute.js",)) -> list:
    """Evaluate ``[(function name, [args...]), ...]`` in one Node process, in the module made of
    ``files`` of ``static/`` joined as :func:`dlcourse.widgets.live.module_source` joins them."""
    node = shutil.which("node")
    if node is None:
        message = "Node.js is not installed (apt-get install nodejs): the JavaScript is unchecked"
        if os.environ.get("DLCOURSE_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " and DLCOURSE_REQUIRE_BROWSER=1")
        pytest.skip(message)
    module = COMPUTE
    if tuple(files) != ("live_compute.js",):
        joined = "\n".join((live.STATIC / name).read_text(encoding="utf-8") for name in files)
        module = Path(tempfile.mkdtemp()) / "joined.mjs"
        module.write_text(joined, encoding="utf-8")
    proc = subprocess.run(
        [node, "--input-type=module", "-e", _RUNNER % json.dumps(module.as_uri())],
        input=json.dumps(_encode(calls)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout, parse_constant=float)


def as_array(value) -> np.ndarray:
    return np.array([float(v) for v in np.ravel(value)])


def assert_same(js, py, what: str) -> None:
    js, py = as_array(js), np.asarray(py, dtype=float).ravel()
    assert js.shape == py.shape, f"{what}: shape {js.shape} in JavaScript, {py.shape} in Python"
    both_inf = np.isinf(js) & np.isinf(py) & (np.sign(js) == np.sign(py))
    with np.errstate(invalid="ignore"):
        err = np.where(both_inf, 0.0, np.abs(js - py) / np.maximum(1.0, np.abs(py)))
    assert np.all(err <= TOL), f"{what}: max relative error {np.nanmax(err):.3g} (NaN: {np.isnan(err).any()})"


# ---------------------------------------------------------------- the valley ---------------
VALLEY_GRID = [
    (lr, beta, kappa, steps, start, nest)
    for lr in (0.05, 1.0, 1.9, 3.7)
    for beta in (0.0, 0.5, 0.93)
    for kappa in (1.0, 12.589254117941675, 50.0, 1000.0)
    for steps, start, nest in ((60, (-1.2, 0.8), False), (300, (1.5, -1.0), True))
]


def test_valley_compute_equals_python():
    calls, expected = [], []
    for lr, beta, kappa, steps, start, nest in VALLEY_GRID:
        calls += [
            ("gradientDescentTrajectory", [start, lr, steps, kappa]),
            ("momentumTrajectory", [start, lr, beta, steps, kappa, nest]),
            ("iterationRate", [lr, beta, kappa, nest]),
            ("optimalMomentum", [kappa]),
            ("valleyLoss", [start[0], start[1], kappa]),
        ]
        expected += [
            ls.gradient_descent_trajectory(start, lr, steps, kappa),
            ls.momentum_trajectory(start, lr, beta, steps, kappa, nest),
            ls.iteration_rate(lr, beta, kappa, nest),
            ls.optimal_momentum(kappa),
            ls.valley_loss(start[0], start[1], kappa),
        ]
    for kappa, levels in ((50.0, [0.5, 0.01, 1e-5]), (3.0, [2.0])):
        calls.append(("quadraticContours", [[0.0, 0.0], 1.0 / kappa, 0.0, 1.0, levels]))
        expected.append(ls.quadratic_contours((0.0, 0.0), 1.0 / kappa, 0.0, 1.0, levels))
    for value in (1, 7, 10, 60, 99, 150, 201, 300):
        calls.append(("niceBound", [value, 300]))
        expected.append(nice_bound(value, 300))
    got = node_calls(calls)
    assert len(got) == len(expected)
    for (fn, args), js, py in zip(calls, got, expected):
        assert_same(js, py, f"{fn}{tuple(args)}")
    # Diverging settings stay comparable: trajectories that overflow give inf/nan in both.
    (js,) = node_calls([("momentumTrajectory", [[1.0, 1.0], 4.0, 0.99, 300, 1.0, False])])
    py = ls.momentum_trajectory((1.0, 1.0), 4.0, 0.99, 300, 1.0)
    assert np.array_equal(np.isfinite(as_array(js)), np.isfinite(py.ravel()))


# ---------------------------------------------------------------- L1 versus L2 -------------
def test_l1_l2_compute_equals_python():
    calls, expected = [], []
    for ox, oy in ((2.0, 0.6), (-3.0, 3.0), (0.3, -0.2), (1.0, -2.5), (0.0, 2.9)):
        for rho in (-0.9, 0.0, 0.3, 0.85):
            for budget in (0.1, 1.0, 2.35, 3.0):
                calls += [
                    ("l1BallSolution", [[ox, oy], rho, budget]),
                    ("l2BallSolution", [[ox, oy], rho, budget]),
                    ("quadratic2Loss", [0.4, -0.7, [ox, oy], rho]),
                ]
                expected += [
                    ls.l1_ball_solution((ox, oy), rho, budget),
                    ls.l2_ball_solution((ox, oy), rho, budget),
                    ls.quadratic2_loss(0.4, -0.7, (ox, oy), rho),
                ]
    got = node_calls(calls)
    for (fn, args), js, py in zip(calls, got, expected):
        assert_same(js, py, f"{fn}{tuple(args)}")


def test_lasso_and_ridge_at_lambda_equal_python():
    data = live._regression_paths()
    X, y, _ = ls.sparse_regression()
    lams = np.array(data["lams"])
    calls, expected = [], []
    for lam in (1e-3, 0.01, 0.0631, 0.3, 1.0, 5.0):
        i = int(np.argmin(np.abs(np.log(lams) - np.log(lam))))
        w0 = data["lasso"][i]
        calls += [
            ("nearestIndex", [data["lams"], lam]),
            ("lassoAt", [data["gram"], data["corr"], data["eta"], lam, w0]),
            ("ridgeAt", [data["gram"], data["corr"], lam]),
        ]
        expected += [i, ls.lasso_path(X, y, [lam], w0=w0)[0], ls.ridge_path(X, y, [lam])[0]]
    got = node_calls(calls)
    for (fn, args), js, py in zip(calls, got, expected):
        assert_same(js, py, f"{fn} at lambda {args[-2] if fn == 'lassoAt' else args[-1]}")
        if fn == "lassoAt":  # exact zeros are where Python has them
            assert np.array_equal(as_array(js) == 0.0, np.asarray(py) == 0.0), fn
    # The precomputed paths the page draws are landscapes.lasso_path / ridge_path themselves.
    np.testing.assert_array_equal(np.array(data["lasso"]), ls.lasso_path(X, y, lams))


# ---------------------------------------------------------------- the saddle ---------------
def test_xorshift_and_offsets_equal_python_bit_for_bit():
    calls = [("xorshift32", [seed, 200]) for seed in (0, 1, 7, 123456789)]
    calls += [("saddleOffsets", [64, 0]), ("saddleOffsets", [8, 5])]
    got = node_calls(calls)
    for (_, args), js in zip(calls[:4], got[:4]):
        assert [int(v) for v in js] == ls.xorshift32(args[0], args[1]).tolist(), args
    assert as_array(got[4]).tolist() == ls.saddle_offsets(64, 0).ravel().tolist()
    assert as_array(got[5]).tolist() == ls.saddle_offsets(8, 5).ravel().tolist()


@pytest.mark.parametrize("batch_size", [1, 2, 4, 8, 16, 32, 48, 63, 64])
def test_saddle_compute_equals_python(batch_size):
    calls, expected = [], []
    settings = ((0.02, 20, 1, 0.0), (0.1, 150, 20, 1e-12), (0.3, 400, 30, 1e-4), (0.17, 45, 7, 1e-2))
    for lr, steps, runs, y0 in settings:
        means = ls.saddle_batch_means(batch_size, steps, runs)
        traj = ls.saddle_descent(means, lr, (1.5, y0))
        esc = ls.escape_steps(traj)
        calls += [
            ("saddleBatchMeans", [batch_size, steps, runs]),
            ("saddleDescent", [means.ravel().tolist(), steps, runs, steps, lr, [1.5, y0]]),
            ("escapeSteps", [traj.ravel().tolist(), runs, steps, 0.5]),
            ("escapeQuantiles", [esc.tolist(), [0.25, 0.5, 0.75]]),
            ("escapeEstimate", [y0, lr, 0.5]),
        ]
        expected += [
            means,
            traj,
            esc,
            ls.escape_quantiles(esc, [0.25, 0.5, 0.75]),
            ls.escape_estimate(y0, lr),
        ]
    got = node_calls(calls)
    for (fn, args), js, py in zip(calls, got, expected):
        assert_same(js, py, f"{fn}(batch {batch_size}, {args[1:] if fn != 'saddleDescent' else args[2:]})")


def test_escape_quantiles_handle_runs_that_never_escape():
    """numpy.quantile where every run escaped; inf (not numpy's nan) where the quantile reaches the
    runs that did not; the same in JavaScript."""
    rng = np.random.default_rng(0)
    cases = [rng.integers(1, 300, size=n).astype(float) for n in (1, 2, 7, 30)]
    cases += [np.array([3.0, np.inf, 5.0, np.inf]), np.full(5, np.inf), np.array([4.0, 4.0, np.inf])]
    qs = [0.0, 0.25, 0.5, 0.75, 1.0]
    got = node_calls([("escapeQuantiles", [c.tolist(), qs]) for c in cases])
    for c, js in zip(cases, got):
        py = ls.escape_quantiles(c, qs)
        if np.isfinite(c).all():
            np.testing.assert_array_equal(py, np.quantile(c, qs))
        assert_same(js, py, f"escapeQuantiles({c.tolist()})")
    assert ls.escape_quantiles([3.0, np.inf, 5.0, np.inf], [0.5]).tolist() == [np.inf]
    assert ls.escape_quantiles([3.0, np.inf, 5.0, np.inf], [0.25]).tolist() == [4.5]


# ---------------------------------------------------------------- the Python side ----------
FACTORIES = {
    live.live_momentum_valley: {
        "lr": 0.5,
        "beta": 0.9,
        "kappa": 200.0,
        "steps": 120,
        "start_x": 1.0,
        "start_y": -0.5,
        "nesterov": True,
    },
    live.live_l1_vs_l2: {"budget": 0.5, "opt_x": -1.0, "opt_y": 2.0, "rho": -0.5, "lam": 0.01},
    live.live_batch_size_saddle: {"lr": 0.2, "batch_size": 63, "y0": 1e-4, "steps": 300, "runs": 5},
    live.live_optimizer_race: {"steps": 150, "surface": "saddle", "tune": False, "lr_adam": 0.1},
    live.live_activation_explorer: {"depth": 7, "activation": "elu", "alpha": 0.5, "init": "he"},
}


@pytest.mark.parametrize("factory", list(FACTORIES), ids=lambda f: f.__name__)
def test_keyword_arguments_set_traits_and_bad_ones_are_refused(factory):
    kwargs = FACTORIES[factory]
    w = factory(**kwargs)
    for name, value in kwargs.items():
        assert getattr(w, name) == value, name
    assert "export default" in w._esm and "render" in w._esm
    name, value = next(iter(kwargs.items()))
    with pytest.raises(ValueError, match=name):
        factory(**{name: type(value)(10**6)})
    with pytest.raises(TypeError, match=name):
        factory(**{name: "fast"})
    with pytest.raises(TypeError):
        factory(no_such_control=1)


@pytest.mark.parametrize("factory", list(FACTORIES), ids=lambda f: f.__name__)
def test_ipywidgets_controls_drive_the_widget(factory):
    w = factory()
    name, value = next(iter(FACTORIES[factory].items()))
    trait = w.traits()[name]
    kind = ipywidgets.FloatSlider if isinstance(value, float) else ipywidgets.IntSlider
    slider = kind(
        value=getattr(w, name),
        min=trait.min if trait.min is not None else 1,
        max=trait.max if trait.max is not None else 64,
    )
    js = ipywidgets.jslink((slider, "value"), (w, name))  # the front-end link
    state = js.get_state()
    assert state["source"][1] == "value" and state["target"][1] == name
    assert state["target"][0] == "IPY_MODEL_" + w.model_id
    py = ipywidgets.link((slider, "value"), (w, name))  # the in-process twin
    slider.value = value
    assert getattr(w, name) == value
    assert w.get_state()[name] == value  # what syncs to the page
    py.unlink()
    js.close()


def test_static_fallback_is_the_default_figure():
    fallback = live.live_l1_vs_l2().static_figure()
    bundle = fallback._repr_mimebundle_()
    png = base64.b64decode(bundle["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert bundle["text/html"].startswith('<noscript><img src="data:image/png;base64,')
    from dlcourse.widgets import l1_vs_l2

    assert png == l1_vs_l2().static_figure().data
    assert live.live_l1_vs_l2().static_figure(noscript=False).data == png


# ---------------------------------------------------------------- one table of controls

TABLES = {
    live.live_momentum_valley: "valley",
    live.live_l1_vs_l2: "l1l2",
    live.live_batch_size_saddle: "saddle",
    live.live_optimizer_race: "race",
    live.live_activation_explorer: "explorer",
}


@pytest.mark.parametrize("factory", list(TABLES), ids=lambda f: f.__name__)
def test_controls_come_from_the_python_table(factory):
    """The live widget's traits and the table its page builds sliders from are the module's table,
    and the matplotlib widget's sliders have the same ranges."""
    import importlib

    from dlcourse.widgets.controls import specs

    module = importlib.import_module(f"dlcourse.widgets.{TABLES[factory]}")
    w = factory()
    assert w.controls == specs(module.CONTROLS)
    static = getattr(module, factory.__name__.removeprefix("live_"))()
    for c in module.CONTROLS:
        assert getattr(w, c.name) == c.default == static.controls[c.name].value
        trait = w.traits()[c.name]
        if c.kind in ("float", "int"):
            assert (trait.min, trait.max) == (c.low, c.high)
            slider = static.controls[c.name]
            if c.scale == "log":
                assert (slider.base**slider.min, slider.base**slider.max) == pytest.approx((c.low, c.high))
            else:
                assert (slider.min, slider.max, slider.step) == (c.low, c.high, c.step)


@pytest.mark.parametrize(
    "view", ["live_valley.js", "live_l1l2.js", "live_saddle.js", "live_race.js", "live_explorer.js"]
)
def test_the_javascript_views_hold_no_control_constants(view):
    """Ranges, steps and labels of the controls exist only in Python: a view that wrote its own
    slider table (``min:``/``max:``/``step:`` keys) or its own list of trait names would drift."""
    import re

    text = (live.STATIC / view).read_text(encoding="utf-8")
    assert not re.search(r"\b(min|max|step)\s*:", text), f"{view} declares a slider range of its own"
    assert "SPECS" not in text and "TRAITS" not in text
    assert not re.search(r"_MAX\s*=\s*\d", text), f"{view} hard-codes a control's maximum"
