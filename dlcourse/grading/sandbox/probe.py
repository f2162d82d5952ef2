"""What isolation this machine allows, found by trying it, and the one line that says so.

Part of :mod:`dlcourse.grading.sandbox`. :func:`probe` runs ``bwrap`` once with every namespace the
sandbox uses and, inside it, the nested namespaces and the size-limited mount each student's
process gets (:mod:`.zygote`); it reports honestly what works.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SandboxSupport", "probe", "python_paths", "CAPABILITIES"]

# what the warm interpreter needs inside bubblewrap to give each student namespaces, a mount and
# (as root) a user id of their own; the student's process gives all of them up
CAPABILITIES = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_FOWNER", "CAP_DAC_OVERRIDE")

_TRIAL = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
assert libc.unshare(0x20000000 | 0x00020000 | 0x40000000 | 0x08000000 | 0x04000000) == 0, "unshare"
pid = os.fork()
if pid == 0:
    ok = libc.mount(b"none", b"/", None, 16384 | (1 << 18), None) == 0
    ok = ok and libc.mount(b"tmpfs", b"/run/student", b"tmpfs", 6, b"size=1m,nr_inodes=64") == 0
    ok = ok and libc.mount(b"proc", b"/proc", b"proc", 6, None) == 0
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
raise SystemExit(os.waitstatus_to_exitcode(status))
"""


def python_paths() -> list[str]:
    """The Python installation and the virtual environment: what the interpreter must read.

    Bound again after the sandbox's own ``/tmp``, so that a course (and its ``.venv``) cloned under
    ``/tmp`` still finds its interpreter.
    """
    wanted = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(sys.executable).resolve().parents[1])}
    paths = sorted({str(Path(p).resolve()) for p in wanted} | wanted)
    return [p for p in paths if os.path.exists(p) and not p.startswith(("/usr/", "/etc/")) and p != "/usr"]


@dataclass(frozen=True)
class SandboxSupport:
    """What this machine allows. ``isolated`` is True only if a trial sandbox really ran."""

    platform: str
    bwrap: str | None
    root: bool
    isolated: bool
    reason: str  # why isolation is unavailable, "" when it is

    @property
    def separate_user(self) -> bool:
        """Each student's process runs under a user id of its own (the grader is root)."""
        return self.isolated and self.root

    def notice(self, settings=None) -> str:
        """The one line ``make autograde`` prints about isolation (``settings``: DlcourseGrading)."""
        limits = f"; {settings.summary()}" if settings is not None else ""
        if self.isolated:
            who = "an unprivileged user of their own" if self.separate_user else "the grader's user"
            return (
                "sandbox: isolation ON (bubblewrap: no network, private files and processes, one "
                f"size- and file-count-limited writable space; students run as {who}{limits})"
            )
        return (
            f"sandbox: isolation UNAVAILABLE ({self.reason}); student code can read and write what "
            f"the grader can and use the network; still applied: rlimits, time limits, kill of "
            f"the student's processes{limits}"
        )


def probe() -> SandboxSupport:
    """Try a minimal sandbox with every namespace and mount the student sandbox uses."""
    bwrap = shutil.which("bwrap")
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    base = dict(platform=sys.platform, bwrap=bwrap, root=root)
    if not sys.platform.startswith("linux"):
        return SandboxSupport(**base, isolated=False, reason=f"not Linux ({sys.platform})")
    if bwrap is None:
        return SandboxSupport(
            **base, isolated=False, reason="bubblewrap is not installed: apt-get install bubblewrap"
        )
    trial = [bwrap, *(() if root else ("--unshare-user",))]
    trial += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"]
    trial += ["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for path in python_paths():
        trial += ["--ro-bind", path, path]
    trial += ["--tmpfs", "/run", "--dir", "/run/student", "--cap-drop", "ALL"]
    for cap in CAPABILITIES if root else ("CAP_SYS_ADMIN",):
        trial += ["--cap-add", cap]
    trial += [sys.executable, "-I", "-c", _TRIAL]
    try:
        run = subprocess.run(trial, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return SandboxSupport(**base, isolated=False, reason=f"bwrap failed to run: {err}")
    if run.returncode != 0:
        msg = (run.stderr.strip().splitlines() or [f"exit status {run.returncode}"])[-1]
        return SandboxSupport(**base, isolated=False, reason=f"namespaces refused: {msg}")
    return SandboxSupport(**base, isolated=True, reason="")
