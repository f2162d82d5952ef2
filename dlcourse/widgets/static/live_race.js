// The optimizer race, live: the view of dlcourse/widgets/race.py drawn in SVG.
// Joined after live_compute.js, live_compute_race.js and live_draw.js by dlcourse/widgets/live.py.

function build(row, model) {
  const setup = model.get("setup"), sweep = model.get("sweep"), floor = model.get("floor");
  const racers = model.get("racers"), box = model.get("box"), minimizers = model.get("minimizers");
  const contourLines = model.get("contours");
  const stepsMax = control(model, "steps").max;
  const surfaceLabels = control(model, "surface").labels, surfaces = control(model, "surface").choices;
  const pPath = makePanel(row, { label: "the optimizers' paths on the surface's contours", xlabel: "x",
                                 ylabel: "y", xlim: box[0], ylim: box[1], width: 300, height: 300 });
  const pLoss = makePanel(row, { label: "gap to the minimum against the step, log scale", xlabel: "step",
                                 ylabel: "f − f* (log)", xlim: [0, 100], ylim: [floor, 1e4], ylog: true });
  const pSweep = makePanel(row, { label: "final gap for each learning rate of the sweep",
                                  xlabel: "learning rate η", ylabel: "final f − f*", xlim: [5e-5, 20.0],
                                  ylim: [floor, 1e4], xlog: true, ylog: true });
  const table = svgEl("svg", { viewBox: "0 0 330 250", role: "img", class: "dlc-panel",
                               "aria-label": "the rate each optimizer runs with and its final gap" }, row);
  const tableTitle = svgEl("text", { x: 8, y: 16, class: "dlc-title" }, table);
  svgEl("text", { x: 8, y: 36, class: "dlc-label dlc-mono" }, table).textContent = "optimizer   η used     final f − f*";
  const contours = line(pPath, "dlc-contour"), marks = svgEl("path", { class: "dlc-mark" }, pPath.plot);
  const start = svgEl("rect", { width: 6, height: 6, class: "dlc-point" }, pPath.plot);
  const lines = {};
  racers.forEach(({ name, label, color }, i) => {
    const stroke = { stroke: color, "stroke-width": 1.3, fill: "none" };
    lines[name] = {
      path: svgEl("path", stroke, pPath.plot),
      gap: svgEl("path", stroke, pLoss.plot),
      sweep: svgEl("path", { ...stroke, "stroke-width": 1 }, pSweep.plot),
      best: svgEl("circle", { r: 4, fill: color, class: "dlc-point" }, pSweep.plot),
      row: svgEl("text", { x: 8, y: 58 + 23 * i, class: "dlc-mono", style: `fill: ${color}` }, table),
      label,
    };
  });
  const runs = new Map();                       // surface|optimizer|lr -> {path, gap}, stepsMax steps
  const run = (surface, name, lr) => {
    const key = `${surface}|${name}|${lr}`;
    if (!runs.has(key)) {
      const path = racePath(surface, name, lr, stepsMax, setup);
      runs.set(key, { path, gap: lossGap(surface, path, setup) });
    }
    return runs.get(key);
  };
  const sweepGaps = (surface, name) => sweep.map((lr) => run(surface, name, lr).gap);
  // The sweeps of the other surfaces are run while the reader reads, so that switching is instant.
  const idle = surfaces.map((s) => () => racers.forEach(({ name }) => sweepGaps(s, name)));
  const later = () => { if (idle.length) { idle.shift()(); setTimeout(later, 0); } };
  setTimeout(later, 50);
  const contourPaths = new Map();
  const floored = (gap, n) => Float64Array.from(gap.subarray(0, n), (g) => (g > floor ? g : floor));

  return (v) => {
    const surface = v.surface, steps = v.steps, n = steps + 1;
    if (!contourPaths.has(surface)) {
      contourPaths.set(surface, contourLines[surface].map((l) => pathData(pPath, l.flat())).join(""));
    }
    contours.setAttribute("d", contourPaths.get(surface));
    marks.setAttribute("d", minimizers[surface].map(([x, y]) =>
      `M${pPath.x(x) - 5} ${pPath.y(y) - 5}l10 10m0 -10l-10 10`).join(""));
    const [sx, sy] = setup.start[surface];
    start.setAttribute("x", pPath.x(sx) - 3); start.setAttribute("y", pPath.y(sy) - 3);
    pLoss.setLimits([0, niceBound(steps, stepsMax)], [floor, 1e4]);
    const t = Float64Array.from({ length: n }, (_, i) => i);
    for (const { name } of racers) {
      const L = lines[name], on = v[`on_${name}`];
      let lr = v[`lr_${name}`], finals = null, best = 0;
      if (v.tune) {
        finals = sweepGaps(surface, name).map((gap) => gap[steps]);
        best = bestRate(finals);
        lr = sweep[best];
      }
      const { path, gap } = run(surface, name, lr);
      L.path.setAttribute("d", on ? pathData(pPath, path.subarray(0, 2 * n)) : "");
      L.gap.setAttribute("d", on ? pathData(pLoss, zip(t, floored(gap, n))) : "");
      if (finals && on) {
        const shown = floored(Float64Array.from(finals), finals.length);
        L.sweep.setAttribute("d", pathData(pSweep, zip(sweep, shown)));
        L.best.setAttribute("cx", pSweep.x(sweep[best])); L.best.setAttribute("cy", pSweep.y(shown[best]));
        L.best.setAttribute("visibility", "visible");
      } else {
        L.sweep.setAttribute("d", ""); L.best.setAttribute("visibility", "hidden");
      }
      setText(L.row, on ? [L.label.padEnd(11, " "), [`lr_${name}_used`, lr, -2], "   ",
                           [`gap_${name}`, gap[steps], -3]]
                        : [L.label.padEnd(11, " "), "(off)"]);
    }
    const label = surfaceLabels[surfaces.indexOf(surface)];
    setText(pPath.title, [`${label}: paths from the square`]);
    setText(pLoss.title, ["gap to the minimum f* = ", ["minimum", setup.minimum[surface], 2], ", ",
                          ["steps", steps, 0], " steps"]);
    setText(pSweep.title, [v.tune ? "the sweep: final gap per η (● best)" : "tune is off: the sliders' η"]);
    setText(tableTitle, [v.tune ? "each at its best η of the sweep" : "each at its slider's η"]);
  };
}

export default {
  render({ model, el }) {
    return frame(model, el, "race", (row) => build(row, model));
  },
};
