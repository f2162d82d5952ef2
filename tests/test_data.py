"""dlcourse.data: the digits split and the synthetic data sets."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import sklearn.datasets
import torch

from dlcourse.data import (
    Splits,
    load_digits,
    make_ill_conditioned_regression,
    make_moons,
    make_spirals,
)


@pytest.fixture(scope="module")
def digits() -> Splits:
    return load_digits(seed=0, device="cpu")


@pytest.fixture(scope="module")
def reference():
    bunch = sklearn.datasets.load_digits()
    return bunch.data, bunch.target


def test_digits_shapes_dtypes_ranges(digits):
    assert isinstance(digits, Splits)
    for X, y in digits:
        assert X.dtype == torch.float32 and y.dtype == torch.int64
        assert X.ndim == 2 and X.shape[1] == 64 and y.shape == (len(X),)
        assert X.min() >= 0 and X.max() <= 1 and X.device.type == "cpu"
        assert set(y.unique().tolist()) == set(range(10))
    assert max(X.max().item() for X, _ in digits) == 1.0
    images = load_digits(seed=0, flatten=False, device="cpu")
    for (Xf, yf), (Xi, yi) in zip(digits, images):
        assert Xi.shape == (len(Xf), 1, 8, 8)
        assert torch.equal(Xi.reshape(len(Xi), 64), Xf) and torch.equal(yi, yf)


def test_digits_split_sizes_and_stratification(digits, reference):
    _, target = reference
    n = len(target)
    sizes = [len(y) for _, y in digits]
    assert sum(sizes) == n == 1797
    for size, share in zip(sizes, (0.6, 0.2, 0.2)):
        assert abs(size - share * n) <= 10  # one per class at most
    whole = np.bincount(target, minlength=10)
    for (_, y), share in zip(digits, (0.6, 0.2, 0.2)):
        counts = torch.bincount(y, minlength=10).numpy()
        assert np.all(np.abs(counts - share * whole) <= 1), (counts, share * whole)


def test_digits_partition_the_data(digits, reference):
    """The three splits together are exactly the original images (scaled), no overlap."""
    data, target = reference
    original = Counter((tuple((row / 16).astype(np.float32)), int(t)) for row, t in zip(data, target))
    split = Counter()
    for X, y in digits:
        split.update((tuple(row), int(t)) for row, t in zip(X.numpy(), y.numpy()))
    assert split == original
    rows = [set(map(tuple, X.numpy())) for X, _ in digits]
    dupes = sum(c - 1 for c in Counter(map(tuple, (data / 16).astype(np.float32))).values())
    overlap = len(rows[0] & rows[1]) + len(rows[0] & rows[2]) + len(rows[1] & rows[2])
    assert overlap <= dupes  # only images that occur twice in the original may be in two splits


def test_digits_deterministic_by_seed(digits):
    again, other = load_digits(seed=0, device="cpu"), load_digits(seed=1, device="cpu")
    for (X, y), (X2, y2) in zip(digits, again):
        assert torch.equal(X, X2) and torch.equal(y, y2)
    assert not torch.equal(digits.test[0], other.test[0])
    assert len(digits.train[0]) == len(other.train[0])


def test_digits_classes_mixed_in_each_split(digits):
    y = digits.train[1]
    assert (y[1:] != y[:-1]).float().mean() > 0.5  # shuffled, not sorted by class


def test_moons():
    X, y = make_moons(n=201, noise=0.0, seed=0, device="cpu")
    assert X.shape == (201, 2) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.bincount(y).tolist() == [101, 100]
    X64 = X.double()
    r0 = X64[y == 0].norm(dim=1)
    r1 = (X64[y == 1] - torch.tensor([1.0, 0.5], dtype=torch.float64)).norm(dim=1)
    torch.testing.assert_close(r0, torch.ones_like(r0), rtol=0, atol=1e-6)
    torch.testing.assert_close(r1, torch.ones_like(r1), rtol=0, atol=1e-6)
    assert (X64[y == 0, 1] >= -1e-6).all() and (X64[y == 1, 1] <= 0.5 + 1e-6).all()
    Xn, yn = make_moons(n=2000, noise=0.1, seed=1, device="cpu")
    spread = (Xn[yn == 0].double().norm(dim=1) - 1).std().item()
    assert 0.07 < spread < 0.13
    assert torch.equal(make_moons(seed=3, device="cpu")[0], make_moons(seed=3, device="cpu")[0])
    assert not torch.equal(make_moons(seed=3, device="cpu")[0], make_moons(seed=4, device="cpu")[0])


def test_spirals():
    X, y = make_spirals(n=302, classes=3, noise=0.0, seed=0, device="cpu")
    assert X.shape == (302, 2) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.bincount(y).tolist() == [101, 101, 100]
    r = X.double().norm(dim=1)
    assert r.max().item() == pytest.approx(1.0, abs=1e-6) and r.min().item() < 1e-6
    for k in range(3):  # without noise each point lies on its arm: angle = 2 pi k / K + 4 r
        Xk, rk = X[y == k].double(), r[y == k]
        theta = 2 * math.pi * k / 3 + 4 * rk
        expected = torch.stack([rk * torch.cos(theta), rk * torch.sin(theta)], dim=1)
        torch.testing.assert_close(Xk, expected, rtol=0, atol=1e-6)
    X2, y2 = make_spirals(n=50, classes=5, seed=2, device="cpu")
    assert torch.bincount(y2).tolist() == [10] * 5
    assert torch.equal(X2, make_spirals(n=50, classes=5, seed=2, device="cpu")[0])


@pytest.mark.parametrize("cond", [1.0, 10.0, 100.0, 1e4])
def test_ill_conditioned_regression_condition_number(cond):
    X, y, w = make_ill_conditioned_regression(n=300, d=8, cond=cond, noise=0.0, device="cpu")
    assert X.shape == (300, 8) and y.shape == (300,) and w.shape == (8,)
    assert X.dtype == y.dtype == w.dtype == torch.float32
    X64 = X.double()
    eig = torch.linalg.eigvalsh(X64.T @ X64)
    assert (eig[-1] / eig[0]).item() == pytest.approx(cond, rel=1e-3)
    torch.testing.assert_close(y, X @ w, rtol=1e-4, atol=1e-4)
    assert X.pow(2).mean().item() == pytest.approx(
        sum(cond ** (-i / 7) for i in range(8)) / 8, rel=1e-3
    )  # features of order one


def test_ill_conditioned_regression_noise_and_seed():
    X, y, w = make_ill_conditioned_regression(n=5000, d=5, noise=0.5, seed=3, device="cpu")
    assert (y - X @ w).std().item() == pytest.approx(0.5, rel=0.05)
    X2, y2, w2 = make_ill_conditioned_regression(n=5000, d=5, noise=0.5, seed=3, device="cpu")
    assert torch.equal(X, X2) and torch.equal(y, y2) and torch.equal(w, w2)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: make_moons(n=0), r"n must be an integer in \[2, inf\), got 0"),
        (lambda: make_moons(n=10.5), "n must be an int"),
        (lambda: make_moons(noise=-0.1), r"noise must be a real number in \[0, inf\), got -0.1"),
        (lambda: make_moons(seed=-1), r"seed must be an integer in \[0, inf\)"),
        (lambda: make_spirals(classes=1), r"classes must be an integer in \[2, inf\), got 1"),
        (lambda: make_spirals(n=2, classes=3), "n must be >= classes"),
        (lambda: make_spirals(noise=float("nan")), "noise"),
        (
            lambda: make_ill_conditioned_regression(cond=0.5),
            r"cond must be a real number in \[1, inf\), got 0.5",
        ),
        (lambda: make_ill_conditioned_regression(cond="big"), "cond must be a real number"),
        (lambda: make_ill_conditioned_regression(n=5, d=10), "n must be >= d"),
        (lambda: make_ill_conditioned_regression(d=1, cond=10.0), "d=1"),
        (lambda: make_ill_conditioned_regression(d=0), r"d must be an integer in \[1, inf\)"),
        (lambda: load_digits(seed=-3), r"seed must be an integer in \[0, inf\), got -3"),
        (lambda: load_digits(flatten="yes"), r"flatten must be True or False"),
    ],
)
def test_bad_arguments(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


@pytest.mark.gpu
def test_cuda_device():
    splits = load_digits(device="cuda")
    assert all(X.is_cuda and y.is_cuda for X, y in splits)
    assert make_moons(device="cuda")[0].is_cuda
    assert make_ill_conditioned_regression(device="cuda")[0].is_cuda
