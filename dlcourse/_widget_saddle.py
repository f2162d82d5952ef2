"""Batch size near a saddle: mini-batch noise pushes SGD off a saddle that full-batch descent keeps."""

from __future__ import annotations

from functools import lru_cache

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from . import landscapes as ls
from ._widget_base import FigureWidget, check_number, nice_bound

__all__ = ["batch_size_saddle"]

_N = ls.SADDLE_EXAMPLES
_BATCHES = (1, 2, 4, 8, 16, 32, _N)
_LR, _STEPS, _RUNS = (0.01, 0.3), (10, 300), (1, 30)
_START = (1.5, 0.0)
_BINS = 25


@lru_cache(maxsize=len(_BATCHES))
def _batch_means(batch_size: int) -> np.ndarray:
    """Every step's batch means for the largest runs and steps: smaller settings take a prefix."""
    means = ls.saddle_batch_means(batch_size, _STEPS[1], _RUNS[1], _N, seed=0)
    means.setflags(write=False)
    return means


def batch_size_saddle(
    *, batch_size: int = 4, lr: float = 0.1, steps: int = 150, runs: int = 20,
) -> FigureWidget:
    r"""Mini-batch SGD started on the stable direction of the saddle
    :math:`f = \tfrac12 x^2 - \tfrac12 y^2 + \tfrac14 y^4` (the mean of 64 per-example losses).

    Left: contours, the runs' trajectories for the chosen batch size and full-batch descent, which
    slides into the saddle and stays. Right: the distribution of escape steps (first
    :math:`|y| \ge 0.5`, :func:`dlcourse.landscapes.escape_steps`) for the batch size and for the
    full batch; runs that never escape are counted in the last bar.
    Controls: ``batch_size`` (1 to 64, 64 = full batch), ``lr``, ``steps``, ``runs``.
    """
    if batch_size not in _BATCHES or isinstance(batch_size, bool):
        raise ValueError(f"batch_size must be one of {_BATCHES}, got {batch_size!r}")
    lr = check_number("lr", lr, *_LR)
    steps = check_number("steps", steps, *_STEPS, integer=True)
    runs = check_number("runs", runs, *_RUNS, integer=True)

    style = {"description_width": "70px"}
    controls = {
        "batch_size": widgets.SelectionSlider(options=list(_BATCHES), value=int(batch_size),
                                              description="batch size", style=style),
        "lr": widgets.FloatSlider(value=lr, min=_LR[0], max=_LR[1], step=0.01,
                                  description="α (lr)", style=style),
        "steps": widgets.IntSlider(value=steps, min=_STEPS[0], max=_STEPS[1], step=5,
                                   description="steps", style=style),
        "runs": widgets.IntSlider(value=runs, min=_RUNS[0], max=_RUNS[1], description="runs",
                                  style=style),
    }

    fig = Figure(figsize=(10.0, 3.6), dpi=72, layout="constrained")
    ax, ax_hist = fig.subplots(1, 2, width_ratios=[1.2, 1.0])
    gx, gy = np.meshgrid(np.linspace(-2.0, 2.0, 81), np.linspace(-1.6, 1.6, 65))
    ax.contour(gx, gy, ls.saddle_loss(gx, gy), levels=np.linspace(-0.25, 2.0, 13), colors="0.75",
               linewidths=0.8)
    paths, = ax.plot([], [], color="tab:orange", lw=0.7, alpha=0.8, label="mini-batch runs")
    full_path, = ax.plot([], [], ".-", color="tab:blue", lw=1.2, ms=3, label="full batch")
    ax.plot([_START[0]], [_START[1]], "ks", ms=5)
    ax.plot([0.0, 0.0], [-1.0, 1.0], "k*", ms=9, ls="none", label="minima")
    ax.axhline(0.5, color="0.6", lw=0.6, ls=":")
    ax.axhline(-0.5, color="0.6", lw=0.6, ls=":")
    ax.set(xlim=(-2.0, 2.0), ylim=(-1.6, 1.6), xlabel="x (stable)", ylabel="y (unstable)")
    ax.legend(loc="lower left", fontsize=8)

    hist_b = ax_hist.stairs(np.zeros(_BINS + 1), np.arange(_BINS + 2.0), fill=True, alpha=0.6,
                            color="tab:orange", label="mini-batch")
    hist_full = ax_hist.stairs(np.zeros(_BINS + 1), np.arange(_BINS + 2.0), color="tab:blue",
                               lw=2, label="full batch")
    ax_hist.set(xlabel="escape step (last bar: never)", ylabel="runs")
    ax_hist.legend(loc="upper right", fontsize=8)

    def update(v: dict, changed: str | None) -> None:
        b, n_runs, n_steps = v["batch_size"], v["runs"], v["steps"]
        runs_b = ls.saddle_descent(_batch_means(b)[:n_runs, :n_steps], v["lr"], _START)
        full = ls.saddle_descent(_batch_means(_N)[:1, :n_steps], v["lr"], _START)[0]
        joined = np.full((n_runs, n_steps + 2, 2), np.nan)
        joined[:, :-1] = runs_b
        paths.set_data(joined[..., 0].ravel(), joined[..., 1].ravel())
        full_path.set_data(full[:, 0], full[:, 1])
        top = nice_bound(n_steps, _STEPS[1])
        edges = np.append(np.linspace(0.0, top, _BINS + 1), top * 1.12)
        counts = []
        for esc in (ls.escape_steps(runs_b), np.repeat(ls.escape_steps(full[None]), n_runs)):
            hist = np.histogram(esc[np.isfinite(esc)], bins=edges[:-1])[0].astype(float)
            counts.append(np.append(hist, np.isinf(esc).sum()))
        hist_b.set_data(counts[0], edges)
        hist_full.set_data(counts[1], edges)
        ax_hist.set(xlim=(0.0, top * 1.12), ylim=(0.0, nice_bound(n_runs, _RUNS[1]) * 1.05))
        esc = ls.escape_steps(runs_b)
        left = f"B = {b}" + (" (full batch)" if b == _N else "")
        mean = f"mean escape step {esc[np.isfinite(esc)].mean():.1f}" if np.isfinite(esc).any() \
            else "no run escaped"
        ax.set_title(f"{left}: {int(np.isfinite(esc).sum())}/{n_runs} runs escaped", fontsize=10)
        ax_hist.set_title(f"{left}: {mean}; full batch: never", fontsize=10)

    for artist in (paths, full_path, hist_b, hist_full, ax.title, ax_hist.title):
        artist.set_animated(True)
    return FigureWidget(fig, controls, update, columns=2)
