// L1 versus L2, live: the view of dlcourse/_widget_l1l2.py drawn in SVG.
// Joined after live_compute.js and live_draw.js by dlcourse/widgets/live.py (so no imports here).


function build(row, model) {
  const levels = model.get("levels");      // the loss contours drawn
  const G = model.get("gram"), c = model.get("corr"), eta = model.get("eta");
  const lams = model.get("lams"), paths = { lasso: model.get("lasso"), ridge: model.get("ridge") };
  const relevant = model.get("relevant"), d = c.length;
  const pBall = makePanel(row, { label: "loss contours, the L1 diamond and the L2 disc", xlabel: "w₁",
                                 ylabel: "w₂", xlim: [-3.3, 3.3], ylim: [-3.3, 3.3], width: 300, height: 300 });
  for (const [x1, y1, x2, y2] of [[-3.3, 0, 3.3, 0], [0, -3.3, 0, 3.3]]) {
    svgEl("line", { x1: pBall.x(x1), y1: pBall.y(y1), x2: pBall.x(x2), y2: pBall.y(y2), class: "dlc-axis" }, pBall.plot);
  }
  const contours = line(pBall, "dlc-contour");
  const diamond = svgEl("path", { class: "dlc-region-l1" }, pBall.plot);
  const disc = svgEl("circle", { class: "dlc-region-l2" }, pBall.plot);
  const touchL1 = line(pBall, "dlc-b dlc-dashed"), touchL2 = line(pBall, "dlc-a dlc-dashed");
  const optMark = line(pBall, "dlc-fg");
  const solL1 = svgEl("circle", { r: 5, class: "dlc-b dlc-point" }, pBall.plot);
  const solL2 = svgEl("circle", { r: 5, class: "dlc-a dlc-point" }, pBall.plot);
  setText(pBall.subtitle, [{ swatch: "dlc-b" }, "L1 ball  ", { swatch: "dlc-a" }, "L2 ball  × unregularized"]);
  const side = {};
  for (const [key, name] of [["lasso", "lasso (L1)"], ["ridge", "ridge (L2)"]]) {
    const p = makePanel(row, { label: `${name} coefficient paths against λ`, xlabel: "λ", ylabel: "coefficient",
                               xlim: [1e-3, 5.0], ylim: [-2.8, 3.4], xlog: true });
    for (let j = d - 1; j >= 0; j--) {
      const ys = paths[key].map((w) => w[j]);
      line(p, j < relevant ? ["dlc-b", "dlc-c", "dlc-d", "dlc-a"][j % 4] : "dlc-contour")
        .setAttribute("d", pathData(p, zip(lams, ys)));
    }
    const vline = svgEl("line", { y1: p.y(3.4), y2: p.y(-2.8), class: "dlc-fg dlc-dotted" }, p.plot);
    const dots = svgEl("path", { class: "dlc-fg", "stroke-width": 4, "stroke-linecap": "round" }, p.plot);
    setText(p.subtitle, [`${relevant} of ${d} features matter (coloured)`]);
    side[key] = { p, vline, dots, name };
  }

  return (v) => {
    const opt = [v.opt_x, v.opt_y], rho = v.rho, t = v.budget;
    contours.setAttribute("d", quadraticContours(opt, 1.0, rho, 1.0, levels).map((k) => pathData(pBall, k)).join(""));
    optMark.setAttribute("d", `M${pBall.x(opt[0]) - 4} ${pBall.y(opt[1]) - 4}l8 8m0 -8l-8 8`);
    diamond.setAttribute("d", pathData(pBall, [t, 0, 0, t, -t, 0, 0, -t]) + "Z");
    disc.setAttribute("cx", pBall.x(0)); disc.setAttribute("cy", pBall.y(0));
    disc.setAttribute("r", pBall.x(t) - pBall.x(0));
    const w1 = l1BallSolution(opt, rho, t), w2 = l2BallSolution(opt, rho, t);
    for (const [dot, touch, w] of [[solL1, touchL1, w1], [solL2, touchL2, w2]]) {
      dot.setAttribute("cx", pBall.x(w[0])); dot.setAttribute("cy", pBall.y(w[1]));
      const level = quadratic2Loss(w[0], w[1], opt, rho);
      touch.setAttribute("d", pathData(pBall, quadraticContours(opt, 1.0, rho, 1.0, [level])[0]));
    }
    setText(pBall.title, ["L1: (", ["l1_w1", w1[0], 2], ", ", ["l1_w2", w1[1], 2], ") zeros: ",
                          ["l1_zeros", countZeros(w1), 0], "   L2: (", ["l2_w1", w2[0], 2], ", ",
                          ["l2_w2", w2[1], 2], ") zeros: ", ["l2_zeros", countZeros(w2), 0]]);
    const i = nearestIndex(lams, v.lam);
    const at = { lasso: lassoAt(G, c, eta, v.lam, paths.lasso[i]), ridge: ridgeAt(G, c, v.lam) };
    for (const key of ["lasso", "ridge"]) {
      const { p, vline, dots, name } = side[key], x = p.x(v.lam);
      vline.setAttribute("x1", x); vline.setAttribute("x2", x);
      dots.setAttribute("d", Array.from(at[key], (w) => `M${x.toFixed(1)} ${p.y(w).toFixed(1)}h0`).join(""));
      setText(p.title, [`${name}: `, [`${key}_zeros`, countZeros(at[key]), 0], ` of ${d} weights exactly 0`]);
    }
  };
}

export default {
  render({ model, el }) {
    return frame(model, el, "l1l2", (row) => build(row, model));
  },
};
