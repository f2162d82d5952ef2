r"""Activation functions and their derivatives, written out from their formulas.

Every pointwise activation ``f`` comes with ``f_grad(x)``: the elementwise derivative
:math:`f'(x)` evaluated at the input ``x`` (not at the output). The hand-written backward pass
of :mod:`dlcourse.backprop` multiplies the upstream gradient by it:
``delta = upstream * f_grad(z)``. :func:`get_activation` returns both by name.

All functions are stable at :math:`\pm 10^4`: no ``inf``/``nan`` in the value or in the autograd
gradient. The trick throughout is to evaluate :math:`e^{t}` only for :math:`t \le 0`, clamping
the input of the branch that ``torch.where`` discards (an ``inf`` in a discarded branch still
poisons the gradient with ``nan``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .losses import softmax
from .validate import check_real, check_tensor

__all__ = [
    "ACTIVATIONS",
    "Maxout",
    "elu",
    "elu_grad",
    "get_activation",
    "leaky_relu",
    "leaky_relu_grad",
    "prelu",
    "prelu_grad",
    "relu",
    "relu_grad",
    "sigmoid",
    "sigmoid_grad",
    "softmax",
    "tanh",
    "tanh_grad",
]

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu")


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    r"""Logistic sigmoid, in two branches so that :math:`e^{t}` only sees :math:`t \le 0`.

    .. math::
        \sigma(x) = \frac{1}{1 + e^{-x}} \quad (x \ge 0), \qquad
        \sigma(x) = \frac{e^{x}}{1 + e^{x}} \quad (x < 0)

    Both lines are the same function; the second avoids :math:`e^{-x} = \infty` for very
    negative :math:`x`.
    """
    check_tensor("x", x, floating=True)
    pos = torch.exp(-x.clamp(min=0))  # e^{-x} for x >= 0, never overflows
    neg = torch.exp(x.clamp(max=0))  # e^{x} for x < 0, never overflows
    return torch.where(x >= 0, 1 / (1 + pos), neg / (1 + neg))


def sigmoid_grad(x: torch.Tensor) -> torch.Tensor:
    r"""Derivative of the sigmoid at ``x``.

    .. math::
        \sigma'(x) = \sigma(x)\,\big(1 - \sigma(x)\big)
    """
    s = sigmoid(x)
    return s * (1 - s)


def tanh(x: torch.Tensor) -> torch.Tensor:
    r"""Hyperbolic tangent, in two branches with exponents :math:`\le 0`.

    .. math::
        \tanh(x) = \frac{1 - e^{-2x}}{1 + e^{-2x}} \quad (x > 0), \qquad
        \tanh(x) = \frac{e^{2x} - 1}{e^{2x} + 1} \quad (x \le 0)

    The numerators use ``expm1`` (:math:`e^t - 1` computed without cancellation), so that
    :math:`\tanh(x) \approx x` stays accurate for tiny :math:`x`. Note :math:`\tanh(x) = 2\sigma(2x) - 1`.
    """
    check_tensor("x", x, floating=True)
    t_pos = -2 * x.clamp(min=0)  # -2x <= 0
    t_neg = 2 * x.clamp(max=0)  # 2x <= 0
    pos = -torch.expm1(t_pos) / (1 + torch.exp(t_pos))
    neg = torch.expm1(t_neg) / (1 + torch.exp(t_neg))
    return torch.where(x > 0, pos, neg)


def tanh_grad(x: torch.Tensor) -> torch.Tensor:
    r"""Derivative of tanh at ``x``.

    .. math::
        \tanh'(x) = 1 - \tanh^2(x)
    """
    t = tanh(x)
    return 1 - t * t


def relu(x: torch.Tensor) -> torch.Tensor:
    r"""Rectified linear unit.

    .. math::
        \operatorname{relu}(x) = \max(0, x)
    """
    check_tensor("x", x, floating=True)
    return torch.where(x > 0, x, torch.zeros_like(x))


def relu_grad(x: torch.Tensor) -> torch.Tensor:
    r"""Derivative of relu at ``x``; at :math:`x = 0` it is taken as 0, as torch does.

    .. math::
        \operatorname{relu}'(x) = [x > 0]
    """
    check_tensor("x", x, floating=True)
    return (x > 0).to(x.dtype)


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    r"""Leaky relu (Maas et al., 2013) with slope :math:`a` = ``negative_slope`` for :math:`x \le 0`.

    .. math::
        f(x) = x \quad (x > 0), \qquad f(x) = a x \quad (x \le 0)
    """
    check_tensor("x", x, floating=True)
    a = check_real("negative_slope", negative_slope)
    return torch.where(x > 0, x, a * x)


def leaky_relu_grad(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    r"""Derivative of leaky relu at ``x`` (:math:`a` at :math:`x = 0`, as torch).

    .. math::
        f'(x) = 1 \quad (x > 0), \qquad f'(x) = a \quad (x \le 0)
    """
    check_tensor("x", x, floating=True)
    a = check_real("negative_slope", negative_slope)
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, a))


def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    r"""Exponential linear unit (Clevert et al., 2016).

    .. math::
        f(x) = x \quad (x > 0), \qquad f(x) = \alpha\,(e^{x} - 1) \quad (x \le 0)

    :math:`e^x - 1` is ``expm1`` of the input clamped to :math:`\le 0`, so the discarded branch
    never computes :math:`e^{10^4}`.
    """
    check_tensor("x", x, floating=True)
    alpha = check_real("alpha", alpha)
    return torch.where(x > 0, x, alpha * torch.expm1(x.clamp(max=0)))


def elu_grad(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    r"""Derivative of elu at ``x``.

    .. math::
        f'(x) = 1 \quad (x > 0), \qquad f'(x) = \alpha e^{x} \quad (x \le 0)
    """
    check_tensor("x", x, floating=True)
    alpha = check_real("alpha", alpha)
    return torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(x.clamp(max=0)))


def _prelu_weight(x: torch.Tensor, weight: object) -> torch.Tensor:
    """The PReLU weight reshaped to broadcast against x: one slope, or one per channel (dim 1)."""
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"weight must be a torch.Tensor, got {type(weight).__name__}")
    if weight.ndim > 1:
        raise ValueError(f"weight must be 0-d or 1-d, got shape {tuple(weight.shape)}")
    if weight.numel() == 1:
        return weight.reshape(())
    channels = x.shape[1] if x.ndim >= 2 else 1
    if weight.numel() != channels:
        raise ValueError(
            f"weight must have 1 or {channels} elements (the channels, dimension 1 of x of shape "
            f"{tuple(x.shape)}; a 1-d x has one channel), got {weight.numel()}"
        )
    return weight.reshape((1, channels) + (1,) * (x.ndim - 2))


def prelu(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    r"""Parametric relu (He et al., 2015): leaky relu whose slope :math:`a` is learned.

    ``weight`` has one element (shared slope) or one per channel, the channels being
    dimension 1 of ``x`` (a 0-d or 1-d ``x`` has a single channel), as in ``F.prelu``.

    .. math::
        f(x) = x \quad (x > 0), \qquad f(x) = a_c\, x \quad (x \le 0)
    """
    check_tensor("x", x, floating=True)
    a = _prelu_weight(x, weight)
    return torch.where(x > 0, x, a * x)


def prelu_grad(x: torch.Tensor, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Both partial derivatives of prelu, elementwise, each of the shape of ``x``.

    .. math::
        \frac{\partial f}{\partial x} = 1 \quad (x > 0), \quad a_c \quad (x \le 0); \qquad
        \frac{\partial f}{\partial a_c} = 0 \quad (x > 0), \quad x \quad (x \le 0)

    Returns ``(d_x, d_a)``. A slope is shared by many elements, so the gradient of a loss
    with respect to the weight sums over them: for upstream gradient ``g``,
    ``(g * d_a).sum()`` for a single slope, or ``(g * d_a)`` summed over every dimension but
    the channel dimension for per-channel slopes.
    """
    check_tensor("x", x, floating=True)
    a = _prelu_weight(x, weight)
    d_x = torch.where(x > 0, torch.ones_like(x), a.to(x.dtype).expand_as(x))
    d_a = torch.where(x > 0, torch.zeros_like(x), x)
    return d_x, d_a


_TABLE: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], Callable[[torch.Tensor], torch.Tensor]]] = {
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "elu": (elu, elu_grad),
}


def get_activation(
    name: str,
) -> tuple[Callable[[torch.Tensor], torch.Tensor], Callable[[torch.Tensor], torch.Tensor]]:
    """``(f, f_grad)`` for ``name`` in :data:`ACTIVATIONS` (default parameters: slope 0.01, alpha 1)."""
    if not isinstance(name, str):
        raise TypeError(f"activation name must be a str, got {type(name).__name__} {name!r}")
    if name not in _TABLE:
        raise ValueError(f"unknown activation {name!r}; expected one of {ACTIVATIONS}")
    return _TABLE[name]


class Maxout(nn.Module):
    r"""Maxout unit (Goodfellow et al., 2013): the maximum of ``pieces`` affine maps.

    .. math::
        z = x W^\top + b \in \mathbb{R}^{\text{out} \times k}, \qquad
        y_j = \max_{p = 1..k} z_{j,p}

    One ``nn.Linear(in_features, out_features * pieces)`` computes every piece; its output is
    viewed as ``(..., out_features, pieces)`` and maximised over the last dimension.
    """

    def __init__(self, in_features: int, out_features: int, pieces: int) -> None:
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features), ("pieces", pieces)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
            if value <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        self.in_features = in_features
        self.out_features = out_features
        self.pieces = pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1:] != (self.in_features,):
            raise ValueError(f"x must have last dimension {self.in_features}, got shape {tuple(x.shape)}")
        z = self.linear(x).unflatten(-1, (self.out_features, self.pieces))
        return z.amax(dim=-1)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, pieces={self.pieces}"
