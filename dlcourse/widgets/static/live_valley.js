// Momentum in a valley, live: the view of dlcourse/widgets/valley.py drawn in SVG.
// Joined after live_compute.js and live_draw.js by dlcourse/widgets/live.py (so no imports here).

const VIRIDIS = [[68, 1, 84], [71, 45, 123], [59, 82, 139], [44, 114, 142], [33, 145, 140],
                 [40, 174, 128], [94, 201, 98], [173, 220, 48], [253, 231, 37]];

// viridis_r on [0.5, 1]: a fast rate is yellow, a rate >= 1 (divergence) dark purple.
function rateColor(rate) {
  const u = Math.min(1, Math.max(0, (1.0 - rate) / 0.5)) * 8;     // reversed map
  const i = Math.min(7, Math.floor(u)), f = u - i;
  return VIRIDIS[i].map((c, k) => Math.round(c + f * (VIRIDIS[i + 1][k] - c)));
}


function build(row, model) {
  const stepsMax = control(model, "steps").max;
  const map_lr = model.get("map_lr"), map_beta = model.get("map_beta");
  const pPath = makePanel(row, { label: "trajectories on the valley's contours", xlabel: "x (flat: 1/κ)",
                                 ylabel: "y (steep: 1)", xlim: [-1.6, 1.6], ylim: [-1.1, 1.1] });
  const pLoss = makePanel(row, { label: "loss against iteration, log scale", xlabel: "iteration",
                                 ylabel: "loss / initial loss", xlim: [0, 100], ylim: [1e-12, 1e3],
                                 ylog: true });
  const pMap = makePanel(row, { label: "rate per step over the (α, β) plane", xlabel: "α (lr)",
                                ylabel: "β", xlim: [map_lr[0], map_lr[map_lr.length - 1]],
                                ylim: [map_beta[0], map_beta[map_beta.length - 1]] });
  const contours = line(pPath, "dlc-contour");
  const gd = line(pPath, "dlc-a dlc-dots"), mom = line(pPath, "dlc-b dlc-dots");
  svgEl("path", { d: `M${pPath.x(0) - 5} ${pPath.y(0)}h10M${pPath.x(0)} ${pPath.y(0) - 5}v10`,
                  class: "dlc-mark" }, pPath.plot);
  const gdLoss = line(pLoss, "dlc-a"), momLoss = line(pLoss, "dlc-b");
  const gdTheory = line(pLoss, "dlc-a dlc-dashed"), momTheory = line(pLoss, "dlc-b dlc-dashed");
  const best = line(pLoss, "dlc-fg dlc-dotted");
  const fo = svgEl("foreignObject", { x: pMap.x(map_lr[0]), y: pMap.y(map_beta[map_beta.length - 1]),
                                      width: pMap.x(map_lr[map_lr.length - 1]) - pMap.x(map_lr[0]),
                                      height: pMap.y(map_beta[0]) - pMap.y(map_beta[map_beta.length - 1]) },
                   pMap.plot);
  const canvas = document.createElement("canvas");
  canvas.width = map_lr.length; canvas.height = map_beta.length;
  canvas.className = "dlc-map";
  fo.appendChild(canvas);
  const current = svgEl("circle", { r: 5, class: "dlc-b dlc-point" }, pMap.plot);
  const star = svgEl("text", { class: "dlc-star", "text-anchor": "middle" }, pMap.plot);
  star.textContent = "★";
  setText(pLoss.subtitle, ["solid: loss, dashed: theory, dotted: best α*, β*"]);
  setText(pMap.subtitle, ["colour: rate ρ, yellow 0.5 … dark ≥ 1 (diverges)"]);
  let mapKey = null;

  return (v) => {
    const start = [v.start_x, v.start_y], kappa = v.kappa, name = v.nesterov ? "Nesterov" : "momentum";
    const gdTraj = gradientDescentTrajectory(start, v.lr, v.steps, kappa);
    const momTraj = momentumTrajectory(start, v.lr, v.beta, v.steps, kappa, v.nesterov);
    gd.setAttribute("d", pathData(pPath, gdTraj));
    mom.setAttribute("d", pathData(pPath, momTraj));
    const f0 = valleyLoss(start[0], start[1], kappa);
    const levels = [];
    if (f0 > 0) for (let k = 0; k < 10; k++) levels.push(f0 * 0.35 ** k); else levels.push(0.01);
    contours.setAttribute("d", quadraticContours([0.0, 0.0], 1 / kappa, 0.0, 1.0, levels)
      .map((c) => pathData(pPath, c)).join(""));
    const key = `${kappa}|${v.nesterov}`;
    if (key !== mapKey) {                       // the rate map depends on kappa and Nesterov only
      const ctx = canvas.getContext("2d"), img = ctx.createImageData(canvas.width, canvas.height);
      for (let i = 0; i < map_beta.length; i++) {
        const rowIndex = map_beta.length - 1 - i;          // beta grows upwards
        for (let j = 0; j < map_lr.length; j++) {
          const [r, g, b] = rateColor(iterationRate(map_lr[j], map_beta[i], kappa, v.nesterov));
          const o = 4 * (rowIndex * map_lr.length + j);
          img.data[o] = r; img.data[o + 1] = g; img.data[o + 2] = b; img.data[o + 3] = 255;
        }
      }
      ctx.putImageData(img, 0, 0);
      mapKey = key;
    }
    const [aOpt, bOpt, rOpt] = optimalMomentum(kappa);
    star.setAttribute("x", pMap.x(aOpt)); star.setAttribute("y", pMap.y(bOpt) + 6);
    current.setAttribute("cx", pMap.x(v.lr)); current.setAttribute("cy", pMap.y(v.beta));
    const scale = f0 > 0 ? 1.0 / f0 : 1.0, n = v.steps + 1;
    const t = Float64Array.from({ length: n }, (_, i) => i);
    const lossOf = (traj) => t.map((i) => valleyLoss(traj[2 * i], traj[2 * i + 1], kappa) * scale);
    const rGd = iterationRate(v.lr, 0.0, kappa), rMom = iterationRate(v.lr, v.beta, kappa, v.nesterov);
    pLoss.setLimits([0, niceBound(v.steps, stepsMax)], [1e-12, 1e3]);
    gdLoss.setAttribute("d", pathData(pLoss, zip(t, lossOf(gdTraj))));
    momLoss.setAttribute("d", pathData(pLoss, zip(t, lossOf(momTraj))));
    gdTheory.setAttribute("d", pathData(pLoss, zip(t, t.map((i) => rGd ** (2.0 * i)))));
    momTheory.setAttribute("d", pathData(pLoss, zip(t, t.map((i) => rMom ** (2.0 * i)))));
    best.setAttribute("d", pathData(pLoss, zip(t, t.map((i) => rOpt ** (2.0 * i)))));
    setText(pPath.title, ["κ = ", ["kappa", kappa, 0], `: gradient descent vs ${name}`]);
    setText(pLoss.title, ["rate ρ: GD ", ["rate_gd", rGd, 3], `, ${name} `, ["rate_momentum", rMom, 3],
                          ", best ", ["rate_best", rOpt, 3]]);
    setText(pMap.title, ["★ α* = ", ["alpha_opt", aOpt, 2], ", β* = ", ["beta_opt", bOpt, 2],
                         " (heavy ball)"]);
    const last = 2 * v.steps;
    setText(pPath.subtitle, [{ swatch: "dlc-a" }, "GD, final loss ",
                             ["loss_gd", valleyLoss(gdTraj[last], gdTraj[last + 1], kappa), -2],
                             "  ", { swatch: "dlc-b" }, `${name} `,
                             ["loss_momentum", valleyLoss(momTraj[last], momTraj[last + 1], kappa), -2]]);
  };
}

export default {
  render({ model, el }) {
    return frame(model, el, "valley", (row) => build(row, model));
  },
};
