r"""The activation explorer of chapter 3: a deep random network, its signal forward and its
gradient backward, layer by layer.

A batch of :math:`B` inputs :math:`h_0 \sim \mathcal N(0, 1)` of width :math:`n` goes through
:math:`L` layers without biases (biases start at zero),

.. math::
    z_l = h_{l-1} W_l^\top,\qquad h_l = f(z_l),\qquad (W_l)_{ij} = \sigma\, G^{(l)}_{ij},\
    G^{(l)}_{ij} \sim \mathcal N(0, 1)

with :math:`\sigma = 1` (``normal``), :math:`\sqrt{2 / (n_\text{in} + n_\text{out})}` (``xavier``,
Glorot & Bengio 2010) or :math:`\sqrt{2 / n_\text{in}}` (``he``, He et al. 2015). The loss is
:math:`\mathcal L = \frac1B \sum_{b, j} (h_L)_{bj}`, so that the gradient entering the top layer is
the same whatever the forward signal did, and backpropagation gives

.. math::
    \delta_l = \frac{\partial \mathcal L}{\partial h_l} \odot f'(z_l),\qquad
    \frac{\partial \mathcal L}{\partial W_l} = \delta_l^\top h_{l-1},\qquad
    \frac{\partial \mathcal L}{\partial h_{l-1}} = \delta_l W_l .

A unit's response is *saturated* where :math:`f'(z) < 0.01 \max f'` (:data:`SATURATION`); a unit
is *dead* when it is saturated for every input of the batch: no gradient reaches its weights.

The random numbers are a counter-based hash (:func:`random_words`) turned into normals by the
Box-Muller transform, so that the browser's copy (``static/live_compute_explorer.js``) draws the
same network; it agrees with this module to rounding (``log``, ``cos``, ``exp`` and ``tanh`` of
two maths libraries may differ in the last bit), checked to 1e-9 under Node.
"""

from __future__ import annotations

import numpy as np

from ..validate import check_choice, check_int, check_real

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "PRELU_INIT",
    "SATURATION",
    "random_words",
    "standard_normal",
    "activation",
    "activation_slope",
    "peak_slope",
    "init_std",
    "deep_network",
    "histogram_with_tails",
]

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "prelu")
INITS = ("normal", "xavier", "he")
PRELU_INIT = 0.25  # torch.nn.PReLU's starting slope; the slope is then learned
SATURATION = 0.01  # saturated: slope below 1 % of the activation's largest slope
_GOLDEN = 0x9E3779B9


def _lowbias32(x: np.ndarray) -> np.ndarray:
    """A 32-bit integer hash (C. Wellons' lowbias32); in JavaScript with ``Math.imul``."""
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> np.uint32(16))


def random_words(seed: int, stream: int, count: int) -> np.ndarray:
    r"""``count`` 32-bit words of ``stream``: :math:`w_i = \mathrm{hash}(i \oplus k)`,
    :math:`k = \mathrm{hash}(\mathrm{seed} \cdot \mathtt{0x9E3779B9} + \mathrm{stream})` (mod
    :math:`2^{32}`), ``uint32``. Word :math:`i` depends on :math:`i` alone, not on a sequence."""
    seed = check_int("seed", seed, low=0)
    stream = check_int("stream", stream, low=0)
    count = check_int("count", count, low=0)
    key = _lowbias32(np.array([(seed * _GOLDEN + stream) % 2**32], dtype=np.uint32))[0]
    return _lowbias32(np.arange(count, dtype=np.uint32) ^ key)


def standard_normal(seed: int, stream: int, count: int) -> np.ndarray:
    r"""``count`` standard normal numbers by the Box-Muller transform of pairs of words:

    .. math::
        u_k = (w_k + \tfrac12) / 2^{32},\quad r = \sqrt{-2 \log u_{2i}},\quad
        \theta = 2\pi u_{2i+1},\quad z_{2i} = r \cos\theta,\quad z_{2i+1} = r \sin\theta
    """
    count = check_int("count", count, low=0)
    u = (random_words(seed, stream, count + count % 2).astype(np.float64) + 0.5) / 4294967296.0
    r = np.sqrt(-2.0 * np.log(u[0::2]))
    theta = 6.283185307179586 * u[1::2]
    return np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1).ravel()[:count]


def _check(name: str, slope: float, alpha: float) -> tuple[str, float, float]:
    name = check_choice("activation", name, ACTIVATIONS)
    slope = check_real("slope", slope, low=0.0, high=1.0)
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    return name, (PRELU_INIT if name == "prelu" else slope), alpha


def activation(name: str, x, slope: float = 0.01, alpha: float = 1.0) -> np.ndarray:
    r""":math:`f(x)` elementwise, as :mod:`dlcourse.activations` writes it (NumPy, float64):

    .. math::
        \sigma(x) = \frac{1}{1 + e^{-x}}\ (x \ge 0),\ \frac{e^{x}}{1 + e^{x}}\ (x < 0) \qquad
        \text{leaky ReLU, PReLU: } x\ (x > 0),\ a x \qquad
        \text{ELU: } x\ (x > 0),\ \alpha\,(e^{x} - 1)

    ``slope`` is leaky ReLU's :math:`a`; PReLU starts at :data:`PRELU_INIT`.
    """
    name, a, alpha = _check(name, slope, alpha)
    x = np.asarray(x, dtype=np.float64)
    if name == "sigmoid":
        e = np.exp(np.minimum(x, 0.0))
        return np.where(x >= 0.0, 1.0 / (1.0 + np.exp(-np.maximum(x, 0.0))), e / (1.0 + e))
    if name == "tanh":
        return np.tanh(x)
    if name == "relu":
        return np.where(x > 0.0, x, 0.0)
    if name == "elu":
        return np.where(x > 0.0, x, alpha * np.expm1(np.minimum(x, 0.0)))
    return np.where(x > 0.0, x, a * x)


def activation_slope(name: str, x, slope: float = 0.01, alpha: float = 1.0) -> np.ndarray:
    r""":math:`f'(x)` elementwise: :math:`\sigma (1 - \sigma)`, :math:`1 - \tanh^2`,
    :math:`[x > 0]`, :math:`1` or :math:`a`, :math:`1` or :math:`\alpha e^{x}` (the value at
    :math:`x = 0` is the left one, as torch takes it)."""
    name, a, alpha = _check(name, slope, alpha)
    x = np.asarray(x, dtype=np.float64)
    if name == "sigmoid":
        s = activation("sigmoid", x)
        return s * (1.0 - s)
    if name == "tanh":
        t = np.tanh(x)
        return 1.0 - t * t
    if name == "relu":
        return np.where(x > 0.0, 1.0, 0.0)
    if name == "elu":
        return np.where(x > 0.0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))
    return np.where(x > 0.0, 1.0, a)


def peak_slope(name: str, slope: float = 0.01, alpha: float = 1.0) -> float:
    r""":math:`\max_x f'(x)`: 1/4 for the sigmoid, :math:`\max(1, \alpha)` for ELU, 1 otherwise
    (the leaky slope is at most 1)."""
    name, _, alpha = _check(name, slope, alpha)
    return {"sigmoid": 0.25, "elu": max(1.0, alpha)}.get(name, 1.0)


def init_std(init: str, fan_in: int, fan_out: int) -> float:
    r"""The weights' standard deviation :math:`\sigma`: 1, :math:`\sqrt{2/(n_\text{in} +
    n_\text{out})}` (Xavier, gain 1) or :math:`\sqrt{2/n_\text{in}}` (He, ReLU's gain)."""
    init = check_choice("init", init, INITS)
    fan_in, fan_out = check_int("fan_in", fan_in, low=1), check_int("fan_out", fan_out, low=1)
    return {"normal": 1.0, "xavier": np.sqrt(2.0 / (fan_in + fan_out)), "he": np.sqrt(2.0 / fan_in)}[init]


def _forward(name, init, depth, slope, alpha, width, batch, seed):
    sigma = float(init_std(init, width, width))
    h = standard_normal(seed, 0, batch * width).reshape(batch, width)
    hs, zs, ws = [h], [], []
    for l in range(1, depth + 1):
        w = sigma * standard_normal(seed, l, width * width).reshape(width, width)
        z = hs[-1] @ w.T
        ws.append(w)
        zs.append(z)
        hs.append(activation(name, z, slope, alpha))
    return hs, zs, ws


def deep_network(
    activation_name: str,
    init: str,
    depth: int,
    slope: float = 0.01,
    alpha: float = 1.0,
    *,
    width: int = 32,
    batch: int = 32,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    r"""Forward and backward through the network of the module's docstring; per layer
    :math:`l = 1..L` (arrays of length ``depth``):

    * ``z_std``: the standard deviation of :math:`z_l` over the batch and the units;
    * ``grad_norm``: :math:`\|\partial \mathcal L / \partial W_l\|_F = \sqrt{\sum g^2}`;
    * ``saturated``: the fraction of (input, unit) pairs with :math:`f'(z) < 0.01 \max f'`;
    * ``dead``: the fraction of units saturated for every input of the batch;
    * ``slope_grad``: PReLU only, :math:`|\partial \mathcal L / \partial a_l|` of layer
      :math:`l`'s slope, :math:`\sum (\partial \mathcal L / \partial h_l) \odot \min(z_l, 0)`
      (zeros for the other activations);

    and ``pre``, the pre-activations :math:`z_l`, shape ``(depth, batch, width)``.
    """
    name, _, _ = _check(activation_name, slope, alpha)
    depth = check_int("depth", depth, low=1)
    width, batch = check_int("width", width, low=1), check_int("batch", batch, low=1)
    hs, zs, ws = _forward(name, init, depth, slope, alpha, width, batch, seed)
    limit = SATURATION * peak_slope(name, slope, alpha)
    out = {k: np.zeros(depth) for k in ("z_std", "grad_norm", "saturated", "dead", "slope_grad")}
    dh = np.full((batch, width), 1.0 / batch)  # dL/dh_L
    for l in range(depth, 0, -1):
        z = zs[l - 1]
        fp = activation_slope(name, z, slope, alpha)
        delta = dh * fp
        g = delta.T @ hs[l - 1]
        out["grad_norm"][l - 1] = np.sqrt(np.sum(g * g))
        if name == "prelu":
            out["slope_grad"][l - 1] = abs(float(np.sum(dh * np.minimum(z, 0.0))))
        out["z_std"][l - 1] = np.std(z)
        flat = fp < limit
        out["saturated"][l - 1] = np.mean(flat)
        out["dead"][l - 1] = np.mean(np.all(flat, axis=0))
        dh = delta @ ws[l - 1]
    out["pre"] = np.stack(zs)
    return out


def histogram_with_tails(values, edges) -> np.ndarray:
    """Counts of ``values`` in the bins ``edges[i] <= v < edges[i+1]`` (the last bin closed, as
    ``numpy.histogram``), with one more count in front for ``v < edges[0]`` and one after for
    ``v > edges[-1]``: length ``len(edges) + 1``."""
    values, edges = np.ravel(np.asarray(values, dtype=float)), np.asarray(edges, dtype=float)
    inside = np.histogram(values, bins=edges)[0]
    return np.concatenate([[np.sum(values < edges[0])], inside, [np.sum(values > edges[-1])]]).astype(float)
