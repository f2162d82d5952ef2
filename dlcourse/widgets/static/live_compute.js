// The computations behind the live figures: dlcourse/landscapes.py repeated in JavaScript.
//
// Every function follows its Python twin (named in its comment) operation for operation, in the
// same order, in float64, so that the numbers the page shows equal Python's.
// tests/test_live_widgets.py runs these functions under Node and compares them with Python.
// No imports: dlcourse/widgets/live.py joins this file, live_draw.js and one view into the widget's module.

// ------------------------------------------------------------------ shared helpers ----------
// numpy.linspace(start, stop, num): y_i = i * step + start, and the last one is exactly `stop`.
export function linspace(start, stop, num) {
  const out = new Float64Array(num);
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  if (num > 1) out[num - 1] = stop;
  return out;
}

// _widget_base.nice_bound: the smallest of 1, 2, 2.5, 5, 10 times a power of ten >= value.
export function niceBound(value, top) {
  const scale = 10.0 ** Math.floor(Math.log10(Math.max(value, 1e-12)));
  for (const m of [1.0, 2.0, 2.5, 5.0, 10.0]) {
    if (m * scale >= value) return Math.min(m * scale, top);
  }
  return top;
}

// ------------------------------------------------------------------ the valley --------------
// landscapes.valley_loss: f = (hx x x + y y) / 2 with hx = 1 / kappa.
export function valleyLoss(x, y, kappa) {
  const hx = 1.0 / kappa;
  return 0.5 * (hx * x * x + y * y);
}

// landscapes.momentum_trajectory (plain = gradient_descent_trajectory): rows (x_t, y_t), flat.
export function momentumTrajectory(start, lr, beta, steps, kappa, nesterov = false, plain = false) {
  const hx = 1.0 / kappa, hy = 1.0;
  let x = start[0], y = start[1], vx = 0.0, vy = 0.0;
  const out = new Float64Array(2 * (steps + 1));
  out[0] = x; out[1] = y;
  for (let t = 1; t <= steps; t++) {
    const gx = hx * x, gy = hy * y;
    if (plain) {                                   // w <- w - lr * g
      x = x - lr * gx; y = y - lr * gy;
    } else {
      vx = beta * vx + gx; vy = beta * vy + gy;    // v <- beta v + g
      const dx = nesterov ? gx + beta * vx : vx;   // d = g + beta v (Nesterov) or v
      const dy = nesterov ? gy + beta * vy : vy;
      x = x - lr * dx; y = y - lr * dy;
    }
    out[2 * t] = x; out[2 * t + 1] = y;
  }
  return out;
}

export function gradientDescentTrajectory(start, lr, steps, kappa) {
  return momentumTrajectory(start, lr, 0.0, steps, kappa, false, true);
}

// landscapes.iteration_rate for one (lr, beta): the spectral radius over both curvatures.
export function iterationRate(lr, beta, kappa, nesterov = false) {
  let rate = 0.0;
  for (const h of [1.0 / kappa, 1.0]) {
    let trace, det;
    if (nesterov) {
      trace = 1.0 + beta - lr * h * (1.0 + beta); det = beta * (1.0 - lr * h);
    } else {
      trace = 1.0 + beta - lr * h; det = beta + 0.0 * lr;
    }
    const disc = trace * trace - 4.0 * det;
    const real = 0.5 * (Math.abs(trace) + Math.sqrt(Math.max(disc, 0.0)));
    rate = Math.max(rate, disc < 0.0 ? Math.sqrt(Math.max(det, 0.0)) : real);
  }
  return rate;
}

// landscapes.optimal_momentum: Polyak's (alpha*, beta*, rate*).
export function optimalMomentum(kappa) {
  const s = Math.sqrt(kappa);
  const a = 2.0 / (1.0 + Math.sqrt(1.0 / kappa));
  const rate = (s - 1.0) / (s + 1.0);
  return [a * a, rate * rate, rate];
}

// landscapes.quadratic_contours: level sets of (w - c)^T A (w - c) / 2 as closed curves.
// Returns one array of n (x, y) pairs (flat) per level.
export function quadraticContours(center, a, b, d, levels, n = 65) {
  const s = Math.sqrt(a * d - b * b);
  const t = Math.sqrt(a + d + 2.0 * s);
  const s11 = (a + s) / t, s12 = b / t, s22 = (d + s) / t;         // S = sqrt(A)
  const det = s11 * s22 - s12 * s12;
  const i11 = s22 / det, i12 = -s12 / det, i22 = s11 / det;        // S^{-1}
  const theta = linspace(0.0, 2.0 * Math.PI, n);
  return levels.map((level) => {
    const r = Math.sqrt(2.0 * level);
    const out = new Float64Array(2 * n);
    for (let k = 0; k < n; k++) {
      const u = r * Math.cos(theta[k]), v = r * Math.sin(theta[k]);
      out[2 * k] = center[0] + i11 * u + i12 * v;
      out[2 * k + 1] = center[1] + i12 * u + i22 * v;
    }
    return out;
  });
}

// ------------------------------------------------------------------ L1 versus L2 ------------
// landscapes.quadratic2_loss: q(w) = (e1 e1 + 2 rho e1 e2 + e2 e2) / 2, e = w - w*.
export function quadratic2Loss(w1, w2, opt, rho) {
  const e1 = w1 - opt[0], e2 = w2 - opt[1];
  return 0.5 * (e1 * e1 + 2.0 * rho * e1 * e2 + e2 * e2);
}

// landscapes.l2_ball_solution: bisection on lambda of w(lambda) = (A + lambda I)^{-1} A w*.
export function l2BallSolution(opt, rho, budget, iters = 100) {
  const o1 = opt[0], o2 = opt[1];
  if (Math.sqrt(o1 * o1 + o2 * o2) <= budget) return [o1, o2];
  const b1 = o1 + rho * o2, b2 = rho * o1 + o2;                     // A w*
  let lo = 0.0, hi = Math.sqrt(b1 * b1 + b2 * b2) / budget;
  for (let k = 0; k < iters; k++) {
    const lam = 0.5 * (lo + hi);
    const det = (1.0 + lam) * (1.0 + lam) - rho * rho;
    const w1 = ((1.0 + lam) * b1 - rho * b2) / det, w2 = ((1.0 + lam) * b2 - rho * b1) / det;
    if (Math.sqrt(w1 * w1 + w2 * w2) > budget) lo = lam; else hi = lam;
  }
  const det = (1.0 + hi) * (1.0 + hi) - rho * rho;
  return [((1.0 + hi) * b1 - rho * b2) / det, ((1.0 + hi) * b2 - rho * b1) / det];
}

// landscapes.l1_ball_solution: the best point of the four edges of the diamond, exactly.
export function l1BallSolution(opt, rho, budget) {
  const o1 = opt[0], o2 = opt[1], t = budget;
  if (Math.abs(o1) + Math.abs(o2) <= t) return [o1, o2];
  let best = null, bestLoss = Infinity;
  for (const [s1, s2] of [[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]]) {
    const d1 = s1 * t, d2 = -s2 * t;
    const r1 = o1, r2 = o2 - s2 * t;                                  // w* - p
    const num = d1 * (r1 + rho * r2) + d2 * (rho * r1 + r2);
    const den = d1 * (d1 + rho * d2) + d2 * (rho * d1 + d2);
    const u = Math.min(1.0, Math.max(0.0, num / den));
    const w1 = s1 * t * u, w2 = s2 * t * (1.0 - u);
    const loss = quadratic2Loss(w1, w2, [o1, o2], rho);
    if (loss < bestLoss) { best = [w1, w2]; bestLoss = loss; }
  }
  return best;
}

// G w - c for a d x d matrix G (array of rows), summed in index order.
function gramStep(G, w, c) {
  const d = w.length, out = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = 0.0;
    for (let j = 0; j < d; j++) s += G[i][j] * w[j];
    out[i] = s - c[i];
  }
  return out;
}

// landscapes.lasso_path for one lambda: ISTA w <- S_{eta lam}(w - eta (G w - c)) from w0.
export function lassoAt(G, c, eta, lam, w0, iters = 300) {
  const tau = eta * lam;
  let w = Float64Array.from(w0);
  for (let k = 0; k < iters; k++) {
    const g = gramStep(G, w, c), next = new Float64Array(w.length);
    for (let j = 0; j < w.length; j++) {
      const z = w[j] - eta * g[j];
      next[j] = Math.sign(z) * Math.max(Math.abs(z) - tau, 0.0);    // soft-threshold
    }
    w = next;
  }
  return w;
}

// landscapes.ridge_path for one lambda: solve (G + lam I) w = c, Gaussian elimination with
// partial pivoting (LU, as numpy.linalg.solve).
export function ridgeAt(G, c, lam) {
  const d = c.length;
  const M = G.map((row, i) => row.map((g, j) => g + lam * (i === j ? 1.0 : 0.0)));
  const r = Array.from(c);
  for (let k = 0; k < d; k++) {
    let p = k;
    for (let i = k + 1; i < d; i++) if (Math.abs(M[i][k]) > Math.abs(M[p][k])) p = i;
    [M[k], M[p]] = [M[p], M[k]]; [r[k], r[p]] = [r[p], r[k]];
    for (let i = k + 1; i < d; i++) {
      const f = M[i][k] / M[k][k];
      for (let j = k; j < d; j++) M[i][j] -= f * M[k][j];
      r[i] -= f * r[k];
    }
  }
  const w = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = r[i];
    for (let j = i + 1; j < d; j++) s -= M[i][j] * w[j];
    w[i] = s / M[i][i];
  }
  return w;
}

// landscapes.count_zeros for one vector.
export function countZeros(w) {
  let n = 0;
  for (const v of w) if (v === 0.0) n++;
  return n;
}

// The widget's lambda: the warm start is the precomputed path row nearest in log(lambda).
export function nearestIndex(lams, lam) {
  let best = 0;
  for (let i = 1; i < lams.length; i++) {
    if (Math.abs(Math.log(lams[i]) - Math.log(lam)) < Math.abs(Math.log(lams[best]) - Math.log(lam))) best = i;
  }
  return best;
}

// ------------------------------------------------------------------ the saddle --------------
const GOLDEN = 0x9e3779b1;

// _landscape_saddle._mix32: two multiply-xorshift rounds on 32-bit words.
function mix32(x) {
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

// _landscape_saddle._seed_states for one stream: mix32(seed * 0x9E3779B1 + stream + 1), never 0.
export function seedState(seed, stream) {
  const base = Math.imul(seed, GOLDEN) >>> 0;
  const s = mix32((base + ((stream + 1) >>> 0)) >>> 0);
  return s === 0 ? 1 : s;
}

// _landscape_saddle._advance: xorshift32 with shifts 13, 17, 5.
export function advance(s) {
  s = (s ^ (s << 13)) >>> 0;
  s = (s ^ (s >>> 17)) >>> 0;
  return (s ^ (s << 5)) >>> 0;
}

// landscapes.xorshift32: `count` words of stream 0.
export function xorshift32(seed, count) {
  const out = new Uint32Array(count);
  let s = seedState(seed, 0);
  for (let i = 0; i < count; i++) { s = advance(s); out[i] = s; }
  return out;
}

// landscapes.saddle_offsets: (k - 512) / 512 from the top 10 bits, then their negatives.
export function saddleOffsets(n = 64, seed = 0) {
  const k = xorshift32(seed, n), out = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) out[i] = ((k[i] >>> 22) - 512.0) / 512.0;
  for (let i = 0; i < n; i++) out[n + i] = -out[i];
  return out;                       // row i is (out[2i], out[2i + 1])
}

// landscapes.saddle_batch_means: (runs, steps, 2) flat; slot j of run r is stream r * 4096 + j.
export function saddleBatchMeans(batchSize, steps, runs, nExamples = 64, seed = 0) {
  const off = saddleOffsets(nExamples, seed), out = new Float64Array(runs * steps * 2);
  if (batchSize === nExamples) {
    let sa = 0.0, sb = 0.0;
    for (let i = 0; i < nExamples; i++) { sa += off[2 * i]; sb += off[2 * i + 1]; }
    for (let i = 0; i < runs * steps; i++) { out[2 * i] = sa / nExamples; out[2 * i + 1] = sb / nExamples; }
    return out;
  }
  for (let r = 0; r < runs; r++) {
    const state = new Uint32Array(batchSize);
    for (let j = 0; j < batchSize; j++) state[j] = seedState(seed, r * 4096 + j);
    for (let t = 0; t < steps; t++) {
      let sa = 0.0, sb = 0.0;                 // sums of multiples of 2^-9: exact in any order
      for (let j = 0; j < batchSize; j++) {
        state[j] = advance(state[j]);
        const idx = Math.floor((state[j] * nExamples) / 4294967296);
        sa += off[2 * idx]; sb += off[2 * idx + 1];
      }
      const o = 2 * (r * steps + t);
      out[o] = sa / batchSize; out[o + 1] = sb / batchSize;
    }
  }
  return out;
}

// landscapes.saddle_descent: (runs, steps + 1, 2) flat, from the first `steps` of `means`
// (a (runs, meanSteps, 2) array: a prefix of a longer run gives the same numbers).
export function saddleDescent(means, meanSteps, runs, steps, lr, start = [1.5, 0.0]) {
  const out = new Float64Array(runs * (steps + 1) * 2);
  for (let r = 0; r < runs; r++) {
    let x = start[0], y = start[1];
    let o = 2 * r * (steps + 1);
    out[o] = x; out[o + 1] = y;
    for (let t = 0; t < steps; t++) {
      const m = 2 * (r * meanSteps + t);
      const gx = x + means[m];
      const gy = y * y * y - y + means[m + 1];
      x = x - lr * gx; y = y - lr * gy;
      o += 2; out[o] = x; out[o + 1] = y;
    }
  }
  return out;
}

// landscapes.escape_steps: first t >= 1 with |y_t| >= threshold, Infinity if none.
export function escapeSteps(traj, runs, steps, threshold = 0.5) {
  const out = new Float64Array(runs).fill(Infinity);
  for (let r = 0; r < runs; r++) {
    for (let t = 1; t <= steps; t++) {
      if (Math.abs(traj[2 * (r * (steps + 1) + t) + 1]) >= threshold) { out[r] = t; break; }
    }
  }
  return out;
}

// landscapes.escape_quantiles: numpy's "linear" quantiles of sorted values, Infinity-safe.
export function escapeQuantiles(values, qs) {
  const v = Float64Array.from(values).sort();
  return qs.map((q) => {
    const p = q * (v.length - 1), i = Math.floor(p), f = p - i;
    return f === 0.0 || v[i + 1] === v[i] ? v[i] : v[i] + f * (v[i + 1] - v[i]);
  });
}

// landscapes.escape_estimate: log(threshold / |y0|) / log(1 + lr), Infinity for y0 = 0.
export function escapeEstimate(y0, lr, threshold = 0.5) {
  if (y0 === 0.0) return Infinity;
  return Math.log(threshold / Math.abs(y0)) / Math.log(1.0 + lr);
}
