"""Tests for dlcourse.augment: shapes, determinism, identities and independent references."""

from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F

from dlcourse import augment as A


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def images(
    n: int = 4, c: int = 3, h: int = 8, w: int = 10, seed: int = 0, dtype=torch.float32
) -> torch.Tensor:
    return torch.rand(n, c, h, w, generator=gen(seed), dtype=dtype)


RANDOM = {
    "hflip": functools.partial(A.hflip, p=0.5),
    "translate": functools.partial(A.translate, max_shift=2),
    "random_crop": functools.partial(A.random_crop, size=(8, 10), padding=2),
    "rotate": functools.partial(A.rotate, degrees=30),
    "scale": functools.partial(A.scale, factor=(0.8, 1.2)),
    "elastic": functools.partial(A.elastic, alpha=4.0, sigma=2.0),
    "brightness_contrast": functools.partial(A.brightness_contrast, brightness=0.3, contrast=0.3),
    "color_jitter": functools.partial(A.color_jitter, saturation=0.5, channel_gain=0.2),
    "gaussian_noise": functools.partial(A.gaussian_noise, std=0.1),
}


@pytest.mark.parametrize("name", sorted(RANDOM))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_dtype_and_single_image(name, dtype):
    t = RANDOM[name]
    x = images(dtype=dtype)
    out = t(x, generator=gen(1))
    assert out.shape == x.shape and out.dtype == dtype and out.device == x.device
    single = t(x[0], generator=gen(1))
    assert single.shape == x[0].shape and single.dtype == dtype


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_determinism_by_generator(name):
    t = RANDOM[name]
    x = images(n=16)
    a, b, c = t(x, generator=gen(5)), t(x, generator=gen(5)), t(x, generator=gen(6))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, c), f"{name}: different seeds gave the same output"


def test_hflip_matches_torch_flip_and_twice_is_identity():
    x = images()
    torch.testing.assert_close(A.hflip(x), torch.flip(x, dims=[-1]), rtol=0, atol=0)
    torch.testing.assert_close(A.hflip(A.hflip(x)), x, rtol=0, atol=0)
    torch.testing.assert_close(A.hflip(x, p=0.0, generator=gen()), x, rtol=0, atol=0)


def test_hflip_p_flips_some_and_keeps_others():
    x = images(n=64)
    out = A.hflip(x, p=0.5, generator=gen(3))
    flipped = [torch.equal(o, torch.flip(xi, dims=[-1])) for o, xi in zip(out, x)]
    kept = [torch.equal(o, xi) for o, xi in zip(out, x)]
    assert all(f or k for f, k in zip(flipped, kept))
    assert 16 < sum(flipped) < 48


def test_translate_zero_is_identity():
    x = images()
    torch.testing.assert_close(A.translate(x, 0, generator=gen()), x, rtol=0, atol=0)


def shifted(img: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Reference shift: torch.roll, then zero what wrapped around."""
    out = torch.roll(img, shifts=(dy, dx), dims=(-2, -1)).clone()
    if dy > 0:
        out[..., :dy, :] = 0
    elif dy < 0:
        out[..., dy:, :] = 0
    if dx > 0:
        out[..., :, :dx] = 0
    elif dx < 0:
        out[..., :, dx:] = 0
    return out


def test_translate_is_a_shift_within_range():
    x = images(n=32) + 0.1  # no zero pixels, so the zero border identifies the shift
    out = A.translate(x, 2, generator=gen(7))
    seen = set()
    for o, xi in zip(out, x):
        matches = [
            (dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if torch.equal(o, shifted(xi, dy, dx))
        ]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) > 5  # shifts vary between images


def test_random_crop_is_a_window_of_the_padded_image():
    x = images(n=8)
    out = A.random_crop(x, 6, padding=1, generator=gen(2))
    assert out.shape == (8, 3, 6, 6)
    padded = F.pad(x, (1, 1, 1, 1))
    for o, p in zip(out, padded):
        windows = [(i, j) for i in range(5) for j in range(7) if torch.equal(o, p[:, i : i + 6, j : j + 6])]
        assert windows
    full = A.random_crop(x, (8, 10), padding=0, generator=gen(2))
    torch.testing.assert_close(full, x, rtol=0, atol=0)


def test_rotate_zero_is_identity_and_90_is_rot90():
    x = images(h=9, w=9, dtype=torch.float64)
    torch.testing.assert_close(A.rotate(x, 0.0, generator=gen()), x, rtol=0, atol=1e-12)
    r = A.rotate(x, (90.0, 90.0), generator=gen())
    # Output pixel p reads the input at R(90 deg) p with y pointing down: torch.rot90 with k=1
    # over dims (-2, -1) turns the image the same way. Both angles are checked so that a sign
    # error shows up as a failure of exactly one of them.
    torch.testing.assert_close(r, torch.rot90(x, k=1, dims=(-2, -1)), rtol=0, atol=1e-9)
    r2 = A.rotate(x, (-90.0, -90.0), generator=gen())
    torch.testing.assert_close(r2, torch.rot90(x, k=-1, dims=(-2, -1)), rtol=0, atol=1e-9)


def test_rotate_keeps_non_square_geometry():
    x = torch.zeros(1, 1, 8, 16, dtype=torch.float64)
    x[..., 3:5, 7:9] = 1.0  # a square blob at the centre stays at the centre under rotation
    r = A.rotate(x, (180.0, 180.0), generator=gen())
    torch.testing.assert_close(r, torch.flip(x, dims=[-2, -1]), rtol=0, atol=1e-9)


def test_scale_one_is_identity_and_two_zooms_in():
    x = images(h=8, w=8, dtype=torch.float64)
    torch.testing.assert_close(A.scale(x, (1.0, 1.0), generator=gen()), x, rtol=0, atol=1e-12)
    big = A.scale(x, (2.0, 2.0), generator=gen())
    # zooming by 2 about the centre stretches the central 4x4 block over the output: away from
    # the border (where F.interpolate clamps and grid_sample reads the neighbours) it is the
    # bilinear upsampling of that block
    ref = F.interpolate(x[..., 2:6, 2:6], scale_factor=2, mode="bilinear", align_corners=False)
    torch.testing.assert_close(big[..., 1:-1, 1:-1], ref[..., 1:-1, 1:-1], rtol=0, atol=1e-9)


def test_elastic_zero_alpha_is_identity_and_field_is_smooth():
    x = images(dtype=torch.float64)
    torch.testing.assert_close(A.elastic(x, alpha=0.0, generator=gen()), x, rtol=0, atol=1e-12)
    # a horizontal ramp x(i, j) = j reads back its displacement: out - x = dx (inside the image)
    ramp = torch.arange(32, dtype=torch.float64).expand(1, 1, 32, 32).clone()
    out = A.elastic(ramp, alpha=2.0, sigma=4.0, generator=gen(4))
    dx = (out - ramp)[0, 0, 4:-4, 4:-4]
    assert dx.abs().max() < 2.0 and dx.abs().max() > 0.01
    assert (dx[:, 1:] - dx[:, :-1]).abs().max() < 0.5 * dx.abs().max()  # smooth, not pixel noise


def test_photometric_identities_and_ranges():
    x = images(n=32)
    torch.testing.assert_close(A.brightness_contrast(x, 0.0, 0.0, generator=gen()), x)
    torch.testing.assert_close(A.color_jitter(x, 0.0, 0.0, generator=gen()), x)
    torch.testing.assert_close(A.gaussian_noise(x, 0.0, generator=gen()), x)
    out = A.brightness_contrast(x, brightness=0.2, contrast=0.3, generator=gen(1))
    shift = out.mean(dim=(1, 2, 3)) - x.mean(dim=(1, 2, 3))
    ratio = out.std(dim=(1, 2, 3)) / x.std(dim=(1, 2, 3))
    assert shift.abs().max() <= 0.2 + 1e-5 and ((ratio >= 0.7 - 1e-5) & (ratio <= 1.3 + 1e-5)).all()
    grey = x[:, :1].expand(-1, 3, -1, -1)
    torch.testing.assert_close(A.color_jitter(grey, 1.0, 0.0, generator=gen(1)), grey)
    big = torch.zeros(1, 1, 200, 200)
    assert abs(float(A.gaussian_noise(big, 0.3, generator=gen()).std()) - 0.3) < 0.01


def test_compose_applies_in_order_with_one_generator():
    x = images()
    t = A.Compose(
        [A.hflip, functools.partial(A.translate, max_shift=0), functools.partial(A.gaussian_noise, std=0.1)]
    )
    g = gen(3)  # the same generator threads through every step, in order
    expected = A.gaussian_noise(A.translate(A.hflip(x, generator=g), 0, generator=g), 0.1, generator=g)
    torch.testing.assert_close(t(x, generator=gen(3)), expected, rtol=0, atol=0)
    assert "hflip" in repr(t)


def test_mixup_targets_are_the_same_convex_combination():
    y = torch.randint(0, 5, (64,), generator=gen(1))
    x = F.one_hot(y, 5).double()  # inputs equal to their one-hot labels: the mixes must agree
    x_mix, y_mix, lam = A.mixup(x, y, alpha=0.4, num_classes=5, generator=gen(2))
    assert 0.0 <= lam <= 1.0
    torch.testing.assert_close(x_mix, y_mix)
    torch.testing.assert_close(y_mix.sum(1), torch.ones(64, dtype=torch.float64))
    # each mixed row is lam * row i + (1 - lam) * some other row of the batch
    other = (x_mix - lam * x) / (1 - lam) if lam < 1 else x
    assert all(any(torch.allclose(o, r) for r in x) for o in other)
    # soft targets pass through unchanged in form
    _, y2, _ = A.mixup(torch.rand(8, 3), F.one_hot(torch.arange(8) % 4, 4).float(), 1.0, generator=gen())
    assert y2.shape == (8, 4) and torch.allclose(y2.sum(1), torch.ones(8))


def test_mixup_lambda_follows_beta_and_is_deterministic():
    x, y = torch.rand(10, 3), torch.arange(10) % 2
    lams = [A.mixup(x, y, 0.2, 2, generator=gen(s))[2] for s in range(300)]
    assert all(0.0 <= lam <= 1.0 for lam in lams)
    assert abs(sum(lams) / 300 - 0.5) < 0.08  # Beta(a, a) has mean 1/2
    near_ends = sum(lam < 0.1 or lam > 0.9 for lam in lams) / 300
    assert near_ends > 0.5  # small alpha puts most mass near 0 and 1 (exactly 0.6 in theory)
    a = A.mixup(x, y, 0.2, 2, generator=gen(9))
    b = A.mixup(x, y, 0.2, 2, generator=gen(9))
    torch.testing.assert_close(a[0], b[0], rtol=0, atol=0)
    assert a[2] == b[2]


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: A.hflip([1, 2, 3]), TypeError),
        (lambda: A.hflip(torch.zeros(2, 3), p=1.0), ValueError),
        (lambda: A.hflip(torch.zeros(1, 4, 4, dtype=torch.int64)), TypeError),
        (lambda: A.hflip(torch.zeros(1, 4, 4), p=1.5), ValueError),
        (lambda: A.translate(torch.zeros(1, 4, 4), -1), ValueError),
        (lambda: A.translate(torch.zeros(1, 4, 4), 1, generator=0), TypeError),
        (lambda: A.random_crop(torch.zeros(1, 4, 4), 9, padding=2), ValueError),
        (lambda: A.rotate(torch.zeros(1, 4, 4), (10, 5)), ValueError),
        (lambda: A.rotate(torch.zeros(1, 4, 4), float("nan")), ValueError),
        (lambda: A.scale(torch.zeros(1, 4, 4), (0.0, 1.0)), ValueError),
        (lambda: A.scale(torch.zeros(1, 4, 4), 1.1), ValueError),
        (lambda: A.elastic(torch.zeros(1, 4, 4), sigma=0.0), ValueError),
        (lambda: A.brightness_contrast(torch.zeros(1, 4, 4), contrast=2.0), ValueError),
        (lambda: A.color_jitter(torch.zeros(1, 4, 4)), ValueError),
        (lambda: A.gaussian_noise(torch.zeros(1, 4, 4), std=-1.0), ValueError),
        (lambda: A.Compose([A.hflip, 3]), TypeError),
        (
            lambda: A.mixup(torch.zeros(4, 2), torch.zeros(4, dtype=torch.int64), alpha=0.0, num_classes=2),
            ValueError,
        ),
        (lambda: A.mixup(torch.zeros(4, 2), torch.zeros(4, dtype=torch.int64), alpha=1.0), ValueError),
        (lambda: A.mixup(torch.zeros(4, 2), torch.full((4,), 3), alpha=1.0, num_classes=3), ValueError),
        (
            lambda: A.mixup(torch.zeros(4, 2), torch.zeros(5, dtype=torch.int64), alpha=1.0, num_classes=2),
            ValueError,
        ),
    ],
)
def test_bad_arguments_raise(call, error):
    with pytest.raises(error):
        call()


def test_error_messages_name_the_argument():
    with pytest.raises(ValueError, match="max_shift"):
        A.translate(torch.zeros(1, 4, 4), -3)
    with pytest.raises(ValueError, match="num_classes"):
        A.mixup(torch.zeros(4, 2), torch.zeros(4, dtype=torch.int64), alpha=1.0)
    with pytest.raises(ValueError, match="C=1"):
        A.color_jitter(torch.zeros(1, 4, 4))


@pytest.mark.gpu
def test_cuda_matches_cpu_with_a_cpu_generator():
    x = images(n=8)
    for name, t in RANDOM.items():
        cpu = t(x, generator=gen(11))
        cuda = t(x.cuda(), generator=gen(11))
        assert cuda.device.type == "cuda"
        torch.testing.assert_close(cuda.cpu(), cpu, rtol=1e-5, atol=1e-5, msg=name)
