"""get_device(): the CPU fallback, the DLCOURSE_DEVICE override and its errors; seeding."""

import random

import numpy as np
import pytest
import torch

import dlcourse
from dlcourse import device as device_mod


def test_top_level_exports():
    assert dlcourse.get_device is device_mod.get_device
    assert dlcourse.seed_everything is device_mod.seed_everything
    assert isinstance(dlcourse.__version__, str) and dlcourse.__version__.count(".") == 2


def test_cpu_fallback_without_accelerators(monkeypatch):
    monkeypatch.delenv("DLCOURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device_mod, "_mps_available", lambda: False)
    assert dlcourse.get_device() == torch.device("cpu")


def test_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.delenv("DLCOURSE_DEVICE", raising=False)
    monkeypatch.setattr(device_mod, "_mps_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert dlcourse.get_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert dlcourse.get_device().type == "mps"


def test_override_cpu(monkeypatch):
    monkeypatch.setenv("DLCOURSE_DEVICE", "cpu")
    assert dlcourse.get_device() == torch.device("cpu")


@pytest.mark.parametrize("value", ["gpu", "tpu:0", "cuda:banana", ""])
def test_override_unknown_name(monkeypatch, value):
    if not value:
        # an empty value means "no override"
        monkeypatch.setenv("DLCOURSE_DEVICE", value)
        assert isinstance(dlcourse.get_device(), torch.device)
        return
    monkeypatch.setenv("DLCOURSE_DEVICE", value)
    with pytest.raises(ValueError) as err:
        dlcourse.get_device()
    message = str(err.value)
    assert "DLCOURSE_DEVICE" in message and repr(value) in message and "cpu" in message


def test_override_unavailable_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device_mod, "_mps_available", lambda: False)
    for value in ("cuda", "cuda:1", "mps"):
        monkeypatch.setenv("DLCOURSE_DEVICE", value)
        with pytest.raises(ValueError, match="not available") as err:
            dlcourse.get_device()
        assert "['cpu']" in str(err.value)


def test_available_devices_lists_cpu():
    assert dlcourse.available_devices()[0] == "cpu"


def test_seed_everything_makes_every_generator_repeat():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    gen = dlcourse.seed_everything(123)
    first, g1 = draw(), torch.rand(3, generator=gen)
    gen = dlcourse.seed_everything(123)
    second, g2 = draw(), torch.rand(3, generator=gen)
    assert first == second
    assert torch.equal(g1, g2)
    dlcourse.seed_everything(124)
    assert draw() != first


@pytest.mark.parametrize(
    "bad, exc", [(-1, ValueError), (1.5, TypeError), ("0", TypeError), (True, TypeError)]
)
def test_seed_everything_rejects_bad_seeds(bad, exc):
    with pytest.raises(exc, match="seed"):
        dlcourse.seed_everything(bad)


@pytest.mark.gpu
def test_cuda_override_on_a_gpu(monkeypatch):
    monkeypatch.setenv("DLCOURSE_DEVICE", "cuda")
    assert dlcourse.get_device().type == "cuda"
