// Batch size near a saddle, live: the view of dlcourse/_widget_saddle.py drawn in SVG.
// Joined after live_compute.js and live_draw.js by dlcourse/widgets/live.py (so no imports here).

function build(row, model) {
  const N_EXAMPLES = model.get("n_examples"), START = model.get("start"), BINS = model.get("bins");
  const STEPS_MAX = control(model, "steps").max, RUNS_MAX = control(model, "runs").max;
  const pPath = makePanel(row, { label: "mini-batch SGD runs on the saddle's contours", xlabel: "x (stable)",
                                 ylabel: "y (unstable)", xlim: [-2.0, 2.0], ylim: [-1.6, 1.6], width: 360 });
  const pHist = makePanel(row, { label: "distribution of escape steps", xlabel: "escape step (last bar: never)",
                                 ylabel: "runs", xlim: [0, 1], ylim: [0, 1] });
  const lines = model.get("contours").map((l) => pathData(pPath, l.flat())).join("");
  svgEl("path", { d: lines, class: "dlc-contour", fill: "none" }, pPath.plot);
  for (const y of [0.5, -0.5]) {
    svgEl("line", { x1: pPath.x(-2), x2: pPath.x(2), y1: pPath.y(y), y2: pPath.y(y), class: "dlc-contour dlc-dotted" }, pPath.plot);
  }
  const runsPath = line(pPath, "dlc-b dlc-thin"), fullPath = line(pPath, "dlc-a");
  svgEl("rect", { x: pPath.x(START[0]) - 3, y: pPath.y(START[1]) - 3, width: 6, height: 6, class: "dlc-point" }, pPath.plot);
  for (const y of [1, -1]) {
    const s = svgEl("text", { x: pPath.x(0), y: pPath.y(y) + 5, class: "dlc-star", "text-anchor": "middle" }, pPath.plot);
    s.textContent = "★";
  }
  const bars = svgEl("path", { class: "dlc-bar-a" }, pHist.plot), stairs = line(pHist, "dlc-bar-b");
  const means = new Map();                       // batch size -> every step's batch means
  const meansFor = (b) => {
    if (!means.has(b)) means.set(b, saddleBatchMeans(b, STEPS_MAX, RUNS_MAX, N_EXAMPLES, 0));
    return means.get(b);
  };

  return (v) => {
    const b = v.batch_size, runs = v.runs, steps = v.steps;
    const traj = saddleDescent(meansFor(b), STEPS_MAX, runs, steps, v.lr, START);
    const full = saddleDescent(meansFor(N_EXAMPLES), STEPS_MAX, 1, steps, v.lr, START);
    let d = "";
    for (let r = 0; r < runs; r++) d += pathData(pPath, traj.subarray(2 * r * (steps + 1), 2 * (r + 1) * (steps + 1)));
    runsPath.setAttribute("d", d);
    fullPath.setAttribute("d", pathData(pPath, full));
    const esc = escapeSteps(traj, runs, steps), escFull = escapeSteps(full, 1, steps);
    const hist = escapeHistogram(esc, steps, STEPS_MAX, BINS);
    const histFull = escapeHistogram(new Float64Array(runs).fill(escFull[0]), steps, STEPS_MAX, BINS);
    const top = hist.top;
    pHist.setLimits([0.0, top * 1.12], [0.0, niceBound(runs, RUNS_MAX) * 1.05]);
    const e = hist.edges, y0 = pHist.y(0);
    bars.setAttribute("d", hist.counts.map((n, i) => (n > 0 ? `M${pHist.x(e[i]).toFixed(1)} ${y0}V${pHist.y(n).toFixed(1)}H${pHist.x(e[i + 1]).toFixed(1)}V${y0}Z` : "")).join(""));
    stairs.setAttribute("d", `M${pHist.x(e[0])} ${y0}` + histFull.counts.map((n, i) =>
      `V${pHist.y(n).toFixed(1)}H${pHist.x(e[i + 1]).toFixed(1)}`).join("") + `V${y0}`);
    const finite = Array.from(esc).filter(Number.isFinite);
    const fullEscaped = Array.from(escFull).filter(Number.isFinite).length;
    setText(pPath.title, ["B = ", ["batch_size", b, 0], b === N_EXAMPLES ? " (full batch)" : "", ": ",
                          ["escaped", finite.length, 0], "/", ["runs", runs, 0], " runs escaped"]);
    setText(pPath.subtitle, [{ swatch: "dlc-b" }, "mini-batch runs  ", { swatch: "dlc-a" }, "full batch  ★ minima"]);
    const mean = finite.length ? ["mean escape step ", ["mean_escape", finite.reduce((s, x) => s + x, 0) / finite.length, 1]]
      : ["no run escaped"];
    setText(pHist.title, [`B = ${b}: `, ...mean, "; full batch: ", fullEscaped ? "escaped" : "never"]);
    setText(pHist.subtitle, ["escape: |y| ≥ 0.5; bins to ", ["top", top, 0],
                             "; full batch: ", ["full_escaped", fullEscaped, 0], " of 1 escaped"]);
  };
}

export default {
  render({ model, el }) {
    return frame(model, el, "saddle", (row) => build(row, model));
  },
};
