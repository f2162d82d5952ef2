"""Momentum in a valley: gradient descent and heavy-ball momentum on an ill-conditioned quadratic."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .. import landscapes as ls
from .controls import Control, by_name, resolve, widgets_for
from .frame import FigureWidget, join_curves, nice_bound

__all__ = ["CONTROLS", "MAP_LR", "MAP_BETA", "momentum_valley"]

CONTROLS = (
    Control("lr", "α (learning rate)", "float", 1.0, 0.01, 4.0, 0.01),
    Control("beta", "β (momentum)", "float", 0.5, 0.0, 0.99, 0.01),
    Control("kappa", "κ (condition number)", "float", 50.0, 1.0, 1000.0, 0.05, scale="log", digits=0),
    Control("steps", "steps", "int", 60, 1, 300, 1, digits=0),
    Control("start_x", "start x", "float", -1.2, -1.5, 1.5, 0.05),
    Control("start_y", "start y", "float", 0.8, -1.0, 1.0, 0.05),
    Control("nesterov", "Nesterov", "bool", False),
)
_C = by_name(CONTROLS)
MAP_LR = np.linspace(_C["lr"].low, _C["lr"].high, 121)  # the (alpha, beta) grid of the rate map
MAP_BETA = np.linspace(_C["beta"].low, _C["beta"].high, 100)


def momentum_valley(**values) -> FigureWidget:
    r"""Gradient descent and momentum in the valley :math:`f = (x^2/\kappa + y^2)/2`.

    Left: the valley's contours and both trajectories from one start. Middle: loss against
    iteration (log scale) with the rate theory predicts for each (dashed,
    :func:`dlcourse.landscapes.iteration_rate`) and the best momentum can do (dotted). Right: the
    rate over the :math:`(\alpha, \beta)` plane, the current setting (dot) and Polyak's optimum
    :math:`(\alpha^*, \beta^*)` (star, :func:`dlcourse.landscapes.optimal_momentum`).
    Controls (keyword arguments, defaults and ranges in :data:`CONTROLS`): ``lr``, ``beta``,
    ``kappa``, ``steps``, ``start_x``, ``start_y``, ``nesterov``.
    """
    values = resolve(CONTROLS, values)
    controls = widgets_for(CONTROLS, values, {"description_width": "70px"})

    fig = Figure(figsize=(11.0, 3.5), dpi=72, layout="constrained")
    ax_path, ax_loss, ax_map = fig.subplots(1, 3, width_ratios=[1.3, 1.0, 1.0])
    (contours,) = ax_path.plot([], [], color="0.75", lw=0.8)
    (gd_line,) = ax_path.plot([], [], ".-", color="tab:blue", lw=1, ms=3, label="gradient descent")
    (mom_line,) = ax_path.plot([], [], ".-", color="tab:orange", lw=1, ms=3, label="momentum")
    ax_path.plot([0], [0], "k+", ms=8)
    ax_path.set(xlim=(-1.6, 1.6), ylim=(-1.1, 1.1), xlabel="x (flat: 1/κ)", ylabel="y (steep: 1)")
    ax_path.legend(loc="lower right", fontsize=8)

    (gd_loss,) = ax_loss.semilogy([], [], color="tab:blue", label="gradient descent")
    (mom_loss,) = ax_loss.semilogy([], [], color="tab:orange", label="momentum")
    (gd_theory,) = ax_loss.semilogy([], [], "--", color="tab:blue", lw=0.8)
    (mom_theory,) = ax_loss.semilogy([], [], "--", color="tab:orange", lw=0.8)
    (best_theory,) = ax_loss.semilogy([], [], ":", color="k", lw=1, label="optimal α*, β*")
    ax_loss.set(xlabel="iteration", ylabel="loss / initial loss", ylim=(1e-12, 1e3))
    ax_loss.legend(loc="lower left", fontsize=8)

    rate_image = ax_map.imshow(
        np.zeros((2, 2)),
        origin="lower",
        aspect="auto",
        cmap="viridis_r",
        vmin=0.5,
        vmax=1.0,
        extent=(MAP_LR[0], MAP_LR[-1], MAP_BETA[0], MAP_BETA[-1]),
        interpolation="nearest",
    )
    fig.colorbar(rate_image, ax=ax_map, label="rate ρ per step (≥ 1: diverges)")
    (current,) = ax_map.plot([], [], "o", color="tab:orange", mec="k")
    (optimum,) = ax_map.plot([], [], "*", color="w", mec="k", ms=14)
    ax_map.set(xlabel="α (lr)", ylabel="β")

    def update(v: dict, changed: str | None) -> None:
        start = (v["start_x"], v["start_y"])
        gd = ls.gradient_descent_trajectory(start, v["lr"], v["steps"], v["kappa"])
        mom = ls.momentum_trajectory(start, v["lr"], v["beta"], v["steps"], v["kappa"], v["nesterov"])
        gd_line.set_data(gd[:, 0], gd[:, 1])
        mom_line.set_data(mom[:, 0], mom[:, 1])
        f0 = float(ls.valley_loss(start[0], start[1], v["kappa"]))
        if changed in (None, "kappa", "start_x", "start_y"):
            levels = f0 * 0.35 ** np.arange(10) if f0 > 0 else [0.01]
            contours.set_data(
                *join_curves(ls.quadratic_contours((0.0, 0.0), 1 / v["kappa"], 0.0, 1.0, levels))
            )
        if changed in (None, "kappa", "nesterov"):
            rate_image.set_data(
                ls.iteration_rate(MAP_LR[None, :], MAP_BETA[:, None], v["kappa"], v["nesterov"])
            )
        a_opt, b_opt, r_opt = ls.optimal_momentum(v["kappa"])
        optimum.set_data([a_opt], [b_opt])
        current.set_data([v["lr"]], [v["beta"]])
        t = np.arange(v["steps"] + 1)
        with np.errstate(over="ignore", invalid="ignore"):
            scale = 1.0 / f0 if f0 > 0 else 1.0
            gd_loss.set_data(t, ls.valley_loss(gd[:, 0], gd[:, 1], v["kappa"]) * scale)
            mom_loss.set_data(t, ls.valley_loss(mom[:, 0], mom[:, 1], v["kappa"]) * scale)
        r_gd = ls.iteration_rate(v["lr"], 0.0, v["kappa"])
        r_mom = ls.iteration_rate(v["lr"], v["beta"], v["kappa"], v["nesterov"])
        with np.errstate(over="ignore"):
            gd_theory.set_data(t, r_gd ** (2.0 * t))
            mom_theory.set_data(t, r_mom ** (2.0 * t))
            best_theory.set_data(t, r_opt ** (2.0 * t))
        ax_loss.set_xlim(0, nice_bound(v["steps"], _C["steps"].high))
        name = "Nesterov" if v["nesterov"] else "momentum"
        ax_path.set_title(f"κ = {v['kappa']:.0f}: gradient descent vs {name}", fontsize=10)
        ax_loss.set_title(f"rate ρ: GD {r_gd:.3f}, {name} {r_mom:.3f}, best {r_opt:.3f}", fontsize=10)
        ax_map.set_title(f"★ α* = {a_opt:.2f}, β* = {b_opt:.2f} (heavy ball)", fontsize=10)

    for artist in (
        contours,
        gd_line,
        mom_line,
        gd_loss,
        mom_loss,
        gd_theory,
        mom_theory,
        best_theory,
        rate_image,
        current,
        optimum,
        ax_path.title,
        ax_loss.title,
        ax_map.title,
        ax_loss.xaxis,  # its limits follow `steps`: redrawn with the data, no full redraw
    ):
        artist.set_animated(True)
    return FigureWidget(fig, controls, update)
