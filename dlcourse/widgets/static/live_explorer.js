// The activation explorer, live: the view of dlcourse/widgets/explorer.py drawn in SVG.
// Joined after live_compute.js, live_compute_explorer.js and live_draw.js by dlcourse/widgets/live.py.

const LAYER_CLASSES = ["dlc-a", "dlc-b", "dlc-c"];

// explorer.hist_layers: the first, the middle and the last layer.
function histLayers(depth) {
  return [...new Set([1, Math.floor((depth + 1) / 2), depth])].sort((a, b) => a - b);
}

// explorer.summary
function summary(net) {
  const g = net.grad_norm, z = net.z_std, last = g.length - 1;
  return { z_std_first: z[0], z_std_last: z[last], grad_first: g[0], grad_last: g[last],
           grad_ratio: g[last] > 0 ? g[0] / g[last] : Infinity,
           saturated_last: net.saturated[last], dead_last: net.dead[last] };
}

function build(row, model) {
  const setup = model.get("setup"), edges = model.get("edges"), xs = model.get("curve_x");
  const { width, batch, seed, prelu, saturation, tail } = setup;
  const depthMax = control(model, "depth").max, labels = control(model, "activation").labels;
  const names = control(model, "activation").choices;
  const draws = networkDraws(depthMax, width, batch, seed);
  const ends = [edges[0] - tail, ...edges, edges[edges.length - 1] + tail];
  const pF = makePanel(row, { label: "the activation and its derivative", xlabel: "x", ylabel: "",
                              xlim: [xs[0], xs[xs.length - 1]], ylim: [-2.2, 4.2] });
  const pHist = makePanel(row, { label: "distribution of the pre-activations of three layers",
                                 xlabel: "pre-activation z", ylabel: "fraction per bin",
                                 xlim: [ends[0], ends[ends.length - 1]], ylim: [0, 1] });
  const pLayer = makePanel(row, { label: "per layer: spread of z and weight-gradient norm, log scale",
                                  xlabel: "layer l", ylabel: "std z, ‖∂L/∂W‖", xlim: [0.5, 20.5],
                                  ylim: [1e-3, 1e3], ylog: true });
  const pDead = makePanel(row, { label: "per layer: saturated responses and dead units", xlabel: "layer l",
                                 ylabel: "fraction", xlim: [0.5, 20.5], ylim: [-0.02, 1.02] });  // legend in the subtitle
  svgEl("line", { x1: pF.x(xs[0]), x2: pF.x(xs[xs.length - 1]), y1: pF.y(0), y2: pF.y(0), class: "dlc-axis" }, pF.plot);
  svgEl("line", { x1: pF.x(0), x2: pF.x(0), y1: pF.y(-2.2), y2: pF.y(4.2), class: "dlc-axis" }, pF.plot);
  const fLine = line(pF, "dlc-a"), fpLine = line(pF, "dlc-b dlc-dashed");
  const hist = LAYER_CLASSES.map((c) => line(pHist, c));
  const zLine = line(pLayer, "dlc-a"), gLine = line(pLayer, "dlc-fg"), aLine = line(pLayer, "dlc-d dlc-dotted");
  const satLine = line(pDead, "dlc-b"), deadLine = line(pDead, "dlc-fg");
  setText(pF.subtitle, [{ swatch: "dlc-a" }, "f(x)  ", { swatch: "dlc-b" }, "f′(x) (dashed)"]);
  setText(pDead.subtitle, [{ swatch: "dlc-b" }, "saturated responses  ", { swatch: "dlc-fg" }, "dead units"]);
  const forwards = new Map();                  // activation|init|slope|alpha -> forward pass
  const nets = new Map();                      // ...|depth -> the backward pass's per-layer arrays
  const forward = (v) => {
    const key = `${v.activation}|${v.init}|${v.slope}|${v.alpha}`;
    const have = forwards.get(key);
    if (have && have.zs.length >= v.depth) return have;
    const fwd = networkForward(v.activation, v.init, Math.max(v.depth, have ? have.zs.length : 0),
                              v.slope, v.alpha, prelu, width, batch, draws);
    forwards.set(key, fwd);
    return fwd;
  };

  const network = (v) => {                     // a setting seen before is drawn from memory
    const key = `${v.activation}|${v.init}|${v.slope}|${v.alpha}|${v.depth}`;
    if (!nets.has(key)) {
      if (nets.size > 4000) nets.clear();
      nets.set(key, networkBackward(v.activation, v.depth, v.slope, v.alpha, prelu, saturation, width, batch, forward(v)));
    }
    return nets.get(key);
  };

  // While the reader reads, in small tasks: the network of every activation and initialisation
  // at the current depth, slope and alpha, then of every depth at the current setting, so that
  // the next move of a control is drawn from memory. A new setting replaces the queue.
  const inits = control(model, "init").choices;
  let idle = [], timer = null;
  const later = () => {
    timer = null;
    const start = performance.now();
    while (idle.length && performance.now() - start < 4) idle.shift()();
    if (idle.length) timer = setTimeout(later, 0);
  };
  // First the settings one and two steps away on the sliders that act with the current
  // activation (their table's enabled_by: slope, alpha), as a slider gives them: an input of the
  // same range snaps each value to its steps.
  const gated = model.get("controls").filter((c) => c.enabled_by && c.enabled_by.name === "activation");
  const snap = document.createElement("input");
  snap.type = "range";
  const near = (v) => gated.filter((c) => c.enabled_by.values.includes(v.activation)).flatMap((c) => {
    snap.min = c.min; snap.max = c.max; snap.step = c.step;  // the table's range
    return [1, -1, 2, -2].map((k) => { snap.value = String(v[c.name] + k * c.step); return Number(snap.value); })
      .filter((u) => u !== v[c.name]).map((u) => ({ ...v, [c.name]: u }));
  });
  const plan = (v) => {
    const others = names.flatMap((activation) => inits.map((init) => ({ ...v, activation, init })));
    const depths = Array.from({ length: depthMax }, (_, i) => ({ ...v, depth: i + 1 }));
    idle = [...near(v), ...others, ...depths].map((u) => () => network(u));
    if (timer === null) timer = setTimeout(later, 50);
  };

  return (v) => {
    const name = v.activation, depth = v.depth, a = name === "prelu" ? prelu : v.slope;
    fLine.setAttribute("d", pathData(pF, zip(xs, xs.map((x) => activationValue(name, x, a, v.alpha)))));
    fpLine.setAttribute("d", pathData(pF, zip(xs, xs.map((x) => activationSlope(name, x, a, v.alpha)))));
    const fwd = forward(v), net = network(v);
    plan({ activation: name, init: v.init, depth, slope: v.slope, alpha: v.alpha });
    const s = summary(net), shownLayers = histLayers(depth);
    let top = 0;
    const fractions = shownLayers.map((l) => {
      const counts = histogramWithTails(fwd.zs[l - 1], edges), total = batch * width;
      const frac = counts.map((c) => c / total);
      for (const f of frac) top = Math.max(top, f);
      return frac;
    });
    pHist.setLimits([ends[0], ends[ends.length - 1]], [0, niceBound(top, 1.0) * 1.05]);  // explorer.hist_top
    hist.forEach((h, i) => {
      const frac = fractions[i];
      if (!frac) { h.setAttribute("d", ""); return; }
      let d = "";
      frac.forEach((f, j) => { d += `${j ? "L" : "M"}${pHist.x(ends[j]).toFixed(1)} ${pHist.y(f).toFixed(1)}H${pHist.x(ends[j + 1]).toFixed(1)}`; });
      h.setAttribute("d", d);
    });
    const layers = Float64Array.from({ length: depth }, (_, i) => i + 1);
    const shown = [...net.z_std, ...net.grad_norm, ...(name === "prelu" ? net.slope_grad : [])]
      .filter((x) => Number.isFinite(x) && x > 0);
    const lo = shown.length ? Math.log10(Math.min(...shown)) : -1, hi = shown.length ? Math.log10(Math.max(...shown)) : 1;
    const right = niceBound(depth, depthMax) + 0.5;      // explorer.layer_ylim, and limits in steps
    pLayer.setLimits([0.5, right], [10 ** (2 * Math.floor((lo - 0.01) / 2)), 10 ** (2 * Math.ceil((hi + 0.01) / 2))]);
    pDead.setLimits([0.5, right], [-0.02, 1.02]);
    zLine.setAttribute("d", pathData(pLayer, zip(layers, net.z_std)));
    gLine.setAttribute("d", pathData(pLayer, zip(layers, net.grad_norm)));
    aLine.setAttribute("d", name === "prelu" ? pathData(pLayer, zip(layers, net.slope_grad)) : "");
    satLine.setAttribute("d", pathData(pDead, zip(layers, net.saturated)));
    deadLine.setAttribute("d", pathData(pDead, zip(layers, net.dead)));
    setText(pF.title, [`${labels[names.indexOf(name)]}: max f′ = `, ["peak_slope", peakSlope(name, v.alpha), 2]]);
    setText(pHist.title, ["z at ", shownLayers.map((l) => `layer ${l}`).join(", ")]);
    setText(pHist.subtitle, shownLayers.flatMap((l, i) => [{ swatch: LAYER_CLASSES[i] }, `layer ${l}  `])
      .concat(["bars at ±6: beyond"]));
    setText(pLayer.title, ["‖∂L/∂W₁‖ / ‖∂L/∂W_L‖ = ", ["grad_ratio", s.grad_ratio, -2], "; std z: ",
                           ["z_std_first", s.z_std_first, 2], " → ", ["z_std_last", s.z_std_last, -2]]);
    setText(pLayer.subtitle, [{ swatch: "dlc-a" }, "std of z_l  ", { swatch: "dlc-fg" }, "‖∂L/∂W_l‖: ",
                              ["grad_first", s.grad_first, -2], " … ", ["grad_last", s.grad_last, -2],
                              name === "prelu" ? "  ┈ |∂L/∂a_l|" : ""]);
    setText(pDead.title, ["layer ", String(depth), ": ", ["saturated_last", s.saturated_last, 2],
                          " saturated, ", ["dead_last", s.dead_last, 2], " dead"]);
  };
}

export default {
  render({ model, el }) {
    return frame(model, el, "explorer", (row) => build(row, model));
  },
};
