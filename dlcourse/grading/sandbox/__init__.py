"""Student code runs here: one warm, isolated interpreter per run, one forked process per student.

Plain nbgrader executes a submission in a kernel with the grader's rights. Here a run of
``make autograde`` starts ONE warm interpreter (:mod:`.zygote`) under bubblewrap
(:mod:`.launch`: no network, no view of the course or of the ``dlcourse`` package, its own
processes) that has imported torch and IPython once; each student gets a process forked from it,
in namespaces of its own, with one size- and file-count-limited writable space, an unprivileged
user id (as root), rlimits, and no way back to the grader but one socket. Over that socket the
trusted test process (:mod:`dlcourse.grading.harness`) runs the notebook's cells and calls the
student's functions (:mod:`.runner`, :mod:`.wire`, :mod:`.values`, :mod:`.rules`).

::

    with Sandbox(settings, probe(), hide=[course_root]) as box:
        student = box.spawn({"data.csv": b"..."}, "ps1_backprop")   # a StudentProcess
        ...                                                        # talk over student.sock
        student.kill()

Where bubblewrap or namespaces are missing, :func:`probe` says why and the processes still get
the rlimits, time limits and a kill of their process group (``isolation="require"`` refuses).
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from . import wire
from .launch import claim_uid, zygote_command, zygote_env
from .probe import SandboxSupport, probe

__all__ = ["Sandbox", "StudentProcess", "SandboxSupport", "SandboxError", "probe"]

READY_TIMEOUT = 300.0  # importing torch on a busy machine
SPAWN_TIMEOUT = 60.0


class SandboxError(RuntimeError):
    """The grader's sandbox failed (not the student): the student is graded again."""


@dataclass
class StudentProcess:
    """One student's process: its socket, its process id (the grader's view) and a pidfd."""

    sock: socket.socket
    pid: int
    pidfd: int
    group: bool = False  # isolation off: its process group is killed too
    folder: str | None = None  # isolation off: its working folder on the host (removed at the end)
    _uid_lock: int | None = field(default=None, repr=False)

    def signal(self, sig: int) -> None:
        try:
            signal.pidfd_send_signal(self.pidfd, sig)
        except (ProcessLookupError, OSError):
            pass
        if self.group and sig == signal.SIGKILL:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def interrupt(self) -> None:
        self.signal(signal.SIGINT)

    def kill(self, wait: float = 10.0) -> None:
        """Kill the process and wait (up to ``wait`` seconds) until it is gone: as PID 1 of its
        namespace, it is gone only once everything it started is gone too."""
        self.signal(signal.SIGKILL)
        if self.pidfd >= 0:
            select.select([self.pidfd], [], [], wait)
        for fd in (self.pidfd, self._uid_lock):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.pidfd, self._uid_lock = -1, None
        self.sock.close()
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def _hello_pid(sock: socket.socket) -> int:
    """The process id the kernel attached to the student's first byte (translated for us)."""
    sock.settimeout(SPAWN_TIMEOUT)
    size = struct.calcsize("3i")
    data, ancillary, _, _ = sock.recvmsg(1, socket.CMSG_SPACE(size))
    if data != b"H":
        raise SandboxError("the student's process ended before it was ready")
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid, _, _ = struct.unpack("3i", payload[:size])
            return pid
    raise SandboxError("the student's process sent no credentials")


class Sandbox:
    """The run's warm interpreter; :meth:`spawn` is safe to call from several threads."""

    def __init__(self, settings, support: SandboxSupport | None = None, hide=(), log: Path | None = None):
        self.settings, self.support = settings, support or probe()
        self.isolated = self.support.isolated and settings.isolation != "off"
        self.hide, self.log = [str(p) for p in hide], log
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._ctl: socket.socket | None = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        self.close()
        mine, theirs = socket.socketpair()
        support = self.support if self.isolated else SandboxSupport("", None, False, False, "off")
        cmd = zygote_command(support, theirs.fileno(), list(self.settings.preload), self.hide)
        log = open(self.log, "ab") if self.log else subprocess.DEVNULL
        try:
            self._proc = subprocess.Popen(
                cmd,
                pass_fds=(theirs.fileno(),),
                env=zygote_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                cwd="/",
            )
        finally:
            theirs.close()
            if log is not subprocess.DEVNULL:
                log.close()
        self._ctl = mine
        try:
            ready, _ = wire.recv(mine, 2**20, timeout=READY_TIMEOUT)
        except (OSError, EOFError, TimeoutError, wire.WireError) as err:
            self.close()
            raise SandboxError(
                f"the sandbox's interpreter did not start ({type(err).__name__}: {err})"
            ) from None
        self.failed_preloads = ready.get("failed", [])

    def start(self) -> None:
        """Start the warm interpreter now (it imports torch: overlap that with other work)."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                try:
                    self._start()
                except SandboxError:
                    pass  # spawn() tries again and reports

    def spawn(self, files: dict[str, bytes], workdir: str) -> StudentProcess:
        """A fresh process for one student, its working folder ``workdir`` holding ``files``."""
        uid, lock = claim_uid() if self.isolated and self.support.root else (None, None)
        spec = {"op": "spawn", "uid": uid, "limits": self.settings.limits(), "workdir": workdir}
        names = sorted(files)
        try:
            with self._lock:
                for attempt in range(2):
                    if self._ctl is None or self._proc is None or self._proc.poll() is not None:
                        self._start()
                    try:
                        wire.send(self._ctl, {**spec, "files": names}, [files[n] for n in names])
                        self._ctl.settimeout(SPAWN_TIMEOUT)
                        _, fds, _, _ = socket.recv_fds(self._ctl, 1, 1)
                        spawned, _ = wire.recv(self._ctl, 2**20, timeout=SPAWN_TIMEOUT)
                        break
                    except (OSError, EOFError, TimeoutError, wire.WireError) as err:
                        self.close()
                        if attempt:
                            raise SandboxError(f"the sandbox did not start a process: {err}") from None
            if len(fds) != 1:
                raise SandboxError("the sandbox sent no socket")
            sock = socket.socket(fileno=fds[0])
            try:
                pid = _hello_pid(sock)
                pidfd = os.pidfd_open(pid)
            except (OSError, TimeoutError) as err:
                sock.close()
                raise SandboxError(f"the student's process did not start: {err}") from None
            sock.settimeout(None)
            folder = spawned.get("folder") if not self.isolated else None
            return StudentProcess(sock, pid, pidfd, group=not self.isolated, folder=folder, _uid_lock=lock)
        except BaseException:
            if lock is not None:
                os.close(lock)
            raise

    def close(self) -> None:
        """Stop the warm interpreter (students already spawned end with it when isolated)."""
        if self._ctl is not None:
            self._ctl.close()
            self._ctl = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
