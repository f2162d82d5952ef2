r"""The saddle of :mod:`dlcourse.landscapes`: a loss averaged over examples, and mini-batch SGD.

.. math::
    \ell_i(x, y) = \tfrac12 x^2 - \tfrac12 y^2 + \tfrac14 y^4 + a_i x + b_i y,\qquad
    \frac1N \sum_i (a_i, b_i) = 0 \ \Rightarrow\
    f(x, y) = \frac1N \sum_i \ell_i = \tfrac12 x^2 - \tfrac12 y^2 + \tfrac14 y^4

:math:`f` has a saddle at the origin (stable along :math:`x`, unstable along :math:`y`) and minima
at :math:`(0, \pm 1)`. A mini-batch of size :math:`B` drawn with replacement sees the gradient of
:math:`f` plus the batch's mean offset, a noise of variance :math:`\sigma^2 / B`; the full batch
(:math:`B = N`, every example once) sees the exact gradient.

Near the saddle the unstable coordinate grows by the factor :math:`1 + \eta` per step,
:math:`y_{t+1} \approx (1 + \eta)\, y_t - \eta\, \bar b_t`, so a run leaves the saddle's
neighbourhood after about :math:`\log(\text{threshold} / |y|) / \log(1 + \eta)` steps, where
:math:`|y|` is the start offset for exact gradient descent and the size of the accumulated noise for
a mini-batch (:func:`escape_estimate`). :func:`saddle_sweep` measures the escape steps of many runs
for several batch sizes and :func:`escape_quantiles` summarises them.
"""

from __future__ import annotations

import math

import numpy as np

from ..validate import check_int

__all__ = [
    "SADDLE_EXAMPLES",
    "xorshift32",
    "saddle_loss",
    "saddle_offsets",
    "saddle_batch_means",
    "saddle_descent",
    "saddle_sgd",
    "escape_steps",
    "escape_quantiles",
    "escape_estimate",
    "saddle_sweep",
]

SADDLE_EXAMPLES = 64
_GOLDEN = 0x9E3779B1


def _mix32(x: np.ndarray) -> np.ndarray:
    """A 32-bit integer hash (two multiply-xorshift rounds); in JavaScript ``Math.imul``."""
    x = (x ^ (x >> np.uint32(16))) * np.uint32(0x45D9F3B)
    x = (x ^ (x >> np.uint32(16))) * np.uint32(0x45D9F3B)
    return x ^ (x >> np.uint32(16))


def _seed_states(seed: int, streams: np.ndarray) -> np.ndarray:
    """Nonzero xorshift32 states: ``mix32(seed * 0x9E3779B1 + stream + 1)`` (mod 2**32)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    base = np.uint32((int(seed) * _GOLDEN) % 2**32)
    state = _mix32(base + (np.asarray(streams, dtype=np.uint32) + np.uint32(1)))
    return np.where(state == 0, np.uint32(1), state)


def _advance(state: np.ndarray) -> np.ndarray:
    """One xorshift32 step (Marsaglia 2003): shifts 13, 17, 5 on 32-bit words."""
    state = state ^ (state << np.uint32(13))
    state = state ^ (state >> np.uint32(17))
    return state ^ (state << np.uint32(5))


def xorshift32(seed: int, count: int) -> np.ndarray:
    r"""``count`` 32-bit words from one xorshift32 stream, as ``uint32``.

    .. math::
        s_0 = \mathrm{mix32}(\mathrm{seed} \cdot \mathtt{0x9E3779B1} + 1),\quad
        s \leftarrow s \oplus (s \ll 13),\ s \leftarrow s \oplus (s \gg 17),\
        s \leftarrow s \oplus (s \ll 5)

    All arithmetic is modulo :math:`2^{32}`; the first word returned is :math:`s_1`.
    """
    state = _seed_states(seed, np.zeros(1))
    out = np.empty(count, dtype=np.uint32)
    for i in range(count):
        state = _advance(state)
        out[i] = state[0]
    return out


def saddle_loss(x, y):
    r""":math:`f(x, y) = \tfrac12 x x - \tfrac12 y y + \tfrac14 (y y)(y y)` (the mean over examples)."""
    yy = y * y
    return 0.5 * x * x - 0.5 * yy + 0.25 * yy * yy


def saddle_offsets(n: int = SADDLE_EXAMPLES, seed: int = 0) -> np.ndarray:
    r"""Per-example offsets :math:`(a_i, b_i)`, shape ``(n, 2)``, whose sum is exactly zero.

    The first :math:`n/2` rows are :math:`(k - 512) / 512` with :math:`k` the top 10 bits of
    successive ``xorshift32(seed)`` words (uniform on :math:`[-1, 1)`, variance about 1/3); the
    other half are their negatives. Every value is a multiple of :math:`2^{-9}`, so any sum of
    them is exact in float64, in any order.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2 or n % 2:
        raise ValueError(f"n must be an even integer >= 2, got {n!r}")
    k = (xorshift32(seed, n) >> np.uint32(22)).astype(float)
    half = ((k - 512.0) / 512.0).reshape(n // 2, 2)
    return np.concatenate([half, -half])


def saddle_batch_means(
    batch_size: int,
    steps: int,
    runs: int,
    n_examples: int = SADDLE_EXAMPLES,
    seed: int = 0,
) -> np.ndarray:
    r"""Mean offsets :math:`(\bar a, \bar b)` of each step's mini-batch, ``(runs, steps, 2)``.

    Run :math:`r` draws the example of batch slot :math:`j` from its own xorshift32 stream
    (``stream = r * 4096 + j``): word :math:`u` picks example :math:`\lfloor u N / 2^{32}
    \rfloor` (with replacement), so the means have variance :math:`\sigma^2 / B`. The sums are
    exact; the mean is the sum divided by :math:`B`. ``batch_size == n_examples`` is the full
    batch: every example once, mean exactly 0. Streams do not depend on ``steps`` or on the other
    runs, so fewer runs or steps give a prefix of the same numbers.
    """
    check_int("batch_size", batch_size, low=1, high=n_examples)
    steps, runs = check_int("steps", steps, low=0, high=10**6), check_int("runs", runs, low=1, high=4096)
    offsets = saddle_offsets(n_examples, seed)
    if batch_size == n_examples:
        return np.broadcast_to(offsets.sum(axis=0) / n_examples, (runs, steps, 2)).copy()
    streams = np.arange(runs)[:, None] * 4096 + np.arange(batch_size)[None, :]
    state = _seed_states(seed, streams)
    words = np.empty((runs, steps, batch_size), dtype=np.uint32)
    for t in range(steps):
        state = _advance(state)
        words[:, t] = state
    idx = (words.astype(np.uint64) * np.uint64(n_examples)) >> np.uint64(32)
    means = np.empty((runs, steps, 2))
    means[..., 0] = offsets[:, 0][idx].sum(axis=2) / batch_size
    means[..., 1] = offsets[:, 1][idx].sum(axis=2) / batch_size
    return means


def saddle_descent(batch_means, lr: float, start=(1.5, 0.0)) -> np.ndarray:
    r"""SGD on the saddle given each step's batch mean offsets ``(runs, steps, 2)``; returns the
    trajectories ``(runs, steps + 1, 2)``. Each step computes, in this order,

    .. math::
        g_x = x + \bar a,\qquad g_y = (y y) y - y + \bar b,\qquad
        x \leftarrow x - \alpha g_x,\quad y \leftarrow y - \alpha g_y
    """
    if not (isinstance(lr, (int, float, np.floating)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    runs, steps, _ = batch_means.shape
    x, y = np.full(runs, float(start[0])), np.full(runs, float(start[1]))
    out = np.empty((runs, steps + 1, 2))
    out[:, 0, 0], out[:, 0, 1] = x, y
    for t in range(steps):
        gx = x + batch_means[:, t, 0]
        gy = y * y * y - y + batch_means[:, t, 1]
        x, y = x - lr * gx, y - lr * gy
        out[:, t + 1, 0], out[:, t + 1, 1] = x, y
    return out


def saddle_sgd(
    batch_size: int,
    lr: float,
    steps: int,
    runs: int,
    start=(1.5, 0.0),
    n_examples: int = SADDLE_EXAMPLES,
    seed: int = 0,
) -> np.ndarray:
    r"""``runs`` mini-batch SGD trajectories on the saddle, shape ``(runs, steps + 1, 2)``:
    :func:`saddle_descent` driven by :func:`saddle_batch_means`. A full batch started on the
    stable direction (:math:`y = 0`) keeps :math:`y = 0` exactly: it never leaves the saddle."""
    return saddle_descent(saddle_batch_means(batch_size, steps, runs, n_examples, seed), lr, start)


def escape_steps(trajectories, threshold: float = 0.5) -> np.ndarray:
    r"""First step :math:`t \ge 1` with :math:`|y_t| \ge` ``threshold`` for each run (``inf`` if
    it never leaves the saddle's neighbourhood). ``trajectories``: ``(runs, steps + 1, 2)``."""
    y = np.abs(np.asarray(trajectories)[:, 1:, 1])
    hit = y >= threshold
    return np.where(hit.any(axis=1), hit.argmax(axis=1) + 1.0, np.inf)


def escape_quantiles(steps, qs) -> np.ndarray:
    r"""Quantiles of escape steps that may be ``inf`` (never escaped): numpy's ``linear`` method.

    For sorted values :math:`v_0 \le \dots \le v_{n-1}` and :math:`q \in [0, 1]`, with
    :math:`p = q (n - 1)`, :math:`i = \lfloor p \rfloor`, :math:`f = p - i`:

    .. math::
        Q(q) = v_i \ \text{if } f = 0 \text{ or } v_{i+1} = v_i, \qquad
        Q(q) = v_i + f\,(v_{i+1} - v_i) \ \text{otherwise}

    so a quantile that reaches into the runs that never escaped is ``inf`` (``numpy.percentile``
    gives ``nan`` there). Equal to ``numpy.quantile`` whenever every value is finite.
    """
    v = np.sort(np.asarray(steps, dtype=float).ravel())
    if v.size == 0:
        raise ValueError("steps must hold at least one value, got an empty array")
    out = []
    for q in np.atleast_1d(np.asarray(qs, dtype=float)):
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"qs must lie in [0, 1], got {q!r}")
        p = q * (v.size - 1)
        i = int(math.floor(p))
        f = p - i
        if f == 0.0 or v[i + 1] == v[i]:
            out.append(v[i])
        else:
            out.append(v[i] + f * (v[i + 1] - v[i]))
    return np.array(out)


def escape_estimate(y0: float, lr: float, threshold: float = 0.5) -> float:
    r"""Steps exact gradient descent needs to carry :math:`|y|` from ``y0`` to ``threshold``,
    counting the growth by :math:`1 + \eta` per step near the saddle (``inf`` for ``y0 == 0``).

    .. math::
        t \approx \frac{\log(\text{threshold} / |y_0|)}{\log(1 + \eta)}

    It slightly underestimates: the growth slows as :math:`y^3` becomes comparable to :math:`y`.
    """
    if not (isinstance(lr, (int, float, np.floating)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if not (isinstance(y0, (int, float, np.floating)) and math.isfinite(y0)):
        raise ValueError(f"y0 must be a finite number, got {y0!r}")
    if y0 == 0.0:
        return math.inf
    return math.log(threshold / abs(y0)) / math.log(1.0 + lr)


def saddle_sweep(
    batch_sizes,
    lr: float,
    steps: int,
    runs: int,
    y0: float = 0.0,
    x0: float = 1.5,
    n_examples: int = SADDLE_EXAMPLES,
    seed: int = 0,
) -> np.ndarray:
    r"""Escape steps of ``runs`` SGD runs from :math:`(x_0, y_0)` for each batch size, shape
    ``(len(batch_sizes), runs)``: :func:`escape_steps` of :func:`saddle_sgd` (``inf``: not within
    ``steps``). ``batch_size == n_examples`` is the full batch, whose every run is the same."""
    return np.stack(
        [escape_steps(saddle_sgd(b, lr, steps, runs, (x0, y0), n_examples, seed)) for b in batch_sizes]
    )
