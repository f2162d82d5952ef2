r"""Weight initializers: Xavier/Glorot and Kaiming/He, the same distributions as ``torch.nn.init``.

The idea: choose the spread of the initial weights so that the variance of the activations
(forward) or of the gradients (backward) neither grows nor shrinks from layer to layer.
A weight of shape ``(out, in, *kernel)`` (``nn.Linear``: ``(out, in)``; ``nn.Conv2d``:
``(out, in, kh, kw)``) has

.. math::
    \text{fan\_in} = \text{in} \cdot \textstyle\prod \text{kernel}, \qquad
    \text{fan\_out} = \text{out} \cdot \textstyle\prod \text{kernel}

A uniform law on :math:`[-b, b]` has standard deviation :math:`b / \sqrt 3`, so each uniform
initializer uses the bound :math:`b = \sqrt{3}\,\mathrm{std}` of its normal sibling.
Every function fills the tensor in place (without recording it for autograd) and returns it.
"""

from __future__ import annotations

import math

import torch

from .validate import check_generator, check_real

__all__ = ["calculate_gain", "kaiming_normal_", "kaiming_uniform_", "xavier_normal_", "xavier_uniform_"]

_LINEAR_LIKE = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)
NONLINEARITIES = _LINEAR_LIKE + ("tanh", "relu", "leaky_relu", "selu")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    r"""The gain :math:`g` that rescales the std for a nonlinearity (as ``torch.nn.init``).

    .. math::
        g_{\text{linear, conv, sigmoid}} = 1, \quad g_{\tanh} = \tfrac53, \quad
        g_{\text{relu}} = \sqrt2, \quad g_{\text{leaky}}(a) = \sqrt{\tfrac{2}{1 + a^2}}, \quad
        g_{\text{selu}} = \tfrac34

    ``param`` is the leaky relu's negative slope :math:`a` (default 0.01); other names ignore it.

    .. note::
        :math:`\sqrt2` for relu is derived (He et al., 2015): relu zeroes half of a symmetric
        input, halving the second moment. :math:`5/3` (tanh) and :math:`3/4` (selu) are
        empirical choices of torch, not derivations.
    """
    if not isinstance(nonlinearity, str):
        raise TypeError(f"nonlinearity must be a str, got {type(nonlinearity).__name__} {nonlinearity!r}")
    if nonlinearity in _LINEAR_LIKE:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        else:
            slope = check_real("param", param)  # the negative slope
        return math.sqrt(2.0 / (1.0 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}; expected one of {NONLINEARITIES}")


def _fans(t: object) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel)."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"t must be a torch.Tensor, got {type(t).__name__}")
    if not t.is_floating_point():
        raise TypeError(f"t must be a floating-point tensor, got dtype {t.dtype}")
    if t.ndim < 2:
        raise ValueError(
            f"fan in and fan out need a tensor with at least 2 dimensions, got shape {tuple(t.shape)}"
        )
    receptive_field = math.prod(t.shape[2:])
    return t.shape[1] * receptive_field, t.shape[0] * receptive_field


def _uniform_(t: torch.Tensor, bound: float, generator: torch.Generator | None) -> torch.Tensor:
    with torch.no_grad():
        return t.uniform_(-bound, bound, generator=generator)


def _normal_(t: torch.Tensor, std: float, generator: torch.Generator | None) -> torch.Tensor:
    with torch.no_grad():
        return t.normal_(0.0, std, generator=generator)


def xavier_uniform_(
    t: torch.Tensor, gain: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Glorot & Bengio (2010) uniform initialization, in place.

    .. math::
        \mathrm{std} = g \sqrt{\frac{2}{\text{fan\_in} + \text{fan\_out}}}, \qquad
        b = \sqrt3\, \mathrm{std}, \qquad W_{ij} \sim \mathcal U(-b, b)

    The harmonic compromise between keeping forward variance (needs :math:`1/\text{fan\_in}`)
    and backward variance (needs :math:`1/\text{fan\_out}`).
    """
    fan_in, fan_out = _fans(t)
    gain = check_real("gain", gain, low=0)
    check_generator("generator", generator)
    if t.numel() == 0:
        return t
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _uniform_(t, math.sqrt(3.0) * std, generator)


def xavier_normal_(
    t: torch.Tensor, gain: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Glorot & Bengio (2010) normal initialization, in place.

    .. math::
        \mathrm{std} = g \sqrt{\frac{2}{\text{fan\_in} + \text{fan\_out}}}, \qquad
        W_{ij} \sim \mathcal N(0, \mathrm{std}^2)
    """
    fan_in, fan_out = _fans(t)
    gain = check_real("gain", gain, low=0)
    check_generator("generator", generator)
    if t.numel() == 0:
        return t
    return _normal_(t, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(t: torch.Tensor, mode: object, nonlinearity: str, a: float) -> float:
    fan_in, fan_out = _fans(t)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = fan_in if mode == "fan_in" else fan_out
    gain = calculate_gain(nonlinearity, a if nonlinearity == "leaky_relu" else None)
    return gain / math.sqrt(fan) if fan else 0.0


def kaiming_uniform_(
    t: torch.Tensor,
    mode: str = "fan_in",
    nonlinearity: str = "relu",
    generator: torch.Generator | None = None,
    *,
    a: float = 0.0,
) -> torch.Tensor:
    r"""He et al. (2015) uniform initialization, in place.

    .. math::
        \mathrm{std} = \frac{g}{\sqrt{\text{fan}}}, \qquad b = \sqrt3\,\mathrm{std}, \qquad
        W_{ij} \sim \mathcal U(-b, b)

    with :math:`g` = ``calculate_gain(nonlinearity, a)`` and fan = ``fan_in`` (keeps the forward
    variance) or ``fan_out`` (keeps the backward variance).

    .. note::
        torch's default is ``nonlinearity="leaky_relu"`` with ``a=0``, which gives the same gain
        :math:`\sqrt 2` as ``"relu"``. ``a`` (keyword only) is the negative slope used when
        ``nonlinearity="leaky_relu"``; here ``a=0`` means slope 0, whereas ``calculate_gain``'s
        own default slope is 0.01 (as in torch).
    """
    std = _kaiming_std(t, mode, nonlinearity, a)
    check_generator("generator", generator)
    if t.numel() == 0:
        return t
    return _uniform_(t, math.sqrt(3.0) * std, generator)


def kaiming_normal_(
    t: torch.Tensor,
    mode: str = "fan_in",
    nonlinearity: str = "relu",
    generator: torch.Generator | None = None,
    *,
    a: float = 0.0,
) -> torch.Tensor:
    r"""He et al. (2015) normal initialization, in place.

    .. math::
        \mathrm{std} = \frac{g}{\sqrt{\text{fan}}}, \qquad W_{ij} \sim \mathcal N(0, \mathrm{std}^2)

    Arguments as in :func:`kaiming_uniform_`.
    """
    std = _kaiming_std(t, mode, nonlinearity, a)
    check_generator("generator", generator)
    if t.numel() == 0:
        return t
    return _normal_(t, std, generator)
