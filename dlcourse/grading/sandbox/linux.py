"""The Linux calls the sandbox makes that Python does not wrap: namespaces, mounts, capabilities.

Part of :mod:`dlcourse.grading.sandbox`; runs inside the sandbox (loaded as a top-level module,
imports nothing of ``dlcourse``). Each call raises ``OSError`` with the C library's ``errno``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource

__all__ = [
    "CLONE_NEWNS",
    "CLONE_NEWPID",
    "CLONE_NEWNET",
    "CLONE_NEWIPC",
    "CLONE_NEWUTS",
    "unshare",
    "mount",
    "bind",
    "make_private",
    "sethostname",
    "drop_capabilities",
    "die_with_parent",
    "apply_rlimits",
]

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 1, 38, 47, 4
_CAP_VERSION_3 = 0x20080522

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    """New namespaces for the calling process (``unshare(2)``); a new PID namespace takes effect
    for the children forked afterwards."""
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(source: str, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    """``mount(2)``."""
    _check(
        _libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def bind(source: str, target: str, read_only: bool = False, recursive: bool = False) -> None:
    """Bind ``source`` over ``target`` (read-only if asked: a bind is remounted to become so;
    ``recursive`` brings the mounts below ``source`` along, e.g. the tmpfs that hides a folder)."""
    mount(source, target, None, MS_BIND | (MS_REC if recursive else 0))
    if read_only:
        mount("none", target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def make_private() -> None:
    """Mounts made from now on stay in this mount namespace."""
    mount("none", "/", None, MS_REC | MS_PRIVATE)


def sethostname(name: str) -> None:
    raw = name.encode()
    _check(_libc.sethostname(raw, ctypes.c_size_t(len(raw))), "sethostname")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def drop_capabilities() -> None:
    """Give up every capability (effective, permitted, inheritable, ambient) and gain none later."""
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)  # absent on old kernels: fine
    header = _CapHeader(_CAP_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def die_with_parent(sig: int = 9) -> None:
    """Receive ``sig`` when the parent exits (cleared by a change of user id: call it after)."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0), "prctl(PDEATHSIG)")


def apply_rlimits(limits: dict) -> None:
    """Soft and hard limits from ``limits`` (``memory``, ``cpu_seconds``, ``nproc``, ``file_size``,
    ``nofile``); no core files. RLIMIT_CPU's hard limit is 5 s above the soft one (SIGXCPU, then
    SIGKILL). A hard limit already lower is never raised."""
    pairs = [
        (resource.RLIMIT_AS, limits["memory"], limits["memory"]),
        (resource.RLIMIT_CPU, limits["cpu_seconds"], limits["cpu_seconds"] + 5),
        (resource.RLIMIT_NPROC, limits["nproc"], limits["nproc"]),
        (resource.RLIMIT_FSIZE, limits["file_size"], limits["file_size"]),
        (resource.RLIMIT_NOFILE, limits["nofile"], limits["nofile"]),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    for which, soft, hard in pairs:
        _, old_hard = resource.getrlimit(which)
        if old_hard != resource.RLIM_INFINITY:
            hard, soft = min(hard, old_hard), min(soft, old_hard)
        resource.setrlimit(which, (soft, hard))
