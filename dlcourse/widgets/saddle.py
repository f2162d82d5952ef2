"""Batch size near a saddle: how long mini-batch SGD and exact gradient descent take to leave it."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .. import landscapes as ls
from .controls import Control, by_name, resolve, widgets_for
from .frame import FigureWidget, nice_bound

__all__ = ["CONTROLS", "START_X", "THRESHOLD", "QUANTILES", "batch_size_saddle"]

_N = ls.SADDLE_EXAMPLES
_OFFSETS = (0.0, 1e-12, 1e-8, 1e-4, 1e-2)
CONTROLS = (
    Control(
        "batch_size",
        "batch size B",
        "choice",
        16,
        choices=(1, 2, 4, 8, 16, 32, 48, 63, _N),
        choice_labels=("1", "2", "4", "8", "16", "32", "48", "63", f"{_N} (all)"),
    ),
    Control(
        "y0",
        "start offset y₀",
        "choice",
        0.0,
        choices=_OFFSETS,
        choice_labels=("0", "1e-12", "1e-8", "1e-4", "1e-2"),
    ),
    Control("lr", "α (learning rate)", "float", 0.1, 0.02, 0.3, 0.01),
    Control("steps", "steps", "int", 200, 20, 400, 10, digits=0),
    Control("runs", "runs", "int", 20, 1, 30, 1, digits=0),
)
_C = by_name(CONTROLS)
_BATCHES, _STEPS, _RUNS = _C["batch_size"].choices, _C["steps"], _C["runs"]
START_X = 1.5  # every run starts at (START_X, y0): on the stable direction when y0 = 0
THRESHOLD = 0.5  # a run has escaped once |y| >= THRESHOLD
QUANTILES = (0.25, 0.5, 0.75)  # the spread and the median shown for each batch size
_TOP, _BAND = 1.16, 1.08  # the escape axis' top and the never-escaped band, in units of the steps


@lru_cache(maxsize=1)
def _all_means() -> np.ndarray:
    """Every batch size's batch means for the largest runs and steps, ``(batches, runs, steps, 2)``:
    smaller settings take a prefix (the streams do not depend on them)."""
    means = np.stack([ls.saddle_batch_means(b, _STEPS.high, _RUNS.high, _N, seed=0) for b in _BATCHES])
    means.setflags(write=False)
    return means


def sweep(lr: float, y0: float, steps: int, runs: int) -> tuple[np.ndarray, np.ndarray]:
    """``(trajectories, escape steps)`` of every batch size of the table: ``(batches, runs, steps + 1,
    2)`` and ``(batches, runs)``; the numbers :func:`dlcourse.landscapes.saddle_sweep` gives."""
    means = _all_means()[:, :runs, :steps].reshape(-1, steps, 2)
    traj = ls.saddle_descent(means, lr, (START_X, y0))
    esc = ls.escape_steps(traj, THRESHOLD)
    return traj.reshape(len(_BATCHES), runs, steps + 1, 2), esc.reshape(len(_BATCHES), runs)


def batch_size_saddle(**values) -> FigureWidget:
    r"""Mini-batch SGD and full-batch gradient descent started near the saddle
    :math:`f = \tfrac12 x^2 - \tfrac12 y^2 + \tfrac14 y^4` (the mean of 64 per-example losses),
    at :math:`(1.5, y_0)`.

    Left: contours, the runs' trajectories for the chosen batch size and the full batch, which from
    :math:`y_0 = 0` slides into the saddle and stays. Right: the escape step (first
    :math:`|y| \ge 0.5`) of every run for every batch size, with the median and the quartiles;
    runs that do not escape within ``steps`` sit in the band at the top; the dashed line is the
    escape time of exact gradient descent, :func:`dlcourse.landscapes.escape_estimate`.
    Controls (keyword arguments, defaults and ranges in :data:`CONTROLS`): ``batch_size`` (64 =
    the full batch, the exact gradient), ``y0``, ``lr``, ``steps``, ``runs``.
    """
    values = resolve(CONTROLS, values)
    controls = widgets_for(CONTROLS, values, {"description_width": "90px"})

    fig = Figure(figsize=(10.0, 3.7), dpi=72, layout="constrained")
    ax, ax_esc = fig.subplots(1, 2, width_ratios=[1.1, 1.0])
    gx, gy = np.meshgrid(np.linspace(-2.0, 2.0, 81), np.linspace(-1.6, 1.6, 65))
    ax.contour(
        gx, gy, ls.saddle_loss(gx, gy), levels=np.linspace(-0.25, 2.0, 13), colors="0.75", linewidths=0.8
    )
    (paths,) = ax.plot([], [], color="tab:orange", lw=0.7, alpha=0.8, label="mini-batch runs")
    (full_path,) = ax.plot([], [], ".-", color="tab:blue", lw=1.2, ms=3, label="full batch")
    (start,) = ax.plot([], [], "ks", ms=5)
    ax.plot([0.0, 0.0], [-1.0, 1.0], "k*", ms=9, ls="none", label="minima")
    for y in (THRESHOLD, -THRESHOLD):
        ax.axhline(y, color="0.6", lw=0.6, ls=":")
    ax.set(xlim=(-2.0, 2.0), ylim=(-1.6, 1.6), xlabel="x (stable)", ylabel="y (unstable)")
    ax.legend(loc="lower left", fontsize=8)

    pos = np.arange(len(_BATCHES), dtype=float)
    (dots,) = ax_esc.plot([], [], "o", color="0.55", ms=2.5, ls="none", label="one run")
    (chosen,) = ax_esc.plot([], [], "o", color="tab:orange", ms=3.5, ls="none", label="chosen B")
    (spread,) = ax_esc.plot([], [], "-", color="k", lw=1.2, label="quartiles")
    (medians,) = ax_esc.plot([], [], "_", color="k", ms=14, mew=2.2, ls="none", label="median")
    (exact,) = ax_esc.plot([], [], "--", color="tab:blue", lw=1, label="exact GD from y₀")
    # The escape axis runs to _TOP times the steps, so the band of the runs that never escaped
    # (from 1.02 to 1.14 times the steps) has a fixed place in the axes.
    never_band = Rectangle(
        (0.0, 1.02 / _TOP), 1.0, 0.12 / _TOP, transform=ax_esc.transAxes, color="0.9", zorder=0
    )
    ax_esc.add_patch(never_band)
    never_text = ax_esc.text(
        0.01, _BAND / _TOP, "", transform=ax_esc.transAxes, ha="left", va="center", fontsize=8
    )
    ax_esc.set_xticks(pos, [str(b) if b != _N else "all" for b in _BATCHES])
    ax_esc.set(xlim=(-0.6, len(_BATCHES) - 0.4), xlabel="batch size B", ylabel="escape step")
    ax_esc.legend(loc="upper left", bbox_to_anchor=(0.0, 0.87), fontsize=7, ncol=3)
    jitter = np.linspace(-0.3, 0.3, _RUNS.high)

    def update(v: dict, changed: str | None) -> None:
        b, runs, steps, y0 = v["batch_size"], v["runs"], v["steps"], v["y0"]
        traj, esc = sweep(v["lr"], y0, steps, runs)
        k = _BATCHES.index(b)
        joined = np.full((runs, steps + 2, 2), np.nan)
        joined[:, :-1] = traj[k]
        paths.set_data(joined[..., 0].ravel(), joined[..., 1].ravel())
        full = traj[-1, 0]
        full_path.set_data(full[:, 0], full[:, 1])
        start.set_data([START_X], [y0])
        top = nice_bound(steps, _STEPS.high)
        band = top * _BAND  # where the runs that did not escape are drawn
        shown = np.where(np.isinf(esc), band, esc)
        xs = pos[:, None] + (jitter[:runs] if runs > 1 else np.zeros(1))[None, :]
        dots.set_data(xs.ravel(), shown.ravel())
        chosen.set_data(xs[k], shown[k])
        q = np.array([ls.escape_quantiles(e, QUANTILES) for e in esc])
        qs = np.minimum(q, band)
        bars = np.full((len(pos), 3, 2), np.nan)
        bars[:, 0], bars[:, 1] = np.c_[pos, qs[:, 0]], np.c_[pos, qs[:, 2]]
        spread.set_data(bars[..., 0].ravel(), bars[..., 1].ravel())
        medians.set_data(pos, qs[:, 1])
        gd = ls.escape_estimate(y0, v["lr"], THRESHOLD)
        exact.set_data([-0.6, len(pos) - 0.4], [gd if gd <= band else np.nan] * 2)
        never_text.set_text(f"not within {steps} steps")
        ax_esc.set_ylim(0.0, top * _TOP)
        escaped = int(np.isfinite(esc[k]).sum())
        left = f"B = {b}" + (" (full batch)" if b == _N else "")
        median = "never" if np.isinf(q[k, 1]) else f"{q[k, 1]:.1f}"
        ax.set_title(f"{left}: {escaped}/{runs} runs escaped, median step {median}", fontsize=10)
        full_esc = "never escapes" if np.isinf(esc[-1, 0]) else f"escapes at step {esc[-1, 0]:.0f}"
        label = _C["y0"].choice_labels[_OFFSETS.index(y0)]
        expected = "stays on the saddle" if np.isinf(gd) else f"≈ {gd:.0f}"
        ax_esc.set_title(f"y₀ = {label}: full batch {full_esc} ({expected})", fontsize=10)

    # The escape axis follows `steps`: drawn with the data (its label at a fixed place, so that
    # placing it costs nothing), it changes without a full redraw.
    ax_esc.yaxis.set_label_coords(-0.09, 0.5)
    animated = (paths, full_path, start, dots, chosen, spread, medians, exact, never_text)
    for artist in (*animated, ax.title, ax_esc.title, ax_esc.yaxis):
        artist.set_animated(True)
    return FigureWidget(fig, controls, update, columns=3)
