// The activation explorer's computations: dlcourse/landscapes/deepnet.py in JavaScript.
//
// Same hash, same Box-Muller transform, same layer order and formulas as the Python; matrix
// products and sums are added in index order (NumPy's BLAS and pairwise sums may round
// differently, and Math.log/cos/exp/tanh may differ in the last bit), so the numbers agree with
// Python's to rounding: tests/test_live_race_explorer.py checks 1e-9 under Node.

// deepnet._lowbias32
function lowbias32(x) {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

// deepnet.random_words
export function randomWords(seed, stream, count) {
  const key = lowbias32((Math.imul(seed, 0x9e3779b9) + stream) >>> 0), out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = lowbias32((i ^ key) >>> 0);
  return out;
}

// deepnet.standard_normal (Box-Muller on pairs of words)
export function standardNormal(seed, stream, count) {
  const n = count + (count % 2), w = randomWords(seed, stream, n), out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = (w[i] + 0.5) / 4294967296.0, u2 = (w[i + 1] + 0.5) / 4294967296.0;
    const r = Math.sqrt(-2.0 * Math.log(u1)), theta = 6.283185307179586 * u2;
    out[i] = r * Math.cos(theta); out[i + 1] = r * Math.sin(theta);
  }
  return out.subarray(0, count);
}

// deepnet.activation and activation_slope for one number; a: the leaky (or PReLU) slope.
export function activationValue(name, x, a, alpha) {
  if (name === "sigmoid") {
    if (x >= 0.0) return 1.0 / (1.0 + Math.exp(-x));
    const e = Math.exp(x);
    return e / (1.0 + e);
  }
  if (name === "tanh") return Math.tanh(x);
  if (name === "relu") return x > 0.0 ? x : 0.0;
  if (name === "elu") return x > 0.0 ? x : alpha * Math.expm1(x);
  return x > 0.0 ? x : a * x;
}

export function activationSlope(name, x, a, alpha) {
  if (name === "sigmoid") { const s = activationValue(name, x, a, alpha); return s * (1.0 - s); }
  if (name === "tanh") { const t = Math.tanh(x); return 1.0 - t * t; }
  if (name === "relu") return x > 0.0 ? 1.0 : 0.0;
  if (name === "elu") return x > 0.0 ? 1.0 : alpha * Math.exp(x);
  return x > 0.0 ? 1.0 : a;
}

// deepnet.peak_slope
export function peakSlope(name, alpha) {
  return name === "sigmoid" ? 0.25 : name === "elu" ? Math.max(1.0, alpha) : 1.0;
}

// deepnet.init_std for a square layer
export function initStd(init, fanIn, fanOut) {
  return init === "normal" ? 1.0 : init === "xavier" ? Math.sqrt(2.0 / (fanIn + fanOut)) : Math.sqrt(2.0 / fanIn);
}

// The random matrices G^(l) (and the inputs, stream 0) for layers 1..maxDepth: drawn once.
export function networkDraws(maxDepth, width, batch, seed) {
  const g = [standardNormal(seed, 0, batch * width)];
  for (let l = 1; l <= maxDepth; l++) g.push(standardNormal(seed, l, width * width));
  return g;
}

// deepnet._forward for `depth` layers: {hs, zs, ws}, each a list of flat row-major matrices.
export function networkForward(name, init, depth, slope, alpha, prelu, width, batch, draws) {
  const a = name === "prelu" ? prelu : slope, sigma = initStd(init, width, width);
  const hs = [draws[0]], zs = [], ws = [];
  for (let l = 1; l <= depth; l++) {
    const g = draws[l], w = new Float64Array(width * width);
    for (let i = 0; i < w.length; i++) w[i] = sigma * g[i];
    const h = hs[l - 1], z = new Float64Array(batch * width), hn = new Float64Array(batch * width);
    for (let b = 0; b < batch; b++) {
      const hb = b * width;
      for (let j = 0; j < width; j++) {
        const wj = j * width;
        let s = 0.0;
        for (let k = 0; k < width; k++) s += h[hb + k] * w[wj + k];                   // z = h W^T
        z[hb + j] = s;
        hn[hb + j] = activationValue(name, s, a, alpha);
      }
    }
    ws.push(w); zs.push(z); hs.push(hn);
  }
  return { hs, zs, ws };
}

// deepnet.deep_network from a forward pass of at least `depth` layers: per-layer arrays.
export function networkBackward(name, depth, slope, alpha, prelu, saturation, width, batch, fwd) {
  const a = name === "prelu" ? prelu : slope, limit = saturation * peakSlope(name, alpha);
  const out = {};
  for (const k of ["z_std", "grad_norm", "saturated", "dead", "slope_grad"]) out[k] = new Float64Array(depth);
  const n = batch * width;
  let dh = new Float64Array(n).fill(1.0 / batch);
  for (let l = depth; l >= 1; l--) {
    const z = fwd.zs[l - 1], h = fwd.hs[l - 1], w = fwd.ws[l - 1];
    const delta = new Float64Array(n), flat = new Uint8Array(n);
    let sum = 0.0, pgrad = 0.0, nflat = 0;
    for (let i = 0; i < n; i++) {
      const fp = activationSlope(name, z[i], a, alpha);
      delta[i] = dh[i] * fp;
      flat[i] = fp < limit ? 1 : 0;
      nflat += flat[i];
      sum += z[i];
      if (name === "prelu") pgrad += dh[i] * Math.min(z[i], 0.0);
    }
    const g = new Float64Array(width * width);            // delta^T h, each entry summed over b in order
    for (let b = 0; b < batch; b++) {
      const hb = b * width;
      for (let j = 0; j < width; j++) {
        const d = delta[hb + j], gj = j * width;
        for (let k = 0; k < width; k++) g[gj + k] += d * h[hb + k];
      }
    }
    let sq = 0.0;
    for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
    const mean = sum / n;
    let v = 0.0;
    for (let i = 0; i < n; i++) { const d = z[i] - mean; v += d * d; }
    let dead = 0;
    for (let j = 0; j < width; j++) {
      let all = 1;
      for (let b = 0; b < batch && all; b++) all = flat[b * width + j];
      dead += all;
    }
    out.grad_norm[l - 1] = Math.sqrt(sq);
    out.slope_grad[l - 1] = name === "prelu" ? Math.abs(pgrad) : 0.0;
    out.z_std[l - 1] = Math.sqrt(v / n);
    out.saturated[l - 1] = nflat / n;
    out.dead[l - 1] = dead / width;
    const next = new Float64Array(n);                     // dL/dh_{l-1} = delta W, summed over j in order
    for (let b = 0; b < batch; b++) {
      const hb = b * width;
      for (let j = 0; j < width; j++) {
        const d = delta[hb + j], wj = j * width;
        for (let k = 0; k < width; k++) next[hb + k] += d * w[wj + k];
      }
    }
    dh = next;
  }
  return out;
}

// deepnet.deep_network in one call (the Node test's entry): the per-layer arrays and `pre`.
export function deepNetwork(name, init, depth, slope, alpha, setup) {
  const { width, batch, seed, prelu, saturation } = setup;
  const draws = networkDraws(depth, width, batch, seed);
  const fwd = networkForward(name, init, depth, slope, alpha, prelu, width, batch, draws);
  const out = networkBackward(name, depth, slope, alpha, prelu, saturation, width, batch, fwd);
  out.pre = fwd.zs;
  return out;
}

// deepnet.histogram_with_tails: [below edges[0], the bins (the last one closed), above edges[-1]].
export function histogramWithTails(values, edges) {
  const last = edges.length - 1, out = new Float64Array(edges.length + 1);
  for (const v of values) {
    if (v < edges[0]) { out[0] += 1; continue; }
    if (v > edges[last]) { out[last + 1] += 1; continue; }
    if (!(v >= edges[0])) continue;                      // NaN: in no bin
    let i = last - 1;
    while (i > 0 && v < edges[i]) i--;
    out[i + 1] += 1;
  }
  return out;
}
