"""The warm interpreter: imports torch once, then forks one sandboxed process per student.

Part of :mod:`dlcourse.grading.sandbox`; the script bubblewrap starts (``python zygote.py --fd N``),
with the grader's end of a control socket as file descriptor N. It imports the modules of
``DlcourseGrading.preload`` and builds the IPython shell once, says ``ready``, then answers
``spawn`` requests, one at a time: a forked child (copy-on-write: no import is paid again) that

1. (``--nested``) enters new mount, PID, network, IPC and UTS namespaces and forks the student's
   process as PID 1 there: when it ends, everything it started ends with it;
2. mounts ONE tmpfs, of ``disk`` bytes and ``files`` inodes, that holds the working copy, ``/tmp``
   and ``/dev/shm`` (every writable place counts against the same limits), a fresh ``/proc``, and
   (as root) a ``/etc/passwd`` naming the student's user id;
3. writes the working files, gives up every privilege (as root: the user id the grader chose for
   this student; else: every capability), sets the rlimits, a clean environment, and
4. says hello (the kernel attaches its process id, translated for the grader, to that byte) and
   serves the trusted test process (:class:`runner.Runner`) until it is told ``bye``.

The socket of the new process goes back to the grader with ``SCM_RIGHTS``. Without ``--nested``
(isolation off) step 1 and 2 are replaced by a new session and a temporary working folder.
"""

from __future__ import annotations

import argparse
import importlib
import os
import select
import signal
import socket
import sys
import tempfile
import traceback

try:
    from . import capture, linux, runner, warm, wire
except ImportError:  # inside the sandbox: a top-level module beside its siblings
    import capture
    import linux
    import runner
    import warm
    import wire

__all__ = ["main", "HOME", "ENV"]

HOME = "/home/student"
SPAWN_LIMIT = 256 * 2**20
ENV = {
    "HOME": "/tmp",
    "USER": "student",
    "LOGNAME": "student",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONNOUSERSITE": "1",
    "MPLCONFIGDIR": "/tmp/.config/matplotlib",
    "IPYTHONDIR": "/tmp/.ipython",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def _safe_name(name: str) -> bool:
    parts = name.split("/")
    return bool(name) and not name.startswith("/") and all(p not in ("", ".", "..") for p in parts)


def _private_root(spec: dict) -> str:
    """Step 2 of the module docstring; returns the working folder."""
    limits, uid = spec["limits"], spec.get("uid")
    linux.make_private()
    opts = f"size={limits['disk']},nr_inodes={limits['files']},mode=0755"
    linux.mount("tmpfs", HOME, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, opts)
    work = f"{HOME}/{spec['workdir']}"
    for path in (work, f"{HOME}/.tmp", f"{HOME}/.shm"):
        os.mkdir(path, 0o700)
        if uid is not None:
            os.chown(path, uid, uid)
    # The interpreter may live below /tmp (a course cloned there): carry it over the student's /tmp.
    keep = sorted({p for p in (sys.prefix, sys.base_prefix, sys.exec_prefix) if p.startswith("/tmp/")})
    for i, path in enumerate(keep):
        os.mkdir(f"{HOME}/.python{i}", 0o755)
        linux.bind(path, f"{HOME}/.python{i}", read_only=True, recursive=True)
    linux.bind(f"{HOME}/.tmp", "/tmp")
    for i, path in enumerate(keep):
        os.makedirs(path, 0o755, exist_ok=True)
        linux.bind(f"{HOME}/.python{i}", path, read_only=True, recursive=True)
    if os.path.isdir("/dev/shm"):
        linux.bind(f"{HOME}/.shm", "/dev/shm")
    if uid is not None:  # a passwd entry, so that getpass, pwd and torch find a user name
        os.mkdir(f"{HOME}/.etc", 0o755)
        for name, text in (
            ("passwd", f"root:x:0:0::/root:/bin/false\nstudent:x:{uid}:{uid}::/tmp:/bin/false\n"),
            ("group", f"root:x:0:\nstudent:x:{uid}:\n"),
        ):
            with open(f"{HOME}/.etc/{name}", "w") as f:
                f.write(text)
            linux.bind(f"{HOME}/.etc/{name}", f"/etc/{name}", read_only=True)
    linux.mount("proc", "/proc", "proc", linux.MS_NOSUID | linux.MS_NODEV)
    linux.sethostname("sandbox")
    return work


def _write_files(work: str, spec: dict, blobs: list[bytes], uid) -> None:
    for name, blob in zip(spec.get("files", []), blobs):
        if not isinstance(name, str) or not _safe_name(name):
            continue
        path = os.path.join(work, name)
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            with open(path, "wb") as f:
                f.write(blob)
            if uid is not None:
                os.chown(path, uid, uid)
        except OSError:
            pass  # over the disk or file limits: the file is simply missing


def _close_fds(keep: int) -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd != keep:
            try:
                os.close(fd)
            except OSError:
                pass


class _NoCoursePackage:
    """A meta path finder refusing ``dlcourse`` (isolated, the package is not even visible)."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "dlcourse" or name.startswith("dlcourse."):
            raise ImportError(f"No module named {name!r} (the course package is not available when grading)")
        return None


def _become_student(sock: socket.socket, spec: dict, blobs, nested: bool, shell) -> None:
    uid = spec.get("uid")
    if nested:
        work = _private_root(spec)
    else:
        os.setsid()
        work = spec["folder"]
    _write_files(work, spec, blobs, uid)
    _close_fds(sock.fileno())
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    if nested or uid is not None:
        linux.drop_capabilities()
    linux.die_with_parent()
    linux.apply_rlimits(spec["limits"])
    os.environ.clear()
    os.environ.update(ENV, PATH=f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin")
    os.chdir(work)
    sys.path[0] = ""
    sys.meta_path.insert(0, _NoCoursePackage)
    for name in [m for m in sys.modules if m == "dlcourse" or m.startswith("dlcourse.")]:
        del sys.modules[name]
    sock.send(b"H")  # the grader learns this process's id from the credentials of this byte
    runner.install_streams()
    runner.Runner(sock, shell, spec["limits"]).serve()


def _child(sock: socket.socket, spec: dict, blobs, nested: bool, shell) -> None:
    """The forked child (never returns)."""
    code = 0
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        if nested:
            linux.die_with_parent()
            linux.unshare(
                linux.CLONE_NEWNS
                | linux.CLONE_NEWPID
                | linux.CLONE_NEWNET
                | linux.CLONE_NEWIPC
                | linux.CLONE_NEWUTS
            )
            pid = os.fork()
            if pid:  # stays outside: waits for the student's PID 1, then goes
                sock.close()
                _, status = os.waitpid(pid, 0)
                os._exit(max(0, os.waitstatus_to_exitcode(status)) & 0xFF)
        _become_student(sock, spec, blobs, nested, shell)
    except BaseException:  # noqa: BLE001  the grader sees a process that never said hello
        code = 70
        try:
            os.write(2, traceback.format_exc().encode())
        except OSError:
            pass
    os._exit(code)


def _preload(names: list[str]) -> tuple[list[str], list[str]]:
    done, failed = [], []
    for name in names:
        try:
            importlib.import_module(name)
            done.append(name)
        except Exception as err:  # noqa: BLE001  reported; grading goes on without it
            failed.append(f"{name}: {type(err).__name__}: {err}")
    return done, failed


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="zygote.py")
    p.add_argument("--fd", type=int, required=True)
    p.add_argument("--nested", action="store_true")
    p.add_argument("--preload", default="")
    opts = p.parse_args(argv)
    ctl = socket.socket(fileno=opts.fd)
    done, failed = _preload([n for n in opts.preload.split(",") if n])
    for name in ("torch.overrides", "IPython.core.interactiveshell"):
        _preload([name])
    try:
        warm.warm_torch()
    except Exception as err:  # noqa: BLE001  torch missing or broken: the students' code will say so
        failed.append(f"warm-up: {type(err).__name__}: {err}")
    shell = capture.make_shell()
    wire.send(ctl, {"op": "ready", "preloaded": done, "failed": failed, "pid": os.getpid()})
    while True:
        readable, _, _ = select.select([ctl], [], [], 1.0)
        _reap()
        if not readable:
            continue
        try:
            message, blobs = wire.recv(ctl, SPAWN_LIMIT)
        except (EOFError, OSError, wire.WireError):
            return 0
        if message.get("op") != "spawn":
            continue
        mine, theirs = socket.socketpair()
        mine.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        if not opts.nested:  # isolation off: a working folder on the host, removed by the grader
            message["folder"] = tempfile.mkdtemp(prefix="dlcourse-student-")
        pid = os.fork()
        if pid == 0:
            ctl.close()
            mine.close()
            _child(theirs, message, blobs, opts.nested, shell)
        theirs.close()
        socket.send_fds(ctl, [b"F"], [mine.fileno()])
        mine.close()
        wire.send(ctl, {"op": "spawned", "pid": pid, "folder": message.get("folder")})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
