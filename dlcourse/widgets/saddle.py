"""Batch size near a saddle: mini-batch noise pushes SGD off a saddle that full-batch descent keeps."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from matplotlib.figure import Figure

from .. import landscapes as ls
from .controls import Control, by_name, resolve, widgets_for
from .frame import FigureWidget, nice_bound

__all__ = ["CONTROLS", "START", "BINS", "batch_size_saddle"]

_N = ls.SADDLE_EXAMPLES
CONTROLS = (
    Control(
        "batch_size",
        "batch size B",
        "choice",
        4,
        choices=(1, 2, 4, 8, 16, 32, _N),
        choice_labels=("1", "2", "4", "8", "16", "32", f"{_N} (all)"),
    ),
    Control("lr", "α (learning rate)", "float", 0.1, 0.01, 0.3, 0.01),
    Control("steps", "steps", "int", 150, 10, 300, 5, digits=0),
    Control("runs", "runs", "int", 20, 1, 30, 1, digits=0),
)
_C = by_name(CONTROLS)
_BATCHES, _STEPS, _RUNS = _C["batch_size"].choices, _C["steps"], _C["runs"]
START = (1.5, 0.0)  # every run starts here, on the stable direction
BINS = 25  # bars of the escape-step histogram (plus one for "never")


@lru_cache(maxsize=len(_BATCHES))
def _batch_means(batch_size: int) -> np.ndarray:
    """Every step's batch means for the largest runs and steps: smaller settings take a prefix."""
    means = ls.saddle_batch_means(batch_size, _STEPS.high, _RUNS.high, _N, seed=0)
    means.setflags(write=False)
    return means


def batch_size_saddle(**values) -> FigureWidget:
    r"""Mini-batch SGD started on the stable direction of the saddle
    :math:`f = \tfrac12 x^2 - \tfrac12 y^2 + \tfrac14 y^4` (the mean of 64 per-example losses).

    Left: contours, the runs' trajectories for the chosen batch size and full-batch descent, which
    slides into the saddle and stays. Right: the distribution of escape steps (first
    :math:`|y| \ge 0.5`, :func:`dlcourse.landscapes.escape_steps`) for the batch size and for the
    full batch; runs that never escape are counted in the last bar.
    Controls (keyword arguments, defaults and ranges in :data:`CONTROLS`): ``batch_size`` (1 to
    64, 64 = full batch), ``lr``, ``steps``, ``runs``.
    """
    values = resolve(CONTROLS, values)
    controls = widgets_for(CONTROLS, values, {"description_width": "70px"})

    fig = Figure(figsize=(10.0, 3.6), dpi=72, layout="constrained")
    ax, ax_hist = fig.subplots(1, 2, width_ratios=[1.2, 1.0])
    gx, gy = np.meshgrid(np.linspace(-2.0, 2.0, 81), np.linspace(-1.6, 1.6, 65))
    ax.contour(
        gx, gy, ls.saddle_loss(gx, gy), levels=np.linspace(-0.25, 2.0, 13), colors="0.75", linewidths=0.8
    )
    (paths,) = ax.plot([], [], color="tab:orange", lw=0.7, alpha=0.8, label="mini-batch runs")
    (full_path,) = ax.plot([], [], ".-", color="tab:blue", lw=1.2, ms=3, label="full batch")
    ax.plot([START[0]], [START[1]], "ks", ms=5)
    ax.plot([0.0, 0.0], [-1.0, 1.0], "k*", ms=9, ls="none", label="minima")
    ax.axhline(0.5, color="0.6", lw=0.6, ls=":")
    ax.axhline(-0.5, color="0.6", lw=0.6, ls=":")
    ax.set(xlim=(-2.0, 2.0), ylim=(-1.6, 1.6), xlabel="x (stable)", ylabel="y (unstable)")
    ax.legend(loc="lower left", fontsize=8)

    hist_b = ax_hist.stairs(
        np.zeros(BINS + 1),
        np.arange(BINS + 2.0),
        fill=True,
        alpha=0.6,
        color="tab:orange",
        label="mini-batch",
    )
    hist_full = ax_hist.stairs(
        np.zeros(BINS + 1), np.arange(BINS + 2.0), color="tab:blue", lw=2, label="full batch"
    )
    ax_hist.set(xlabel="escape step (last bar: never)", ylabel="runs")
    ax_hist.legend(loc="upper right", fontsize=8)

    def update(v: dict, changed: str | None) -> None:
        b, n_runs, n_steps = v["batch_size"], v["runs"], v["steps"]
        runs_b = ls.saddle_descent(_batch_means(b)[:n_runs, :n_steps], v["lr"], START)
        full = ls.saddle_descent(_batch_means(_N)[:1, :n_steps], v["lr"], START)[0]
        joined = np.full((n_runs, n_steps + 2, 2), np.nan)
        joined[:, :-1] = runs_b
        paths.set_data(joined[..., 0].ravel(), joined[..., 1].ravel())
        full_path.set_data(full[:, 0], full[:, 1])
        top = nice_bound(n_steps, _STEPS.high)
        edges = np.append(np.linspace(0.0, top, BINS + 1), top * 1.12)
        counts = []
        for esc in (ls.escape_steps(runs_b), np.repeat(ls.escape_steps(full[None]), n_runs)):
            hist = np.histogram(esc[np.isfinite(esc)], bins=edges[:-1])[0].astype(float)
            counts.append(np.append(hist, np.isinf(esc).sum()))
        hist_b.set_data(counts[0], edges)
        hist_full.set_data(counts[1], edges)
        ax_hist.set(xlim=(0.0, top * 1.12), ylim=(0.0, nice_bound(n_runs, _RUNS.high) * 1.05))
        esc = ls.escape_steps(runs_b)
        left = f"B = {b}" + (" (full batch)" if b == _N else "")
        mean = (
            f"mean escape step {esc[np.isfinite(esc)].mean():.1f}"
            if np.isfinite(esc).any()
            else "no run escaped"
        )
        ax.set_title(f"{left}: {int(np.isfinite(esc).sum())}/{n_runs} runs escaped", fontsize=10)
        ax_hist.set_title(f"{left}: {mean}; full batch: never", fontsize=10)

    for artist in (paths, full_path, hist_b, hist_full, ax.title, ax_hist.title):
        artist.set_animated(True)
    return FigureWidget(fig, controls, update, columns=2)
