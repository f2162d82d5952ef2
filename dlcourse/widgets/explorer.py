"""The activation explorer: an activation, its slope, and what a deep random network does with it."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

from ..landscapes import deepnet as dn
from .controls import Control, link_enabled, resolve, widgets_for
from .frame import FigureWidget, nice_bound

__all__ = [
    "CONTROLS",
    "WIDTH",
    "BATCH",
    "SEED",
    "EDGES",
    "CURVE_X",
    "activation_explorer",
    "summary",
    "live_setup",
]

LABELS = ("sigmoid", "tanh", "ReLU", "leaky ReLU", "ELU", "PReLU")
CONTROLS = (
    Control("activation", "activation", "choice", "sigmoid", choices=dn.ACTIVATIONS, choice_labels=LABELS),
    Control(
        "init",
        "initialisation",
        "choice",
        "xavier",
        choices=dn.INITS,
        choice_labels=("N(0, 1)", "Xavier", "He"),
    ),
    Control("depth", "depth L", "int", 20, 1, 50, 1, digits=0),
    Control(
        "slope", "a (leaky ReLU)", "float", 0.01, 0.0, 0.5, 0.01, enabled_by=("activation", ("leaky_relu",))
    ),
    Control("alpha", "α (ELU)", "float", 1.0, 0.1, 2.0, 0.05, enabled_by=("activation", ("elu",))),
)
WIDTH, BATCH, SEED = 32, 32, 0  # units per layer, inputs in the batch, the network's seed
EDGES = np.linspace(-6.0, 6.0, 49)  # the pre-activation histogram's bins (plus a tail on each side)
CURVE_X = np.linspace(-4.0, 4.0, 161)  # where f and f' are drawn
_TAIL = 0.5  # width drawn for each tail bar
_LAYER_COLORS = ("tab:blue", "tab:orange", "tab:green")


def live_setup() -> dict:
    """What the browser's copy needs besides the controls: the network's size and seed, PReLU's
    starting slope, the saturation threshold and the width of the histogram's tail bars."""
    return {
        "width": WIDTH,
        "batch": BATCH,
        "seed": SEED,
        "prelu": dn.PRELU_INIT,
        "saturation": dn.SATURATION,
        "tail": _TAIL,
    }


def layer_ylim(lo: float, hi: float) -> tuple[float, float]:
    """The per-layer panel's log range for data from ``10**lo`` to ``10**hi``: whole pairs of
    decades, so that it changes only every few layers."""
    return 10.0 ** (2 * np.floor((lo - 0.01) / 2)), 10.0 ** (2 * np.ceil((hi + 0.01) / 2))


def hist_layers(depth: int) -> list[int]:
    """The layers whose pre-activations are shown: the first, the middle one and the last."""
    return sorted({1, (depth + 1) // 2, depth})


def summary(net: dict) -> dict:
    """The numbers the explorer states (the chapter's text quotes them for the default setting):
    the spread of the first and last pre-activations, the weight-gradient norms of the first and
    last layers and their ratio, and the last layer's saturated and dead fractions."""
    g, z = net["grad_norm"], net["z_std"]
    return {
        "z_std_first": float(z[0]),
        "z_std_last": float(z[-1]),
        "grad_first": float(g[0]),
        "grad_last": float(g[-1]),
        "grad_ratio": float(g[0] / g[-1]) if g[-1] > 0 else float("inf"),
        "saturated_last": float(net["saturated"][-1]),
        "dead_last": float(net["dead"][-1]),
    }


def network(v: dict) -> dict:
    """:func:`dlcourse.landscapes.deepnet.deep_network` for a setting of the controls."""
    return dn.deep_network(
        v["activation"], v["init"], v["depth"], v["slope"], v["alpha"], width=WIDTH, batch=BATCH, seed=SEED
    )


def hist_top(peak: float) -> float:
    """The histogram panel's upper limit for a highest bar of ``peak`` (a fraction): one of a
    few steps (:func:`~dlcourse.widgets.frame.nice_bound`), so that its axis is drawn once each."""
    return nice_bound(peak, 1.0) * 1.05


def _steps(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A step outline of the histogram with tails: x and y of its corners."""
    edges = np.concatenate([[EDGES[0] - _TAIL], EDGES, [EDGES[-1] + _TAIL]])
    return np.repeat(edges, 2)[1:-1], np.repeat(counts, 2)


def activation_explorer(**values) -> FigureWidget:
    r"""An activation :math:`f` and an initialisation in a deep random network
    (:func:`dlcourse.landscapes.deepnet.deep_network`: width :data:`WIDTH`, a batch of
    :data:`BATCH` inputs, seed :data:`SEED`).

    Top left: :math:`f` and :math:`f'`. Top right: the distribution of the pre-activations
    :math:`z_l` of the first, middle and last layers (the outer bars collect what lies beyond
    :math:`\pm 6`). Bottom left: per layer, the spread of :math:`z_l` and the norm of the weight
    gradient :math:`\|\partial\mathcal L/\partial W_l\|` (log scale; for PReLU also the slope's
    gradient). Bottom right: per layer, the fraction of saturated responses
    (:math:`f' < 1\%` of its maximum) and of dead units (saturated for every input).
    Controls (keyword arguments, defaults and ranges in :data:`CONTROLS`): ``activation``,
    ``init``, ``depth``, ``slope`` (leaky ReLU; PReLU starts at 0.25 and learns it), ``alpha`` (ELU).
    """
    values = resolve(CONTROLS, values)
    controls = widgets_for(CONTROLS, values, {"description_width": "90px"})
    link_enabled(CONTROLS, controls)

    fig = Figure(figsize=(9.5, 6.6), dpi=72, layout="constrained")
    (ax_f, ax_hist), (ax_layer, ax_dead) = fig.subplots(2, 2)
    ax_f.axhline(0.0, color="0.6", lw=0.5)
    ax_f.axvline(0.0, color="0.6", lw=0.5)
    (f_line,) = ax_f.plot([], [], color="tab:blue", lw=1.6, label="f(x)")
    (fp_line,) = ax_f.plot([], [], "--", color="tab:orange", lw=1.4, label="f′(x)")
    ax_f.set(xlim=(CURVE_X[0], CURVE_X[-1]), ylim=(-2.2, 4.2), xlabel="x")
    ax_f.legend(loc="upper left", fontsize=8)
    hist = [ax_hist.plot([], [], color=c, lw=1.3)[0] for c in _LAYER_COLORS]
    ax_hist.set(xlim=(EDGES[0] - _TAIL, EDGES[-1] + _TAIL), ylim=(0.0, 1.0), xlabel="pre-activation z")
    # The label is plain text, not the animated axis' own: a rotated text is the dearest to render.
    ax_hist.text(
        -0.1,
        0.5,
        "fraction of values per bin",
        rotation=90,
        ha="center",
        va="center",
        transform=ax_hist.transAxes,
    )
    for x in (EDGES[0], EDGES[-1]):
        ax_hist.axvline(x, color="0.6", lw=0.6, ls=":")
    (z_line,) = ax_layer.semilogy([], [], "o-", color="tab:blue", ms=3, lw=1.2, label="std of z_l")
    (g_line,) = ax_layer.semilogy([], [], "s-", color="tab:red", ms=3, lw=1.2, label="‖∂L/∂W_l‖")
    (a_line,) = ax_layer.semilogy([], [], ":", color="tab:purple", lw=1.4, label="|∂L/∂a_l| (PReLU)")
    ax_layer.set(xlabel="layer l", xlim=(0.5, 20.5), ylim=(1e-3, 1e3))
    ax_layer.legend(loc="lower right", fontsize=8)  # fixed: the legend is drawn once, in the background
    (sat_line,) = ax_dead.plot([], [], "o-", color="tab:orange", ms=3, lw=1.2, label="saturated responses")
    (dead_line,) = ax_dead.plot([], [], "s-", color="k", ms=3, lw=1.2, label="dead units")
    ax_dead.set(xlabel="layer l", ylabel="fraction", xlim=(0.5, 20.5), ylim=(-0.02, 1.22))
    ax_dead.legend(loc="upper center", fontsize=8, ncols=2)

    def update(v: dict, changed: str | None) -> None:
        name, depth = v["activation"], v["depth"]
        if changed in (None, "activation", "slope", "alpha"):
            f_line.set_data(CURVE_X, dn.activation(name, CURVE_X, v["slope"], v["alpha"]))
            fp_line.set_data(CURVE_X, dn.activation_slope(name, CURVE_X, v["slope"], v["alpha"]))
        net = network(v)
        s = summary(net)
        layers = np.arange(1, depth + 1)
        top = 0.0
        for line, l in zip(hist, hist_layers(depth) + [None] * 3):
            if l is None:
                line.set_data([], [])
                continue
            frac = dn.histogram_with_tails(net["pre"][l - 1], EDGES) / net["pre"][l - 1].size
            line.set_data(*_steps(frac))
            line.set_label(f"layer {l}")
            top = max(top, float(frac.max()))
        ax_hist.set_ylim(0.0, hist_top(top))
        z_line.set_data(layers, net["z_std"])
        g_line.set_data(layers, net["grad_norm"])
        a_line.set_data(*((layers, net["slope_grad"]) if name == "prelu" else ([], [])))
        shown = np.concatenate([net["z_std"], net["grad_norm"], net["slope_grad"] if name == "prelu" else []])
        shown = shown[np.isfinite(shown) & (shown > 0)]
        lo, hi = (np.log10(shown.min()), np.log10(shown.max())) if shown.size else (-1.0, 1.0)
        ax_layer.set_ylim(*layer_ylim(lo, hi))
        sat_line.set_data(layers, net["saturated"])
        dead_line.set_data(layers, net["dead"])
        for ax in (ax_layer, ax_dead):  # limits in steps, so that the axes are mostly redrawn from memory
            ax.set_xlim(0.5, nice_bound(depth, 50) + 0.5)
        label = LABELS[dn.ACTIVATIONS.index(name)]
        ax_f.set_title(f"{label}: max f′ = {dn.peak_slope(name, v['slope'], v['alpha']):g}", fontsize=10)
        names = ", ".join(f"layer {l}" for l in hist_layers(depth))
        ax_hist.set_title(f"z at {names} (blue, orange, green)", fontsize=10)
        ax_layer.set_title(
            f"‖∂L/∂W₁‖ / ‖∂L/∂W_L‖ = {s['grad_ratio']:.2e}; std z: {s['z_std_first']:.2g} → {s['z_std_last']:.2g}",
            fontsize=10,
        )
        ax_dead.set_title(
            f"layer {depth}: {s['saturated_last']:.2f} saturated, {s['dead_last']:.2f} dead", fontsize=10
        )

    # The animated axes (their limits follow the data) are drawn cheaply: plain-text powers of ten
    # rather than mathtext, at most seven of them and no minor ticks, and axis labels at fixed
    # places rather than placed around the ticks.
    ax_layer.yaxis.set_major_locator(LogLocator(numticks=7))
    ax_layer.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"1e{round(np.log10(v))}" if v > 0 else ""))
    ax_layer.yaxis.set_minor_locator(NullLocator())
    ax_layer.yaxis.set_label_coords(-0.1, 0.5)
    for ax in (ax_layer, ax_dead):
        ax.xaxis.set_label_coords(0.5, -0.1)
    animated = [f_line, fp_line, *hist, z_line, g_line, a_line, sat_line, dead_line]
    animated += [ax.title for ax in (ax_f, ax_hist, ax_layer, ax_dead)]
    animated += [ax_hist.yaxis, ax_layer.xaxis, ax_layer.yaxis, ax_dead.xaxis]
    for artist in animated:
        artist.set_animated(True)
    widget = FigureWidget(fig, controls, update, columns=3)
    for ax in (ax_layer, ax_dead):  # the depth axes' few ranges, drawn once here
        widget.prerender(ax.xaxis, sorted({(0.5, nice_bound(d, 50) + 0.5) for d in range(1, 51)}))
    # and the histogram's few heights (a highest bar holds at least one bin's share, 1 / bins)
    bins = len(EDGES) + 1
    widget.prerender(ax_hist.yaxis, sorted({(0.0, hist_top(p)) for p in np.linspace(1 / bins, 1.0, 400)}))
    return widget
