"""Where tensors live: pick the best available device, and seed every generator."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["get_device", "available_devices", "seed_everything"]

ENV_VAR = "DLCOURSE_DEVICE"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[str]:
    """Names of the devices this machine can use, e.g. ``["cpu", "cuda:0"]``."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available():
        names.append("mps")
    return names


def _check(name: str) -> torch.device:
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as err:
        raise ValueError(
            f"{ENV_VAR}={name!r} is not a device name; expected one of {available_devices()}"
        ) from err
    if device.type == "cpu":
        return device
    if device.type == "cuda" and torch.cuda.is_available():
        index = 0 if device.index is None else device.index
        if index < torch.cuda.device_count():
            return device
    elif device.type == "mps" and _mps_available():
        return device
    raise ValueError(f"{ENV_VAR}={name!r} is not available on this machine; available: {available_devices()}")


def get_device() -> torch.device:
    """The device to compute on: CUDA if present, then Apple MPS, then the CPU.

    The environment variable ``DLCOURSE_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``)
    overrides the choice; a value that is unknown or not available here raises ``ValueError``.
    """
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        return _check(override)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's, NumPy's and torch's generators (CUDA's too); return a seeded CPU generator."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return torch.Generator().manual_seed(seed)
