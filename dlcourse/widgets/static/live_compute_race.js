// The optimizer race's computations: dlcourse/landscapes/race.py and dlcourse/optim/*.py in JavaScript.
//
// Each optimizer's step repeats its Python `_update` (dlcourse/optim/sgd.py, adagrad.py, rmsprop.py,
// adadelta.py, adam.py) operation for operation on each coordinate, and racePath repeats
// dlcourse.optim.trajectory. torch may fuse a multiply and an add (one rounding instead of two);
// JavaScript cannot, so the paths agree to rounding, not bit for bit: tests/test_live_race_explorer.py
// checks 1e-9 under Node. The settings (kappa, starts, minima, each optimizer's hyperparameters)
// come from Python as traits; nothing here restates them.

// landscapes.race.surface_loss
export function surfaceLoss(surface, x, y, kappa) {
  if (surface === "valley") return 0.5 * ((1.0 / kappa) * x * x + y * y);
  if (surface === "rotated") {
    const c = Math.sqrt(0.5), u = c * (x + y), v = c * (y - x);
    return 0.5 * ((1.0 / kappa) * u * u + v * v);
  }
  if (surface === "rosenbrock") {
    const a = 1.0 - x, b = y - x * x;
    return a * a + 100.0 * (b * b);
  }
  const yy = y * y;                                      // landscapes.saddle_loss
  return 0.5 * x * x - 0.5 * yy + 0.25 * yy * yy;
}

// landscapes.race.surface_grad
export function surfaceGrad(surface, x, y, kappa) {
  if (surface === "valley") return [(1.0 / kappa) * x, 1.0 * y];
  if (surface === "rotated") {
    const c = Math.sqrt(0.5), u = c * (x + y), v = c * (y - x), du = (1.0 / kappa) * u;
    return [c * (du - v), c * (du + v)];
  }
  if (surface === "rosenbrock") {
    const a = 1.0 - x, b = y - x * x;
    return [-2.0 * a - 400.0 * x * b, 200.0 * b];
  }
  return [1.0 * x, y * y * y - y];
}

// a * b + c rounded once, as a fused multiply-add instruction computes it (torch's CPU kernels
// for add(alpha=), addcmul and lerp use one where the processor has it). Exact: the product's
// error comes from Dekker's splitting, the sums' from TwoSum, and a tie is broken by what is left.
function twoSum(a, b) {
  const s = a + b, bb = s - a;
  return [s, (a - (s - bb)) + (b - bb)];
}

export function fma(a, b, c) {
  const p = a * b, big = 1e300, tiny = 1e-290;
  if (!Number.isFinite(p) || !Number.isFinite(c) || Math.abs(a) > big || Math.abs(b) > big ||
      (p !== 0 && Math.abs(p) < tiny) || p === 0) return p + c;
  const ta = 134217729 * a, ah = ta - (ta - a), al = a - ah;
  const tb = 134217729 * b, bh = tb - (tb - b), bl = b - bh;
  const e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;         // a b = p + e exactly
  const [s, t] = twoSum(p, c);                                      // p + c = s + t
  const [u, w] = twoSum(t, e);                                      // t + e = u + w
  const [r, z] = twoSum(s, u);                                      // s + u = r + z, r = fl(s + u)
  const q = r + 2 * z;
  if (w !== 0 && q !== r && q - r === 2 * z && (w > 0) === (z > 0)) return q;   // a tie, broken by w
  return r;
}

// `fused`: which of torch's kernels round a multiply-add once (widgets.race probes the torch that
// built the page): add (add with alpha), addcmul, lerp. Otherwise twice, as written.
const fmaOr = (fused) => (fused ? fma : (a, b, c) => a * b + c);

// torch's lerp for w < 0.5: self + w (end - self); else end - (end - self)(1 - w).
function lerp(a, b, w, madd) {
  return w < 0.5 ? madd(w, b - a, a) : b - (b - a) * (1 - w);
}

// One optimizer's state and `_update` for one coordinate. h: its hyperparameters (racer_hyper);
// add, cmul, lrp: torch's add(alpha=), addcmul and lerp, fused or not as the build's torch.
function makeStep(cls, h, lr, fused) {
  const add = fmaOr(fused.add), cmul = fmaOr(fused.addcmul), lrp = fmaOr(fused.lerp);
  const s = { step: 0 };
  const decay = (p, g) => (h.weight_decay !== 0 ? add(h.weight_decay, p, g) : g);  // g.add(p, alpha=wd)
  if (cls === "SGD") {
    const mu = h.momentum, tau = h.dampening;
    return (p, g) => {
      g = decay(p, g);
      if (mu !== 0) {
        if (s.buf === undefined) s.buf = g;                              // buf = grad.clone()
        else s.buf = add(1 - tau, g, s.buf * mu);                        // buf.mul_(mu).add_(g, alpha=1-tau)
        g = h.nesterov ? add(mu, s.buf, g) : s.buf;                      // g.add(buf, alpha=mu)
      }
      return add(-lr, g, p);                                             // p.add_(g, alpha=-lr)
    };
  }
  if (cls === "Adagrad") {
    s.sum = h.initial_accumulator_value;
    return (p, g) => {
      s.step += 1;
      const t = s.step;
      g = decay(p, g);
      const clr = lr / (1 + (t - 1) * h.lr_decay);
      s.sum = cmul(1 * g, g, s.sum);                                     // sum.addcmul_(g, g, value=1)
      const std = Math.sqrt(s.sum) + h.eps;
      return p + (-clr * g) / std;                                       // p.addcdiv_(g, std, value=-clr)
    };
  }
  if (cls === "RMSprop") {
    if (h.centered || h.momentum !== 0) throw new Error("RMSprop: centered and momentum are not in the race");
    s.v = 0.0;
    return (p, g) => {
      g = decay(p, g);
      s.v = cmul((1 - h.alpha) * g, g, s.v * h.alpha);                   // v.mul_(a).addcmul_(g, g, value=1-a)
      const denom = Math.sqrt(s.v) + h.eps;
      return p + (-lr * g) / denom;                                      // p.addcdiv_(g, denom, value=-lr)
    };
  }
  if (cls === "Adadelta") {
    s.v = 0.0; s.u = 0.0;
    return (p, g) => {
      g = decay(p, g);
      s.v = cmul((1 - h.rho) * g, g, s.v * h.rho);
      const delta = (Math.sqrt(s.u + h.eps) / Math.sqrt(s.v + h.eps)) * g;
      s.u = cmul((1 - h.rho) * delta, delta, s.u * h.rho);
      return add(-lr, delta, p);                                         // p.add_(delta, alpha=-lr)
    };
  }
  if (cls === "Adam" || cls === "AdamW") {
    if (h.amsgrad) throw new Error("Adam: amsgrad is not in the race");
    const [beta1, beta2] = h.betas, wd = h.weight_decay;
    s.m = 0.0; s.v = 0.0;
    return (p, g) => {
      s.step += 1;
      const t = s.step;
      if (wd !== 0) {
        if (cls === "AdamW") p = p * (1 - lr * wd);                      // p.mul_(1 - lr * wd)
        else g = add(wd, p, g);
      }
      s.m = lerp(s.m, g, 1 - beta1, lrp);                                // m.lerp_(g, 1 - beta1)
      s.v = cmul((1 - beta2) * g, g, s.v * beta2);
      const bc1 = 1 - beta1 ** t, bc2 = 1 - beta2 ** t;
      const denom = Math.sqrt(s.v) / bc2 ** 0.5 + h.eps;
      return p + ((-lr / bc1) * s.m) / denom;                            // p.addcdiv_(m, denom, -lr/bc1)
    };
  }
  throw new Error(`unknown optimizer class ${cls}`);
}

// landscapes.race.race_path (dlcourse.optim.trajectory): rows (x_t, y_t) flat, 2 (steps + 1) numbers.
// setup: {kappa, start: {surface: [x, y]}, minimum: {surface: f*}, hyper: {optimizer: {class, ...}},
// fused: {add, addcmul, lerp}}, from the widget's traits.
export function racePath(surface, optimizer, lr, steps, setup) {
  const h = setup.hyper[optimizer];
  const stepX = makeStep(h.class, h, lr, setup.fused), stepY = makeStep(h.class, h, lr, setup.fused);
  let [x, y] = setup.start[surface];
  const out = new Float64Array(2 * (steps + 1));
  out[0] = x; out[1] = y;
  for (let k = 1; k <= steps; k++) {
    const [gx, gy] = surfaceGrad(surface, x, y, setup.kappa);
    x = stepX(x, gx); y = stepY(y, gy);
    out[2 * k] = x; out[2 * k + 1] = y;
    if (!Number.isFinite(x + y)) {                       // diverged: keep the last point
      for (let j = k + 1; j <= steps; j++) { out[2 * j] = x; out[2 * j + 1] = y; }
      break;
    }
  }
  return out;
}

// landscapes.race.loss_gap: f(x_t) - f* along a flat path, Infinity where it diverged.
export function lossGap(surface, path, setup) {
  const n = path.length / 2, out = new Float64Array(n), fmin = setup.minimum[surface];
  for (let t = 0; t < n; t++) {
    const g = surfaceLoss(surface, path[2 * t], path[2 * t + 1], setup.kappa) - fmin;
    out[t] = Number.isFinite(g) ? g : Infinity;
  }
  return out;
}

// landscapes.race.best_rate: index of the smallest gap, the first of equal ones (NaN counts as Infinity).
export function bestRate(gaps) {
  let best = 0, bestGap = Number.isNaN(gaps[0]) ? Infinity : gaps[0];
  for (let i = 1; i < gaps.length; i++) {
    const g = Number.isNaN(gaps[i]) ? Infinity : gaps[i];
    if (g < bestGap) { best = i; bestGap = g; }
  }
  return best;
}

// The widget's tune: for one optimizer, each rate of the sweep run for `steps` steps; the index
// of the best one and every final gap (widgets.race.tuned_rates repeats this with Python's paths).
export function sweepRates(surface, optimizer, steps, sweep, setup) {
  const finals = sweep.map((lr) => {
    const gap = lossGap(surface, racePath(surface, optimizer, lr, steps, setup), setup);
    return gap[steps];
  });
  return { best: bestRate(finals), finals };
}
