"""Resource limits for a student's kernel, and a probe of what isolation this machine allows.

Part of :mod:`dlcourse.grading.sandbox`. Limits are ``setrlimit`` values applied to the kernel's process
(and inherited by everything it starts); the probe runs ``bwrap`` once with the namespaces the
sandbox needs and reports honestly what works.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, fields

__all__ = ["Limits", "SandboxSupport", "parse_size", "probe", "apply_rlimits"]

_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_size(value: int | str, name: str = "size") -> int:
    """Bytes from an int or a string such as ``"4G"``, ``"512M"``, ``"1.5G"`` (powers of 1024)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int or a string like '4G', got {value!r}")
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(f"{name} must be > 0 bytes, got {value}")
        return value
    if not isinstance(value, str):
        raise TypeError(f"{name} must be an int or a string like '4G', got {value!r}")
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)i?B?\s*", value.upper())
    if not match:
        raise ValueError(f"{name} must look like '4G', '512M' or a number of bytes, got {value!r}")
    size = int(float(match.group(1)) * _UNITS[match.group(2)])
    if size <= 0:
        raise ValueError(f"{name} must be > 0 bytes, got {value!r}")
    return size


@dataclass(frozen=True)
class Limits:
    """What one student's kernel may use. Sizes in bytes (strings like ``"4G"`` are accepted).

    - ``memory``: address space (``RLIMIT_AS``); an allocation beyond it raises ``MemoryError``.
      ``import torch`` needs about 1.3 GiB of address space.
    - ``cpu_seconds``: CPU time of each process (``RLIMIT_CPU``); the kernel is killed beyond it.
    - ``nproc``: processes *and threads* of the kernel's user (``RLIMIT_NPROC``); bounds a fork
      bomb. Effective only for a non-root user, which is why a root grader runs kernels under an
      unprivileged user id of their own.
    - ``fsize``: largest file the kernel may write (``RLIMIT_FSIZE``): a bigger write fails with
      ``OSError: [Errno 27] File too large``.
    - ``disk``: size of each private in-memory folder (the working copy and ``/tmp``).
    - ``nofile``: open files (``RLIMIT_NOFILE``).
    """

    memory: int = 4 * 2**30
    cpu_seconds: int = 600
    nproc: int = 256
    fsize: int = 256 * 2**20
    disk: int = 1 * 2**30
    nofile: int = 1024

    def __post_init__(self) -> None:
        for name in ("memory", "fsize", "disk"):
            object.__setattr__(self, name, parse_size(getattr(self, name), name))
        for name in ("cpu_seconds", "nproc", "nofile"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {value!r}")
            if value <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")

    def to_args(self) -> list[str]:
        """Command-line options of ``python -m dlcourse.grading.sandbox kernel`` that restore these."""
        return [f"--{f.name.replace('_', '-')}={getattr(self, f.name)}" for f in fields(self)]

    def as_dict(self) -> dict:
        return asdict(self)


def apply_rlimits(limits: Limits) -> None:
    """Set soft and hard limits of the calling process (run in the child before ``exec``).

    RLIMIT_CPU gets a hard limit 5 s above the soft one: SIGXCPU first, then SIGKILL.
    """
    pairs = [
        (resource.RLIMIT_AS, limits.memory, limits.memory),
        (resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 5),
        (resource.RLIMIT_NPROC, limits.nproc, limits.nproc),
        (resource.RLIMIT_FSIZE, limits.fsize, limits.fsize),
        (resource.RLIMIT_NOFILE, limits.nofile, limits.nofile),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    for which, soft, hard in pairs:
        old_soft, old_hard = resource.getrlimit(which)
        if old_hard != resource.RLIM_INFINITY:  # never try to raise a hard limit
            hard, soft = min(hard, old_hard), min(soft, old_hard)
        resource.setrlimit(which, (soft, hard))


@dataclass(frozen=True)
class SandboxSupport:
    """What this machine allows. ``isolated`` is True only if a trial sandbox really ran."""

    platform: str
    bwrap: str | None
    setpriv: str | None
    root: bool
    isolated: bool
    reason: str  # why isolation is unavailable, "" when it is

    @property
    def separate_user(self) -> bool:
        """Kernels run under a user id of their own (needs root and setpriv)."""
        return self.isolated and self.root and self.setpriv is not None

    def notice(self, limits: Limits | None = None) -> str:
        """The one line ``make autograde`` prints about isolation."""
        limits = limits or Limits()
        rl = (
            f"memory {limits.memory / 2**30:.1f} GiB, CPU {limits.cpu_seconds} s, "
            f"files {limits.fsize / 2**20:.0f} MiB"
        )
        if self.isolated:
            who = "an unprivileged user of their own" if self.separate_user else "the grader's user"
            return (
                f"sandbox: isolation ON (bubblewrap: no network, private files and processes; "
                f"kernels run as {who}; {rl}, {limits.nproc} processes)"
            )
        nproc = "" if self.root else f", {limits.nproc} processes"
        return (
            f"sandbox: isolation UNAVAILABLE ({self.reason}); student code can read and write "
            f"what the grader can and use the network; still applied: {rl}{nproc}, "
            f"per-cell timeout, kill of the kernel's process group"
        )


def probe() -> SandboxSupport:
    """Try a minimal sandbox with every namespace the kernel sandbox uses; report what works."""
    bwrap, setpriv = shutil.which("bwrap"), shutil.which("setpriv")
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    base = dict(platform=sys.platform, bwrap=bwrap, setpriv=setpriv, root=root)
    if not sys.platform.startswith("linux"):
        return SandboxSupport(**base, isolated=False, reason=f"not Linux ({sys.platform})")
    if bwrap is None:
        return SandboxSupport(
            **base, isolated=False, reason="bubblewrap is not installed: apt-get install bubblewrap"
        )
    trial = [
        bwrap,
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--die-with-parent",
        "--ro-bind",
        "/",
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
        "true",
    ]
    try:
        run = subprocess.run(trial, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as err:
        return SandboxSupport(**base, isolated=False, reason=f"bwrap failed to run: {err}")
    if run.returncode != 0:
        msg = (run.stderr.strip().splitlines() or ["no message"])[-1]
        return SandboxSupport(**base, isolated=False, reason=f"namespaces refused: {msg}")
    return SandboxSupport(**base, isolated=True, reason="")
