r"""Data augmentation on image tensors, written out and seeded.

Every transform takes a float tensor of shape ``(N, C, H, W)`` or ``(C, H, W)`` and returns one of
the same shape, dtype and device (``random_crop`` changes ``H, W`` to the crop size). Randomness
comes only from the ``generator`` argument (a :class:`torch.Generator`; ``None`` uses torch's
global one), and every image of a batch draws its own parameters. Random numbers are drawn on the
generator's device and then moved to the images' device, so a CPU generator gives the same
augmentation whether the images live on the CPU or a GPU.

Geometric transforms describe, for every *output* pixel :math:`\mathbf{p}`, where in the *input*
to read it from (:math:`\mathbf{p} \mapsto T(\mathbf{p})`) and read it with bilinear interpolation
(``F.grid_sample``); points that fall outside the image read 0. Coordinates are normalised to
:math:`[-1, 1]` with ``align_corners=False``, so one pixel is :math:`2/W` wide.

``Compose`` chains transforms; ``mixup`` (Zhang et al., 2018) mixes pairs of examples *and* their
labels, so it takes the labels as well.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .validate import check_generator, check_int, check_real, check_tensor

__all__ = [
    "hflip",
    "translate",
    "random_crop",
    "rotate",
    "scale",
    "elastic",
    "brightness_contrast",
    "color_jitter",
    "gaussian_noise",
    "Compose",
    "mixup",
]


# ----------------------------------------------------------------------------- argument checks
def _images(x: object) -> tuple[torch.Tensor, bool]:
    """Return ``x`` as a 4-d batch, (N, C, H, W), and whether it was a single (C, H, W) image."""
    x = check_tensor("x", x, floating=True, ndim=(3, 4))
    return (x.unsqueeze(0), True) if x.ndim == 3 else (x, False)


def _generator(generator: object) -> torch.Generator | None:
    return check_generator("generator", generator)


def _number(name: str, value: object, low: float | None = None, high: float | None = None) -> float:
    return check_real(name, value, low=low, high=high)


def _range(name: str, value: object, low: float | None = None) -> tuple[float, float]:
    """A number ``d`` means the symmetric range ``(-d, d)``; a pair ``(lo, hi)`` is taken as is."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != 2:
            raise ValueError(f"{name} must be a number or a pair (low, high), got {value!r}")
        lo, hi = (_number(name, v, low=low) for v in value)
        if lo > hi:
            raise ValueError(f"{name} must have low <= high, got {value!r}")
        return lo, hi
    d = _number(name, value, low=0.0)
    return -d, d


def _nonneg_int(name: str, value: object) -> int:
    return check_int(name, value, low=0)


def _uniform(n: int, lo: float, hi: float, x: torch.Tensor, generator) -> torch.Tensor:
    """``n`` draws from U(lo, hi) on the generator's device, returned on ``x``'s device and dtype."""
    where = generator.device if generator is not None else "cpu"
    u = torch.rand(n, generator=generator, device=where, dtype=torch.float64)
    return (lo + (hi - lo) * u).to(device=x.device, dtype=x.dtype)


def _randint(n: int, lo: int, hi: int, x: torch.Tensor, generator) -> torch.Tensor:
    """``n`` integers uniform in [lo, hi] (both ends included), on ``x``'s device."""
    where = generator.device if generator is not None else "cpu"
    return torch.randint(lo, hi + 1, (n,), generator=generator, device=where).to(x.device)


def _sample(batch: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Read every output pixel p from the input at theta @ [p, 1] (normalised coordinates)."""
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    return F.grid_sample(batch, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _crop(padded: torch.Tensor, tops: torch.Tensor, lefts: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Cut an (h, w) window at (tops[i], lefts[i]) out of image i, all images at once."""
    n, c = padded.shape[:2]
    rows = tops[:, None] + torch.arange(h, device=padded.device)  # (N, h)
    cols = lefts[:, None] + torch.arange(w, device=padded.device)  # (N, w)
    i = torch.arange(n, device=padded.device)[:, None, None, None]
    ch = torch.arange(c, device=padded.device)[None, :, None, None]
    return padded[i, ch, rows[:, None, :, None], cols[:, None, None, :]]


# ----------------------------------------------------------------------------- geometric
def hflip(x: torch.Tensor, p: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Mirror each image left-right with probability ``p`` (``p=1``: every image, no randomness).

    .. math::
        x'_{c,i,j} = x_{c,i,W-1-j}
    """
    batch, single = _images(x)
    p = _number("p", p, 0.0, 1.0)
    generator = _generator(generator)
    flipped = batch[..., torch.arange(batch.shape[-1] - 1, -1, -1, device=batch.device)]
    if p < 1.0:
        mask = _uniform(batch.shape[0], 0.0, 1.0, batch, generator) < p
        flipped = torch.where(mask[:, None, None, None], flipped, batch)
    return flipped[0] if single else flipped


def translate(x: torch.Tensor, max_shift: int, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Shift each image by whole pixels :math:`(d_y, d_x)`, each uniform in ``[-max_shift, max_shift]``.

    .. math::
        x'_{c,i,j} = x_{c,\,i-d_y,\,j-d_x} \quad (0 \text{ outside the image})

    Written as: pad by ``max_shift`` zeros on every side, cut the original size back out at
    offset :math:`(m - d_y, m - d_x)`. ``max_shift=0`` returns the images unchanged.
    """
    batch, single = _images(x)
    m = _nonneg_int("max_shift", max_shift)
    generator = _generator(generator)
    n, _, h, w = batch.shape
    dy = _randint(n, -m, m, batch, generator)
    dx = _randint(n, -m, m, batch, generator)
    out = _crop(F.pad(batch, (m, m, m, m)), m - dy, m - dx, h, w)
    return out[0] if single else out


def random_crop(
    x: torch.Tensor, size: int | tuple[int, int], padding: int = 0, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Pad every side with ``padding`` zeros, then cut a ``size`` window at a uniform random place.

    The top-left corner is uniform in :math:`\{0, \dots, H + 2\,\text{padding} - h\}` (likewise for
    columns). ``size`` equal to the image size with ``padding=m`` is a random translation.
    """
    batch, single = _images(x)
    pad = _nonneg_int("padding", padding)
    generator = _generator(generator)
    h, w = (size, size) if isinstance(size, int) and not isinstance(size, bool) else tuple(size)
    n, _, height, width = batch.shape
    for name, v, limit in (("size[0]", h, height + 2 * pad), ("size[1]", w, width + 2 * pad)):
        check_int(name, v, low=1, high=limit)  # at most the padded image size
    tops = _randint(n, 0, height + 2 * pad - h, batch, generator)
    lefts = _randint(n, 0, width + 2 * pad - w, batch, generator)
    out = _crop(F.pad(batch, (pad, pad, pad, pad)), tops, lefts, h, w)
    return out[0] if single else out


def rotate(
    x: torch.Tensor, degrees: float | tuple[float, float], generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Rotate each image about its centre by :math:`\phi` uniform in ``degrees`` (``d`` means ``(-d, d)``).

    In pixel units centred on the image, output pixel :math:`\mathbf{p}` reads the input at
    :math:`R(\phi)\,\mathbf{p}`. In normalised coordinates (:math:`x/(W/2)`, :math:`y/(H/2)`):

    .. math::
        \theta = \begin{pmatrix} \cos\phi & -\sin\phi \cdot H/W & 0 \\
                                 \sin\phi \cdot W/H & \cos\phi & 0 \end{pmatrix}

    A fixed angle is ``degrees=(a, a)``.
    """
    batch, single = _images(x)
    lo, hi = _range("degrees", degrees)
    generator = _generator(generator)
    n, _, h, w = batch.shape
    phi = torch.deg2rad(_uniform(n, lo, hi, batch, generator))
    cos, sin, zero = torch.cos(phi), torch.sin(phi), torch.zeros_like(phi)
    theta = torch.stack(
        [torch.stack([cos, -sin * h / w, zero], 1), torch.stack([sin * w / h, cos, zero], 1)], 1
    )
    out = _sample(batch, theta)
    return out[0] if single else out


def scale(
    x: torch.Tensor, factor: tuple[float, float] = (0.9, 1.1), generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Zoom each image about its centre by :math:`s` uniform in ``factor = (low, high)``.

    :math:`s > 1` enlarges (zooms in), :math:`s < 1` shrinks with zeros around. Output pixel
    :math:`\mathbf{p}` reads the input at :math:`\mathbf{p}/s`:

    .. math::
        \theta = \begin{pmatrix} 1/s & 0 & 0 \\ 0 & 1/s & 0 \end{pmatrix}
    """
    batch, single = _images(x)
    lo, hi = _range("factor", factor, low=1e-6)
    if lo <= 0:
        raise ValueError(f"factor must be a pair (low, high) with 0 < low <= high, got {factor!r}")
    generator = _generator(generator)
    inv = 1.0 / _uniform(batch.shape[0], lo, hi, batch, generator)
    zero = torch.zeros_like(inv)
    theta = torch.stack([torch.stack([inv, zero, zero], 1), torch.stack([zero, inv, zero], 1)], 1)
    out = _sample(batch, theta)
    return out[0] if single else out


def _gaussian_kernel(sigma: float, like: torch.Tensor) -> torch.Tensor:
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, device=like.device, dtype=like.dtype)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    return k / k.sum()


def elastic(
    x: torch.Tensor, alpha: float = 8.0, sigma: float = 3.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Elastic deformation (Simard, Steinkraus & Platt, 2003).

    Draw a random displacement for every pixel, smooth it with a Gaussian of standard deviation
    ``sigma`` pixels, scale it by ``alpha`` pixels, and read each output pixel from the displaced
    point (bilinear):

    .. math::
        u, v \sim \mathcal{U}(-1, 1)^{H \times W}, \qquad
        \Delta x = \alpha\, (G_\sigma * u), \quad \Delta y = \alpha\, (G_\sigma * v) \\
        x'(i, j) = x(i + \Delta y_{ij},\; j + \Delta x_{ij})

    Small ``sigma`` gives an almost random jitter, large ``sigma`` an almost rigid shift; the paper
    used ``sigma=4, alpha=34`` on 28x28 digits. One field per image, shared by its channels.

    .. note::
        The smoothing pads the random field with zeros, so displacements fade near the border.
    """
    batch, single = _images(x)
    alpha = _number("alpha", alpha, low=0.0)
    sigma = _number("sigma", sigma, low=1e-3)
    generator = _generator(generator)
    n, _, h, w = batch.shape
    field = _uniform(n * 2 * h * w, -1.0, 1.0, batch, generator).reshape(n * 2, 1, h, w)
    k = _gaussian_kernel(sigma, batch)
    r = k.numel() // 2
    field = F.conv2d(field, k.view(1, 1, 1, -1), padding=(0, r))  # smooth along rows ...
    field = F.conv2d(field, k.view(1, 1, -1, 1), padding=(r, 0))  # ... then along columns
    field = alpha * field.reshape(n, 2, h, w)  # pixels: [:, 0] = dx, [:, 1] = dy
    identity = torch.eye(2, 3, device=batch.device, dtype=batch.dtype).expand(n, 2, 3)
    grid = F.affine_grid(identity, list(batch.shape), align_corners=False)  # (N, H, W, 2) as (x, y)
    grid = grid + torch.stack([field[:, 0] * 2 / w, field[:, 1] * 2 / h], dim=-1)
    out = F.grid_sample(batch, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out[0] if single else out


# ----------------------------------------------------------------------------- photometric
def brightness_contrast(
    x: torch.Tensor, brightness: float = 0.2, contrast: float = 0.2, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Scale each image's contrast about its mean by :math:`c`, then shift it by :math:`b`.

    .. math::
        c \sim \mathcal{U}(1-\text{contrast}, 1+\text{contrast}), \quad
        b \sim \mathcal{U}(-\text{brightness}, \text{brightness}) \\
        x' = \bar{x} + c\,(x - \bar{x}) + b

    :math:`\bar x` is the image's mean over channels and pixels. Values are not clipped.
    """
    batch, single = _images(x)
    brightness = _number("brightness", brightness, low=0.0)
    contrast = _number("contrast", contrast, 0.0, 1.0)
    generator = _generator(generator)
    n = batch.shape[0]
    c = _uniform(n, 1 - contrast, 1 + contrast, batch, generator)[:, None, None, None]
    b = _uniform(n, -brightness, brightness, batch, generator)[:, None, None, None]
    mean = batch.mean(dim=(1, 2, 3), keepdim=True)
    out = mean + c * (batch - mean) + b
    return out[0] if single else out


def color_jitter(
    x: torch.Tensor,
    saturation: float = 0.5,
    channel_gain: float = 0.1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Change the colour of RGB images: saturation about the grey value, then a gain per channel.

    .. math::
        g = 0.299\,R + 0.587\,G + 0.114\,B, \qquad
        \sigma \sim \mathcal{U}(1-\text{saturation}, 1+\text{saturation}) \\
        x'_c = \gamma_c\,\big(g + \sigma\,(x_c - g)\big), \qquad
        \gamma_c \sim \mathcal{U}(1-\text{channel\_gain}, 1+\text{channel\_gain})

    :math:`\sigma = 0` gives the grey image, :math:`\sigma > 1` more vivid colours. Needs
    ``C = 3``; the grey weights are ITU-R BT.601's.
    """
    batch, single = _images(x)
    if batch.shape[1] != 3:
        raise ValueError(f"color_jitter needs RGB images with C=3 channels, got C={batch.shape[1]}")
    saturation = _number("saturation", saturation, 0.0, 1.0)
    channel_gain = _number("channel_gain", channel_gain, 0.0, 1.0)
    generator = _generator(generator)
    n = batch.shape[0]
    weights = torch.tensor([0.299, 0.587, 0.114], device=batch.device, dtype=batch.dtype)
    grey = (batch * weights[None, :, None, None]).sum(1, keepdim=True)
    s = _uniform(n, 1 - saturation, 1 + saturation, batch, generator)[:, None, None, None]
    gain = _uniform(n * 3, 1 - channel_gain, 1 + channel_gain, batch, generator).view(n, 3, 1, 1)
    out = gain * (grey + s * (batch - grey))
    return out[0] if single else out


def gaussian_noise(
    x: torch.Tensor, std: float = 0.05, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Add independent Gaussian noise to every pixel: :math:`x' = x + \text{std}\cdot z,\ z \sim \mathcal{N}(0, 1)`."""
    batch, single = _images(x)
    std = _number("std", std, low=0.0)
    generator = _generator(generator)
    where = generator.device if generator is not None else "cpu"
    z = torch.randn(batch.shape, generator=generator, device=where, dtype=torch.float64)
    out = batch + std * z.to(device=batch.device, dtype=batch.dtype)
    return out[0] if single else out


class Compose:
    """Apply transforms in order, passing the same generator to each.

    Each transform is a callable ``t(x, generator=...)``, for example
    ``functools.partial(rotate, degrees=10)``.
    """

    def __init__(self, transforms: Sequence[Callable[..., torch.Tensor]]):
        transforms = list(transforms)
        for i, t in enumerate(transforms):
            if not callable(t):
                raise TypeError(f"transforms[{i}] must be callable, got {type(t).__name__}")
        self.transforms = transforms

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        for t in self.transforms:
            x = t(x, generator=generator)
        return x

    def __repr__(self) -> str:
        names = ", ".join(getattr(t, "__name__", None) or repr(t) for t in self.transforms)
        return f"Compose([{names}])"


# ----------------------------------------------------------------------------- mixup
def mixup(
    x: torch.Tensor,
    y: torch.Tensor,
    alpha: float,
    num_classes: int | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor, float]:
    r"""Mixup (Zhang, Cissé, Dauphin & Lopez-Paz, 2018): mix the batch with a shuffled copy of itself.

    .. math::
        \lambda \sim \operatorname{Beta}(\alpha, \alpha), \qquad \pi = \text{a random permutation} \\
        \tilde{\mathbf{x}}_i = \lambda\, \mathbf{x}_i + (1-\lambda)\, \mathbf{x}_{\pi(i)}, \qquad
        \tilde{\mathbf{y}}_i = \lambda\, \mathbf{y}_i + (1-\lambda)\, \mathbf{y}_{\pi(i)}

    ``x`` is any float tensor with the batch on dimension 0. ``y`` holds class indices (then
    ``num_classes`` is required and they are one-hot encoded first) or soft/one-hot targets of
    shape ``(N, K)``. Returns ``(x_mix, y_mix, lam)``; each row of ``y_mix`` sums to 1 when the
    rows of ``y`` do. Train with the cross-entropy against the soft targets,
    :math:`-\sum_k \tilde y_k \log s_k`. One :math:`\lambda` per batch, as in the paper's code.

    .. note::
        :math:`\lambda` is drawn with NumPy's Beta sampler seeded from ``generator`` (torch's Beta
        sampler takes no generator), so the result is still determined by ``generator``.
    """
    x = check_tensor("x", x, floating=True)
    if x.ndim == 0:
        raise ValueError("x must have a batch dimension, got a 0-dimensional tensor")
    check_tensor("y", y)
    alpha = check_real("alpha", alpha, low=0, low_open=True)
    generator = _generator(generator)
    n = x.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"x and y must hold the same number of examples, got {n} and {y.shape[0]}")
    if y.is_floating_point():
        if y.ndim != 2:
            raise ValueError(f"soft targets y must have shape (N, K), got {tuple(y.shape)}")
        soft = y
    else:
        if y.ndim != 1:
            raise ValueError(f"class-index targets y must have shape (N,), got {tuple(y.shape)}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(
                f"num_classes must be an int >= 1 when y holds class indices, got {num_classes!r}"
            )
        if n and (int(y.min()) < 0 or int(y.max()) >= num_classes):
            raise ValueError(f"y must hold class indices in [0, {num_classes - 1}], got {y.min()}..{y.max()}")
        soft = F.one_hot(y, num_classes).to(x.dtype)
    where = generator.device if generator is not None else "cpu"
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=where))
    lam = float(np.random.default_rng(seed).beta(alpha, alpha))
    perm = torch.randperm(n, generator=generator, device=where).to(x.device)
    x_mix = lam * x + (1 - lam) * x[perm]
    y_mix = lam * soft + (1 - lam) * soft[perm.to(soft.device)]
    return x_mix, y_mix, lam
