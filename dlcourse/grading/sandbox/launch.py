"""The command that starts the warm interpreter (:mod:`.zygote`), and user ids for students.

Part of :mod:`dlcourse.grading.sandbox` (grader side). Isolated, the command is ``bwrap`` with:

- new network (no interface up), PID, IPC, UTS and cgroup namespaces, ``--die-with-parent``;
- a root of its own showing only the system (``/usr``, ``/etc``, ``/lib*``) and the Python
  installation, read-only, never the course folder nor the ``dlcourse`` package (it holds the
  answers); the sandbox's own modules at a neutral path (:data:`RUNNER_DIR`);
- the capabilities the zygote needs to give each student namespaces, one limited mount and a
  user id (:data:`.probe.CAPABILITIES`), which every student's process gives up;
- a clean environment (nothing of the grader's: no paths, tokens or ``NBGRADER_EXECUTION``).

Without isolation it is plain ``python zygote.py``.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

from .probe import CAPABILITIES, SandboxSupport, python_paths
from .zygote import ENV

__all__ = ["RUNNER_DIR", "zygote_command", "zygote_env", "claim_uid", "UID_BASE", "UID_COUNT"]

RUNNER_DIR = "/opt/dlcourse-runner"
HERE = Path(__file__).resolve().parent
UID_BASE, UID_COUNT = 200_000, 4096  # unnamed user ids, one per student graded at the moment


def _package_dirs() -> list[str]:
    """Where ``import dlcourse`` finds the course package: never visible to a student."""
    spec = importlib.util.find_spec("dlcourse")
    return [str(Path(p).resolve()) for p in (spec.submodule_search_locations or [])] if spec else []


def zygote_env() -> dict[str, str]:
    return {**ENV, "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin"}


def zygote_command(
    support: SandboxSupport, fd: int, preload: list[str], hide: list[str] | tuple[str, ...] = ()
) -> list[str]:
    """The command line of the warm interpreter, with control socket ``fd``."""
    tail = ["--fd", str(fd), "--preload", ",".join(preload)]
    if not support.isolated:
        return [sys.executable, "-s", str(HERE / "zygote.py"), *tail]
    args = [support.bwrap, *(() if support.root else ("--unshare-user",))]
    args += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    args += [
        "--die-with-parent",
        "--hostname",
        "sandbox",
        "--ro-bind",
        "/usr",
        "/usr",
        "--ro-bind",
        "/etc",
        "/etc",
    ]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(64 * 2**20), "--tmpfs", "/tmp"]
    args += ["--dir", "/home/student"]
    bound = python_paths()
    for path in bound:
        args += ["--ro-bind", path, path]
    for path in [*hide, *_package_dirs()]:  # below a bound path (a venv inside the course, say)
        real = str(Path(path).resolve())
        if any(real == b or real.startswith(b + "/") for b in bound):
            args += ["--perms", "0000", "--tmpfs", real]
    args += ["--ro-bind", str(HERE), RUNNER_DIR]
    parents = {str(q) for p in bound for q in Path(p).parents}  # bwrap made them with the host's modes
    for path in sorted(parents - set(bound) - {"/", "/tmp", "/usr", "/etc"}, key=len):
        args += ["--chmod", "0755", path]
    args += ["--cap-drop", "ALL"]
    for cap in CAPABILITIES if support.root else ("CAP_SYS_ADMIN",):
        args += ["--cap-add", cap]
    args += ["--chdir", "/", "--", sys.executable, "-s", f"{RUNNER_DIR}/zygote.py", *tail, "--nested"]
    return args


def claim_uid() -> tuple[int, int]:
    """An unused user id from a private range, held (a lock file) until the descriptor is closed."""
    folder = Path(tempfile.gettempdir()) / "dlcourse-sandbox-uids"
    folder.mkdir(mode=0o700, exist_ok=True)
    start = os.getpid() % UID_COUNT
    for i in range(UID_COUNT):
        uid = UID_BASE + (start + i) % UID_COUNT
        fd = os.open(folder / str(uid), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return uid, fd
        except OSError:
            os.close(fd)
    raise RuntimeError("sandbox: no free user id in the sandbox range")
