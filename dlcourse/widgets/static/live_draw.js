// Drawing for the live figures: SVG panels with axes, paths, labelled numbers, and controls.
// No imports: dlcourse/widgets/live.py joins live_compute.js, this file and one view into one module.

const SVG_NS = "http://www.w3.org/2000/svg";

export function svgEl(tag, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function niceStep(span, count) {
  const raw = span / count, p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function tickValues(lo, hi, log) {
  if (log) {
    const a = Math.ceil(Math.log10(lo)), b = Math.floor(Math.log10(hi));
    const stride = Math.max(1, Math.ceil((b - a + 1) / 6));
    const out = [];
    for (let e = a; e <= b; e += stride) out.push(10 ** e);
    return out;
  }
  const step = niceStep(hi - lo, 5), out = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step; v += step) out.push(v);
  return out;
}

function tickLabel(v, log) {
  if (log) {
    const e = Math.round(Math.log10(v));
    return e === 0 ? "1" : e === 1 ? "10" : `1e${e}`;
  }
  return String(Math.round(v * 1000) / 1000);
}

// A panel: an <svg> with a viewBox (it scales to its container's width), axes, a clipped plot
// group. panel.x(v), panel.y(v) map data to SVG coordinates; setLimits redraws the axes.
// xticks (optional): [[value, label], ...] drawn instead of the automatic x ticks (categories).
export function makePanel(parent, { label, xlabel, ylabel, xlim, ylim, xlog = false, ylog = false,
                                    width = 330, height = 250, xticks = null }) {
  const m = { l: 46, r: 10, t: 34, b: 36 };
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label,
                             class: "dlc-panel" }, parent);
  const id = `dlc-clip-${Math.random().toString(36).slice(2)}`;
  svgEl("rect", { x: m.l, y: m.t, width: width - m.l - m.r, height: height - m.t - m.b },
        svgEl("clipPath", { id }, svgEl("defs", {}, svg)));
  const title = svgEl("text", { x: width / 2, y: 14, class: "dlc-title", "text-anchor": "middle" }, svg);
  const subtitle = svgEl("text", { x: width / 2, y: 28, class: "dlc-title", "text-anchor": "middle" }, svg);
  const axes = svgEl("g", { class: "dlc-axes" }, svg);
  const plot = svgEl("g", { "clip-path": `url(#${id})` }, svg);
  svgEl("rect", { x: m.l, y: m.t, width: width - m.l - m.r, height: height - m.t - m.b,
                  class: "dlc-frame" }, svg);
  svgEl("text", { x: (m.l + width - m.r) / 2, y: height - 4, class: "dlc-label",
                  "text-anchor": "middle" }, svg).textContent = xlabel;
  svgEl("text", { x: 11, y: (m.t + height - m.b) / 2, class: "dlc-label", "text-anchor": "middle",
                  transform: `rotate(-90 11 ${(m.t + height - m.b) / 2})` }, svg).textContent = ylabel;
  const panel = { svg, plot, title, subtitle, xlim, ylim };
  const f = (v, log) => (log ? Math.log10(v) : v);
  const clamp = (v) => (v > 1e5 ? 1e5 : v < -1e5 ? -1e5 : v);
  panel.x = (v) => clamp(m.l + ((f(v, xlog) - f(panel.xlim[0], xlog)) /
                                (f(panel.xlim[1], xlog) - f(panel.xlim[0], xlog))) * (width - m.l - m.r));
  panel.y = (v) => clamp(height - m.b - ((f(v, ylog) - f(panel.ylim[0], ylog)) /
                                         (f(panel.ylim[1], ylog) - f(panel.ylim[0], ylog))) * (height - m.t - m.b));
  panel.setLimits = (xl, yl) => {
    if (xl[0] === panel.xlim[0] && xl[1] === panel.xlim[1] && yl[0] === panel.ylim[0] &&
        yl[1] === panel.ylim[1] && axes.firstChild) return;
    panel.xlim = xl; panel.ylim = yl;
    axes.replaceChildren();
    for (const [v, text] of xticks || tickValues(xl[0], xl[1], xlog).map((t) => [t, tickLabel(t, xlog)])) {
      const x = panel.x(v);
      svgEl("line", { x1: x, x2: x, y1: height - m.b, y2: height - m.b + 4, class: "dlc-tick" }, axes);
      svgEl("text", { x, y: height - m.b + 14, "text-anchor": "middle", class: "dlc-ticklabel" },
            axes).textContent = text;
    }
    for (const v of tickValues(yl[0], yl[1], ylog)) {
      const y = panel.y(v);
      svgEl("line", { x1: m.l - 4, x2: m.l, y1: y, y2: y, class: "dlc-tick" }, axes);
      svgEl("text", { x: m.l - 6, y: y + 3, "text-anchor": "end", class: "dlc-ticklabel" },
            axes).textContent = tickLabel(v, ylog);
    }
  };
  panel.setLimits(xlim, ylim);
  return panel;
}

// An SVG path "M x y L x y ..." through the finite points of flat (x, y) pairs; a non-finite
// point (or a NaN from a log of 0) breaks the line.
export function pathData(panel, xy) {
  let d = "", pen = false;
  for (let i = 0; i < xy.length; i += 2) {
    const x = panel.x(xy[i]), y = panel.y(xy[i + 1]);
    if (!Number.isFinite(x) || !Number.isFinite(y)) { pen = false; continue; }
    d += `${pen ? "L" : "M"}${x.toFixed(1)} ${y.toFixed(1)}`;
    pen = true;
  }
  return d;
}

// Flat (x, y) pairs from separate x and y arrays.
export function zip(xs, ys) {
  const out = new Float64Array(2 * xs.length);
  for (let i = 0; i < xs.length; i++) { out[2 * i] = xs[i]; out[2 * i + 1] = ys[i]; }
  return out;
}

export function line(panel, cls) {
  return svgEl("path", { class: cls, fill: "none" }, panel.plot);
}

// Fill a <text> with parts: strings, {swatch: class} colour keys, or [key, value, digits] numbers shown rounded (toFixed)
// with the full value in data-value, so that a test can read exactly what was computed.
export function setText(node, parts) {
  node.replaceChildren();
  for (const part of parts) {
    if (typeof part === "string") { node.appendChild(document.createTextNode(part)); continue; }
    if (part.swatch) { svgEl("tspan", { class: `${part.swatch} dlc-swatch` }, node).textContent = "■ "; continue; }
    const [key, value, digits] = part;        // digits < 0: exponent notation with -digits
    const span = svgEl("tspan", { class: "dlc-num", "data-key": key, "data-value": String(value) }, node);
    span.textContent = !Number.isFinite(value) ? String(value)
      : digits < 0 ? value.toExponential(-digits) : value.toFixed(digits);
  }
}

// The slider specs of a widget, from its Python control table (the model's "controls" trait,
// dlcourse/widgets/controls.py): the page holds no range, step or label of its own.
export function specsFrom(controls) {
  return controls.map((c) => {
    if (c.kind === "bool") return { name: c.name, label: c.label, checkbox: true };
    if (c.kind === "choice") {
      return { name: c.name, label: c.label, min: 0, max: c.choices.length - 1, step: 1,
               toInput: (v) => c.choices.indexOf(v), fromInput: (p) => c.choices[p],
               format: (v) => c.labels[c.choices.indexOf(v)] };
    }
    const log = c.scale === "log";
    return { name: c.name, label: c.label, min: c.min, max: c.max, step: c.step,
             toInput: log ? Math.log10 : (v) => v, fromInput: log ? (p) => 10 ** p : (p) => p,
             format: (v) => (c.format === "precision" ? v.toPrecision(c.digits) : v.toFixed(c.digits)) };
  });
}

// One control of the table by name (its range, for example: control(model, "steps").max).
export function control(model, name) {
  return model.get("controls").find((c) => c.name === name);
}

// Keys pressed on a control belong to it. JupyterLab reads every key pressed in a notebook as a
// possible shortcut (its listener on the document runs before the browser's default action): the
// arrow keys moved the notebook's cursor instead of a focused slider. Its command registry
// (Lumino) skips the shortcuts of a key pressed on an element that carries this attribute; it must
// sit on the focused element itself (the shortcuts' selectors are matched against it first).
// ipywidgets' sliders need nothing: they handle their keys themselves and mark them handled.
const OWN_KEYS = "data-lm-suppress-shortcuts";

// Controls: a labelled <input type=range> (or checkbox) per trait. spec: {name, label, min, max,
// step, toInput(value) -> slider position, fromInput(position) -> value, format(value)}.
export function makeControls(el, model, specs) {
  const box = document.createElement("div");
  box.className = "dlc-controls";
  el.appendChild(box);
  const rows = specs.map((spec) => {
    const id = `dlc-${spec.name}-${Math.random().toString(36).slice(2)}`;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = spec.label;
    const input = document.createElement("input");
    input.id = id;
    input.name = spec.name;
    input.dataset.trait = spec.name;
    input.setAttribute(OWN_KEYS, "");
    const out = document.createElement("output");
    out.htmlFor = id;
    out.setAttribute("aria-hidden", "true");
    if (spec.checkbox) {
      input.type = "checkbox";
      input.addEventListener("change", () => { model.set(spec.name, input.checked); model.save_changes(); });
    } else {
      input.type = "range";
      input.min = spec.min; input.max = spec.max; input.step = spec.step;
      input.addEventListener("input", () => {
        model.set(spec.name, spec.fromInput(Number(input.value)));
        model.save_changes();
      });
    }
    const row = document.createElement("div");
    row.className = "dlc-control";
    row.append(label, input, out);
    box.appendChild(row);
    const gate = (model.get("controls").find((c) => c.name === spec.name) || {}).enabled_by;
    return { spec, input, out, row, gate };
  });
  for (const { input, gate } of rows) {       // where the governing control must be (for tests)
    if (!gate) continue;
    const by = specs.find((s) => s.name === gate.name);
    input.dataset.enabledBy = JSON.stringify({ name: gate.name,
      positions: gate.values.map((v) => (by.checkbox ? v : by.toInput(v))) });
  }
  // Show the model's values (also when jslink or Python changed them); a control that acts only
  // while another has certain values (its table's enabled_by) is disabled otherwise.
  return () => {
    for (const { spec, input, out, row, gate } of rows) {
      const value = model.get(spec.name);
      if (gate) {
        input.disabled = !gate.values.includes(model.get(gate.name));
        row.classList.toggle("dlc-disabled", input.disabled);
      }
      if (spec.checkbox) { input.checked = value; out.textContent = value ? "on" : "off"; continue; }
      const position = spec.toInput(value);
      if (Math.abs(Number(input.value) - position) > 1e-9) input.value = position;
      out.textContent = spec.format(value);
      input.setAttribute("aria-valuetext", `${spec.label} ${spec.format(value)}`);
    }
  };
}

// The widget's frame: controls, a row of panels that wraps on narrow pages, and a redraw that
// runs on every model change (a control, jslink, or Python) and records its own duration.
export function frame(model, el, name, build) {
  el.classList.add("dlc-live");
  el.dataset.widget = name;
  const specs = specsFrom(model.get("controls"));
  const traits = specs.map((s) => s.name);
  const syncControls = makeControls(el, model, specs);
  const row = document.createElement("div");
  row.className = "dlc-panels";
  el.appendChild(row);
  const draw = build(row);
  const redraw = () => {
    const t0 = performance.now();
    const params = Object.fromEntries(traits.map((k) => [k, model.get(k)]));
    syncControls();
    draw(params);
    el.dataset.params = JSON.stringify(params);
    el.dataset.drawMs = String(performance.now() - t0);
    el.dataset.draws = String(Number(el.dataset.draws || 0) + 1);
  };
  redraw();
  model.on("change", redraw);
  return () => model.off("change", redraw);
}
