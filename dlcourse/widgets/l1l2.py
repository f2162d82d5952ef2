"""L1 versus L2: the diamond's corners give exact zeros, the circle does not."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .. import landscapes as ls
from .controls import Control, by_name, resolve, widgets_for
from .frame import FigureWidget, join_curves

__all__ = ["CONTROLS", "LAMS", "LEVELS", "l1_vs_l2"]

CONTROLS = (
    Control("budget", "budget t", "float", 1.0, 0.1, 3.0, 0.05),
    Control("opt_x", "optimum w₁*", "float", 2.0, -3.0, 3.0, 0.05),
    Control("opt_y", "optimum w₂*", "float", 0.6, -3.0, 3.0, 0.05),
    Control("rho", "correlation ρ", "float", 0.3, -0.9, 0.9, 0.05),
    Control("lam", "λ (paths)", "float", 0.3, 1e-3, 5.0, 0.05, scale="log", digits=2, format="precision"),
)
_LAM = by_name(CONTROLS)["lam"]
LAMS = np.logspace(np.log10(_LAM.high), np.log10(_LAM.low), 60)  # large to small: warm starts
LEVELS = np.array([0.05, 0.25, 0.75, 1.5, 3.0, 6.0])  # the loss contours drawn


def l1_vs_l2(**values) -> FigureWidget:
    r"""Two weights under an L1 or an L2 budget, and lasso versus ridge paths.

    Left: contours of :math:`q(w) = \tfrac12 (w - w^*)^\top A (w - w^*)`, :math:`A = [[1, \rho],
    [\rho, 1]]`, the diamond :math:`\|w\|_1 \le t` and the disc :math:`\|w\|_2 \le t`, and the
    two constrained minimizers (:func:`dlcourse.landscapes.l1_ball_solution`, ``l2_ball_solution``)
    with the contour each touches. Middle and right: the coefficients of a 20-feature regression
    where 4 matter (:func:`dlcourse.landscapes.sparse_regression`) against :math:`\lambda`, under
    the lasso (ISTA) and ridge, with the weights and the count of exact zeros at ``lam``.
    Controls (keyword arguments, defaults and ranges in :data:`CONTROLS`): ``budget``, ``opt_x``,
    ``opt_y`` (the unregularized optimum), ``rho``, ``lam``.
    """
    values = resolve(CONTROLS, values)
    controls = widgets_for(CONTROLS, values, {"description_width": "80px"})

    X, y, w_true = ls.sparse_regression()
    lasso, ridge = ls.lasso_path(X, y, LAMS), ls.ridge_path(X, y, LAMS)
    colors = ["tab:red", "tab:green", "tab:purple", "tab:brown"] + ["0.7"] * (len(w_true) - 4)

    fig = Figure(figsize=(11.0, 3.6), dpi=72, layout="constrained")
    ax, ax_lasso, ax_ridge = fig.subplots(1, 3, width_ratios=[1.1, 1.0, 1.0])
    theta = np.linspace(0.0, 2.0 * np.pi, 129)
    circle_x, circle_y = np.cos(theta), np.sin(theta)
    diamond_x, diamond_y = np.array([1.0, 0.0, -1.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0, -1.0, 0.0])
    (contours,) = ax.plot([], [], color="0.75", lw=0.8)
    (diamond,) = ax.plot([], [], color="tab:orange", lw=1.5, label="L1 ball")
    (circle,) = ax.plot([], [], color="tab:blue", lw=1.5, label="L2 ball")
    (touch_l1,) = ax.plot([], [], color="tab:orange", lw=0.8, ls="--")
    (touch_l2,) = ax.plot([], [], color="tab:blue", lw=0.8, ls="--")
    (opt_mark,) = ax.plot([], [], "kx", ms=8, label="unregularized")
    (sol_l1,) = ax.plot([], [], "o", color="tab:orange", mec="k", ms=8)
    (sol_l2,) = ax.plot([], [], "o", color="tab:blue", mec="k", ms=8)
    ax.axhline(0.0, color="0.5", lw=0.5)
    ax.axvline(0.0, color="0.5", lw=0.5)
    ax.set(xlim=(-3.3, 3.3), ylim=(-3.3, 3.3), aspect="equal", xlabel="w₁", ylabel="w₂")
    ax.legend(loc="lower left", fontsize=8)

    markers = []
    for axis, path in ((ax_lasso, lasso), (ax_ridge, ridge)):
        for j in range(path.shape[1]):
            axis.plot(LAMS, path[:, j], color=colors[j], lw=1.2 if j < 4 else 0.8)
        axis.set(xscale="log", xlabel="λ", ylabel="coefficient", xlim=(_LAM.low, _LAM.high), ylim=(-2.8, 3.4))
        vline = axis.axvline(values["lam"], color="k", lw=0.8, ls=":")
        (dots,) = axis.plot([], [], "o", color="k", ms=3)
        markers.append((vline, dots))

    def update(v: dict, changed: str | None) -> None:
        t, opt, r = v["budget"], (v["opt_x"], v["opt_y"]), v["rho"]
        if changed in (None, "opt_x", "opt_y", "rho"):
            contours.set_data(*join_curves(ls.quadratic_contours(opt, 1.0, r, 1.0, LEVELS)))
            opt_mark.set_data([opt[0]], [opt[1]])
        diamond.set_data(t * diamond_x, t * diamond_y)
        circle.set_data(t * circle_x, t * circle_y)
        w1, w2 = ls.l1_ball_solution(opt, r, t), ls.l2_ball_solution(opt, r, t)
        sol_l1.set_data([w1[0]], [w1[1]])
        sol_l2.set_data([w2[0]], [w2[1]])
        for line, w in ((touch_l1, w1), (touch_l2, w2)):
            level = float(ls.quadratic2_loss(w[0], w[1], opt, r))
            line.set_data(*join_curves(ls.quadratic_contours(opt, 1.0, r, 1.0, [level])))
        ax.set_title(
            f"L1: ({w1[0]:.2f}, {w1[1]:.2f}) zeros: {int((w1 == 0).sum())}   "
            f"L2: ({w2[0]:.2f}, {w2[1]:.2f}) zeros: {int((w2 == 0).sum())}",
            fontsize=10,
        )
        if changed in (None, "lam"):
            i = int(np.argmin(np.abs(np.log(LAMS) - np.log(v["lam"]))))
            at_lam = (ls.lasso_path(X, y, [v["lam"]], w0=lasso[i])[0], ls.ridge_path(X, y, [v["lam"]])[0])
            for axis, (vline, dots), w, name in zip(
                (ax_lasso, ax_ridge), markers, at_lam, ("lasso (L1)", "ridge (L2)")
            ):
                vline.set_xdata([v["lam"], v["lam"]])
                dots.set_data(np.full(w.shape, v["lam"]), w)
                axis.set_title(f"{name}: {int(ls.count_zeros(w))} of {w.size} weights exactly 0", fontsize=10)

    for artist in (
        contours,
        diamond,
        circle,
        touch_l1,
        touch_l2,
        opt_mark,
        sol_l1,
        sol_l2,
        ax.title,
        ax_lasso.title,
        ax_ridge.title,
        *[a for m in markers for a in m],
    ):
        artist.set_animated(True)
    return FigureWidget(fig, controls, update)
