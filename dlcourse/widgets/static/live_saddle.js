// Batch size near a saddle, live: the view of dlcourse/widgets/saddle.py drawn in SVG.
// Joined after live_compute.js and live_draw.js by dlcourse/widgets/live.py (so no imports here).

const DOT = "fill: none; stroke-linecap: round; stroke-width: 3.2";

function build(row, model) {
  const N_EXAMPLES = model.get("n_examples"), START_X = model.get("start_x");
  const THRESHOLD = model.get("threshold"), QS = model.get("quantiles");
  const bs = control(model, "batch_size"), offsets = control(model, "y0");
  const BATCHES = bs.choices, STEPS_MAX = control(model, "steps").max, RUNS_MAX = control(model, "runs").max;
  const nB = BATCHES.length, last = nB - 1;
  const pPath = makePanel(row, { label: "mini-batch SGD runs on the saddle's contours", xlabel: "x (stable)",
                                 ylabel: "y (unstable)", xlim: [-2.0, 2.0], ylim: [-1.6, 1.6], width: 360 });
  const pEsc = makePanel(row, { label: "escape step of every run against the batch size", xlabel: "batch size B",
                                ylabel: "escape step", xlim: [-0.6, nB - 0.4], ylim: [0, 1],
                                xticks: BATCHES.map((b, i) => [i, b === N_EXAMPLES ? "all" : String(b)]) });
  const lines = model.get("contours").map((l) => pathData(pPath, l.flat())).join("");
  svgEl("path", { d: lines, class: "dlc-contour", fill: "none" }, pPath.plot);
  for (const y of [THRESHOLD, -THRESHOLD]) {
    svgEl("line", { x1: pPath.x(-2), x2: pPath.x(2), y1: pPath.y(y), y2: pPath.y(y), class: "dlc-contour dlc-dotted" }, pPath.plot);
  }
  const runsPath = line(pPath, "dlc-b dlc-thin"), fullPath = line(pPath, "dlc-a");
  const start = svgEl("rect", { width: 6, height: 6, class: "dlc-point" }, pPath.plot);
  for (const y of [1, -1]) {
    const s = svgEl("text", { x: pPath.x(0), y: pPath.y(y) + 5, class: "dlc-star", "text-anchor": "middle" }, pPath.plot);
    s.textContent = "★";
  }
  const band = svgEl("rect", { style: "fill: var(--dlc-line); opacity: 0.35" }, pEsc.plot);
  const bandText = svgEl("text", { class: "dlc-ticklabel" }, pEsc.plot);
  const exact = line(pEsc, "dlc-a dlc-dashed");
  const dots = svgEl("path", { style: `stroke: var(--dlc-muted); ${DOT}` }, pEsc.plot);
  const chosen = svgEl("path", { class: "dlc-b", style: DOT }, pEsc.plot);
  const spread = line(pEsc, "dlc-fg"), medians = svgEl("path", { class: "dlc-fg", style: "fill: none; stroke-width: 2.4" }, pEsc.plot);
  setText(pEsc.subtitle, ["● runs  ", { swatch: "dlc-b" }, "chosen B  ━ median, │ quartiles  ",
                          { swatch: "dlc-a" }, "exact GD from y₀"]);
  const means = new Map();                       // batch size -> every step's batch means
  const meansFor = (b) => {
    if (!means.has(b)) means.set(b, saddleBatchMeans(b, STEPS_MAX, RUNS_MAX, N_EXAMPLES, 0));
    return means.get(b);
  };

  return (v) => {
    const b = v.batch_size, runs = v.runs, steps = v.steps, y0 = v.y0, startXY = [START_X, y0];
    const k = BATCHES.indexOf(b);
    const top = niceBound(steps, STEPS_MAX), bandY = top * 1.08;
    pEsc.setLimits([-0.6, nB - 0.4], [0.0, top * 1.16]);
    let dotsD = "", chosenD = "", spreadD = "", mediansD = "", q = null, fullEsc = Infinity;
    for (let i = 0; i < nB; i++) {
      const traj = saddleDescent(meansFor(BATCHES[i]), STEPS_MAX, runs, steps, v.lr, startXY);
      const esc = escapeSteps(traj, runs, steps, THRESHOLD);
      let d = "";
      for (let r = 0; r < runs; r++) {
        const x = i + (runs > 1 ? -0.3 + (0.6 * r) / (RUNS_MAX - 1) : 0.0);
        const y = Number.isFinite(esc[r]) ? esc[r] : bandY;
        d += `M${pEsc.x(x).toFixed(1)} ${pEsc.y(y).toFixed(1)}h0.01`;
      }
      dotsD += d;
      const qi = escapeQuantiles(esc, QS).map((value) => Math.min(value, bandY));
      spreadD += `M${pEsc.x(i).toFixed(1)} ${pEsc.y(qi[0]).toFixed(1)}V${pEsc.y(qi[2]).toFixed(1)}`;
      mediansD += `M${pEsc.x(i - 0.22).toFixed(1)} ${pEsc.y(qi[1]).toFixed(1)}H${pEsc.x(i + 0.22).toFixed(1)}`;
      if (i === k) {
        chosenD = d;
        q = { esc, median: escapeQuantiles(esc, QS)[1] };
        let p = "";
        for (let r = 0; r < runs; r++) p += pathData(pPath, traj.subarray(2 * r * (steps + 1), 2 * (r + 1) * (steps + 1)));
        runsPath.setAttribute("d", p);
      }
      if (i === last) {
        fullEsc = esc[0];
        fullPath.setAttribute("d", pathData(pPath, traj.subarray(0, 2 * (steps + 1))));
      }
    }
    dots.setAttribute("d", dotsD);
    chosen.setAttribute("d", chosenD);
    spread.setAttribute("d", spreadD);
    medians.setAttribute("d", mediansD);
    start.setAttribute("x", pPath.x(START_X) - 3); start.setAttribute("y", pPath.y(y0) - 3);
    const yb0 = pEsc.y(top * 1.14), yb1 = pEsc.y(top * 1.02);
    band.setAttribute("x", pEsc.x(-0.6)); band.setAttribute("width", pEsc.x(nB - 0.4) - pEsc.x(-0.6));
    band.setAttribute("y", yb0); band.setAttribute("height", yb1 - yb0);
    bandText.setAttribute("x", pEsc.x(-0.5)); bandText.setAttribute("y", pEsc.y(bandY) + 3);
    bandText.textContent = `not within ${steps} steps`;
    const gd = escapeEstimate(y0, v.lr, THRESHOLD);
    exact.setAttribute("d", gd <= bandY ? `M${pEsc.x(-0.6)} ${pEsc.y(gd).toFixed(1)}H${pEsc.x(nB - 0.4)}` : "");
    const escaped = Array.from(q.esc).filter(Number.isFinite).length;
    setText(pPath.title, ["B = ", ["batch_size", b, 0], b === N_EXAMPLES ? " (full batch)" : "", ": ",
                          ["escaped", escaped, 0], "/", ["runs", runs, 0], " runs escaped, median step ",
                          ...(Number.isFinite(q.median) ? [["median", q.median, 1]] : ["never"])]);
    setText(pPath.subtitle, [{ swatch: "dlc-b" }, "mini-batch runs  ", { swatch: "dlc-a" }, "full batch  ★ minima"]);
    const label = offsets.labels[offsets.choices.indexOf(y0)];
    setText(pEsc.title, [`y₀ = ${label}: full batch `,
                         ...(Number.isFinite(fullEsc) ? ["escapes at step ", ["full_escape", fullEsc, 0]] : ["never escapes"]),
                         ...(Number.isFinite(gd) ? [" (≈ ", ["gd_estimate", gd, 0], ")"] : [" (stays on the saddle)"])]);
  };
}

export default {
  render({ model, el }) {
    return frame(model, el, "saddle", (row) => build(row, model));
  },
};
