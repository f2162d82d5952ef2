"""The optimizer race: every optimizer of :mod:`dlcourse.optim` on one of chapter 2's surfaces."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath
from matplotlib.transforms import offset_copy

from ..landscapes import race as rc
from .controls import Control, by_name, link_enabled, resolve, widgets_for
from .frame import FigureWidget, nice_bound

__all__ = [
    "CONTROLS",
    "NAMES",
    "COLORS",
    "GAP_FLOOR",
    "optimizer_race",
    "race_paths",
    "tuned_rates",
    "rates_in_use",
    "live_data",
]

NAMES = {
    "sgd": "SGD",
    "momentum": "momentum",
    "nesterov": "Nesterov",
    "adagrad": "Adagrad",
    "rmsprop": "RMSprop",
    "adadelta": "Adadelta",
    "adam": "Adam",
    "adamw": "AdamW",
}
COLORS = {  # matplotlib's tab10, grey left for the contours
    "sgd": "#1f77b4",
    "momentum": "#ff7f0e",
    "nesterov": "#2ca02c",
    "adagrad": "#d62728",
    "rmsprop": "#9467bd",
    "adadelta": "#8c564b",
    "adam": "#e377c2",
    "adamw": "#17becf",
}
SURFACE_LABELS = ("valley κ = 50", "rotated valley", "Rosenbrock", "saddle")
GAP_FLOOR = 1e-16  # gaps are drawn down to here (the loss axis' bottom)
CONTROLS = (
    Control("surface", "surface", "choice", "valley", choices=rc.SURFACES, choice_labels=SURFACE_LABELS),
    Control("steps", "steps", "int", 100, 10, 200, 10, digits=0),
    Control("tune", "tune (best η of the sweep)", "bool", True),
) + tuple(
    c
    for name in rc.RACERS
    for c in (
        Control(f"on_{name}", NAMES[name], "bool", True),
        Control(
            f"lr_{name}",
            f"η {NAMES[name]}",
            "float",
            rc.DEFAULT_LR[name],
            rc.SWEEP[0],
            rc.SWEEP[-1],
            0.05,
            scale="log",
            digits=2,
            format="precision",
            enabled_by=("tune", (False,)),
        ),
    )
)
_C = by_name(CONTROLS)
STEPS_MAX = _C["steps"].high


@lru_cache(maxsize=1024)
def _path(surface: str, optimizer: str, lr: float) -> np.ndarray:
    """A run of STEPS_MAX steps (a shorter run is its prefix), read-only."""
    path = rc.race_path(surface, optimizer, lr, STEPS_MAX)
    path.setflags(write=False)
    return path


def race_paths(surface: str, rates: dict, steps: int) -> dict:
    """``{optimizer: (path, gaps)}`` for ``{optimizer: lr}``: ``steps + 1`` points and gaps."""
    out = {}
    for name, lr in rates.items():
        path = _path(surface, name, float(lr))[: steps + 1]
        out[name] = (path, rc.loss_gap(surface, path))
    return out


@lru_cache(maxsize=64)
def tuned_rates(surface: str, steps: int) -> dict:
    """``{optimizer: (index of the best rate of landscapes.race.SWEEP, final gap of each rate)}``
    after ``steps`` steps: the sweep every optimizer gets (runs cached per surface)."""
    out = {}
    for name in rc.RACERS:
        finals = [float(rc.loss_gap(surface, _path(surface, name, lr)[steps])) for lr in rc.SWEEP]
        out[name] = (rc.best_rate(finals), tuple(finals))
    return out


def rates_in_use(v: dict) -> dict:
    """The rate each optimizer runs with: its slider's, or the sweep's best when ``tune`` is on."""
    if not v["tune"]:
        return {name: v[f"lr_{name}"] for name in rc.RACERS}
    best = tuned_rates(v["surface"], v["steps"])
    return {name: rc.SWEEP[best[name][0]] for name in rc.RACERS}


def live_data() -> dict:
    """What the browser's copy needs besides the controls (the traits of the live widget): the
    surfaces' constants, each optimizer's hyperparameters, whether torch fuses multiply-adds,
    the sweep, the contour lines, the minimizers, names and colours, the box every surface is drawn in."""
    setup = {
        "kappa": rc.KAPPA,
        "start": {s: list(rc.START[s]) for s in rc.SURFACES},
        "minimum": dict(rc.MINIMUM),
        "hyper": {name: rc.racer_hyper(name) for name in rc.RACERS},
        "fused": rc.torch_fuses(),
    }
    return {
        "setup": setup,
        "sweep": list(rc.SWEEP),
        "contours": {s: [np.round(c, 2).tolist() for c in rc.surface_contours(s)] for s in rc.SURFACES},
        "minimizers": {s: [list(m) for m in rc.MINIMIZERS[s]] for s in rc.SURFACES},
        "racers": [{"name": n, "label": NAMES[n], "color": COLORS[n]} for n in rc.RACERS],
        "box": [list(r) for r in rc.VIEW],
        "floor": GAP_FLOOR,
    }


def optimizer_race(**values) -> FigureWidget:
    r"""SGD, momentum, Nesterov, Adagrad, RMSprop, Adadelta, Adam and AdamW from one start on one
    surface (:mod:`dlcourse.landscapes.race`: the valley, the rotated valley, Rosenbrock, the
    saddle), each run by :func:`dlcourse.optim.trajectory` with the real optimizer class.

    Top left: the paths on the contours. Top right: the gap :math:`f(x_t) - f^*` against the step
    (log scale). Bottom left: the sweep, the final gap of each rate of
    :data:`dlcourse.landscapes.race.SWEEP` (the same for every optimizer), with the best marked;
    shown while ``tune`` is on, when each optimizer runs with its best rate. Bottom right: the rate
    each runs with and its final gap. Controls (keyword arguments, defaults and ranges in
    :data:`CONTROLS`): ``surface``, ``steps``, ``tune``, and per optimizer ``on_<name>`` and
    ``lr_<name>`` (used when ``tune`` is off). The sweeps of all four surfaces (4 x 88 runs of
    :data:`STEPS_MAX` steps, well under a second) are run when the widget is built, once per
    process, so that no control waits for one; a new rate is one run, a few milliseconds.
    """
    values = resolve(CONTROLS, values)
    for surface in rc.SURFACES:
        tuned_rates(surface, values["steps"])
    controls = widgets_for(CONTROLS, values, {"description_width": "95px"})
    link_enabled(CONTROLS, controls)

    fig = Figure(figsize=(9.5, 7.0), dpi=72, layout="constrained")
    (ax_path, ax_loss), (ax_sweep, ax_table) = fig.subplots(2, 2)
    (contours,) = ax_path.plot([], [], color="0.78", lw=0.8)
    (start,) = ax_path.plot([], [], "ks", ms=5)
    (minima,) = ax_path.plot([], [], "k*", ms=9, ls="none")
    (x0, x1), (y0, y1) = rc.VIEW
    ax_path.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="x", ylabel="y", aspect="equal")
    paths, gaps, sweeps, best_dots, rows = {}, {}, {}, {}, {}
    # The table's columns (name, rate, final gap) are separate texts, right-aligned at the columns'
    # ends, so that a redraw renders only the numbers that changed.
    mono = {"family": "monospace", "fontsize": 9}
    char = (
        TextToPath().get_text_width_height_descent(
            "0" * 10, FontProperties(family="monospace", size=9), ismath=False
        )[0]
        / 10
    )
    columns = [offset_copy(ax_table.transAxes, fig, x=n * char, units="points") for n in (20, 33)]
    for i, name in enumerate(rc.RACERS):
        color = COLORS[name]
        (paths[name],) = ax_path.plot([], [], color=color, lw=1.2, label=NAMES[name])
        (gaps[name],) = ax_loss.semilogy([], [], color=color, lw=1.2)
        (sweeps[name],) = ax_sweep.loglog([], [], ".-", color=color, lw=0.9, ms=3)
        (best_dots[name],) = ax_sweep.loglog([], [], "o", color=color, mec="k", ms=6)
        y = 0.92 - 0.1 * i
        ax_table.text(0.0, y, NAMES[name], color=color, family="monospace", fontsize=9)  # never changes
        rows[name] = [
            ax_table.text(0.0, y, "", color=color, ha="right", transform=at, **mono) for at in columns
        ]
    ax_path.legend(loc="upper right", fontsize=7, ncols=2)
    ax_loss.set(xlabel="step", ylabel="f − f* (log)", ylim=(GAP_FLOOR, 1e4), xlim=(0, 100))
    ax_sweep.set(xlabel="learning rate η", ylabel="final f − f*", xlim=(5e-5, 20.0), ylim=(GAP_FLOOR, 1e4))
    ax_table.set_axis_off()
    ax_table.text(0.0, 1.02, "optimizer   η used     final f − f*", family="monospace", fontsize=9)

    def update(v: dict, changed: str | None) -> None:
        surface, steps = v["surface"], v["steps"]
        if changed in (None, "surface"):
            contours.set_data(*_contours(surface))
            start.set_data(*np.transpose([rc.START[surface]]))
            minima.set_data(*np.transpose(rc.MINIMIZERS[surface]))
        rates = rates_in_use(v)
        runs = race_paths(surface, rates, steps)
        t = np.arange(steps + 1)
        tuned = tuned_rates(surface, steps) if v["tune"] else None
        for name in rc.RACERS:
            path, gap = runs[name]
            on = v[f"on_{name}"]
            paths[name].set_data(*(path.T if on else ([], [])))
            gaps[name].set_data(*((t, np.maximum(gap, GAP_FLOOR)) if on else ([], [])))
            if tuned and on:
                best, finals = tuned[name]
                shown = np.maximum(finals, GAP_FLOOR)
                sweeps[name].set_data(rc.SWEEP, np.where(np.isfinite(shown), shown, np.nan))
                best_dots[name].set_data([rc.SWEEP[best]], [shown[best]])
            else:
                sweeps[name].set_data([], [])
                best_dots[name].set_data([], [])
            rate_text, gap_text = rows[name]
            rate_text.set_text(f"{rates[name]:.2e}" if on else "(off)")
            gap_text.set_text(f"{gap[-1]:.3e}" if on else "")
        ax_loss.set_xlim(0, nice_bound(steps, STEPS_MAX))
        label = SURFACE_LABELS[rc.SURFACES.index(surface)]
        ax_path.set_title(f"{label}: paths from the square", fontsize=10)
        ax_loss.set_title(f"gap to the minimum f* = {rc.MINIMUM[surface]:g}, {steps} steps", fontsize=10)
        ax_sweep.set_title(
            "the sweep: final gap per η (● best)" if v["tune"] else "tune is off: the sliders' η",
            fontsize=10,
        )

    ax_loss.xaxis.set_label_coords(0.5, -0.1)  # a fixed place: the animated axis is drawn faster
    animated = [contours, start, minima, ax_loss.xaxis, ax_path.title, ax_loss.title, ax_sweep.title]
    for name in rc.RACERS:
        animated += [paths[name], gaps[name], sweeps[name], best_dots[name], *rows[name]]
    for artist in animated:
        artist.set_animated(True)
    widget = FigureWidget(fig, controls, update, columns=2)
    steps = _C["steps"]
    # the loss axis' few ranges, drawn once here
    widget.prerender(
        ax_loss.xaxis, sorted({(0, nice_bound(t, STEPS_MAX)) for t in range(steps.low, steps.high + 1)})
    )
    return widget


@lru_cache(maxsize=len(rc.SURFACES))
def _contours(surface: str) -> tuple[np.ndarray, np.ndarray]:
    """The surface's contour lines as one polyline with NaN breaks (one ``set_data``)."""
    lines = rc.surface_contours(surface)
    joined = np.concatenate([np.vstack([line, [[np.nan, np.nan]]]) for line in lines])
    return joined[:, 0], joined[:, 1]
