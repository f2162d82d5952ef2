"""The kernel launcher: ``python .../dlcourse/grading/sandbox/launch.py -f CONNECTION_FILE [limits]``.

(Also ``python -m dlcourse.grading.sandbox kernel ...``; the kernelspec runs this file as a script
because importing the ``dlcourse`` package imports torch, seconds per kernel.)

Part of :mod:`dlcourse.grading.sandbox`. Started by jupyter_client (through the sandbox kernelspec) in
the student's working folder, it starts ``ipykernel`` inside ``bwrap``:

- a mount namespace showing only the system (``/usr``, ``/etc``), the Python installation and
  the ``dlcourse`` package, read-only; the working folder is a *copy* in a private in-memory
  folder (``/home/student/<name>``) without any notebook (the notebook being graded holds the
  hidden tests); a private ``/tmp``; the connection file and the IPC socket folder;
- new network (no interface up: as root the private loopback bwrap sets up is removed, see
  :func:`loopback_down_then_exec`), PID, IPC and UTS namespaces;
- when the grader is root, an unprivileged user id of its own (``setpriv``), so ``RLIMIT_NPROC``
  counts only this kernel's processes and threads;
- rlimits (:class:`Limits`), a scrubbed environment (no ``NBGRADER_EXECUTION``, no grader paths).

Interrupts: jupyter_client signals the launcher's whole process group; the launcher and bwrap
ignore SIGINT (inherited), ipykernel installs its own handler while a cell runs. Clean-up: when
the kernel exits, bwrap's PID 1 exits and the kernel kills every process left in the namespace,
``setsid`` children included; ``--die-with-parent`` and a poll of the launcher's parent cover a
grader that was killed.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    from .limits import Limits, SandboxSupport, apply_rlimits, probe
except ImportError:  # run as a script (the kernelspec does: importing dlcourse imports torch)
    from limits import Limits, SandboxSupport, apply_rlimits, probe

__all__ = ["main", "bwrap_command", "kernel_env"]

WORK_ROOT = "/home/student"
CONNECTION = "/run/dlcourse/kernel.json"
UID_BASE, UID_COUNT = 200_000, 4096  # unnamed user ids, one per running kernel
MAX_COPY_FILES, MAX_COPY_BYTES = 500, 200 * 2**20


def kernel_env(home: str, keep: tuple[str, ...] = ()) -> dict[str, str]:
    """A fresh environment: nothing of the grader's leaks in (``NBGRADER_EXECUTION``, paths,
    tokens); HOME, IPython's and Matplotlib's folders point to the private ``/tmp``."""
    env = {
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "USER": "student",
        "LOGNAME": "student",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "MPLCONFIGDIR": f"{home}/.config/matplotlib",
        "IPYTHONDIR": f"{home}/.ipython",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "JPY_PARENT_PID": "1",  # in a PID namespace the parent is 1: do not treat it as orphaned
    }
    for name in keep:
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _ro_paths(extra: list[str]) -> list[str]:
    """The Python installation, the venv and the dlcourse package: what the kernel must read."""
    wanted = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        str(Path(sys.executable).resolve().parents[1]),
        str(Path(__file__).resolve().parent),
        *extra,
    }  # this folder: the package
    paths = sorted({str(Path(p).resolve()) for p in wanted} | wanted)
    return [p for p in paths if os.path.exists(p) and not p.startswith(("/usr/", "/etc/"))]


def _copy_tree(workdir: Path, dest: str, args: list[str], fds: list[int]) -> list[str]:
    """``--dir``/``--file`` arguments copying the working folder into the sandbox's tmpfs.

    Notebooks are left out (the one being graded contains the hidden tests), and so are
    symbolic links (they could point anywhere the grader can read)."""
    skipped, total = [], 0
    for root, dirs, files in os.walk(workdir):
        dirs[:] = sorted(
            d for d in dirs if d != ".ipynb_checkpoints" and not os.path.islink(os.path.join(root, d))
        )
        rel = os.path.relpath(root, workdir)
        target = dest if rel == "." else f"{dest}/{rel}"
        if rel != ".":
            args += ["--perms", "0777", "--dir", target]
        for name in sorted(files):
            path = os.path.join(root, name)
            if name.endswith(".ipynb") or os.path.islink(path) or not os.path.isfile(path):
                continue
            size = os.path.getsize(path)
            if len(fds) >= MAX_COPY_FILES or total + size > MAX_COPY_BYTES:
                skipped.append(os.path.relpath(path, workdir))
                continue
            total += size
            fds.append(os.open(path, os.O_RDONLY))
            args += ["--perms", "0666", "--file", str(fds[-1]), f"{target}/{name}"]
    return skipped


def _data_fd(text: str) -> int:
    """A readable file descriptor holding ``text`` (bwrap copies it into the sandbox)."""
    handle = tempfile.TemporaryFile()
    handle.write(text.encode())
    handle.seek(0)
    return os.dup(handle.fileno())


def _claim_uid() -> tuple[int, int]:
    """An unused user id from a private range, held by a lock for the kernel's lifetime."""
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


def bwrap_command(
    support: SandboxSupport,
    limits: Limits,
    workdir: Path,
    connection: dict,
    kernel_argv: list[str],
    extra_ro: list[str],
    hide: list[str],
    uid: int | None,
) -> tuple[list[str], list[int], list[str]]:
    """The ``bwrap`` command line, the file descriptors it reads, and files not copied."""
    args = [
        support.bwrap,
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
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
    # the private /tmp first: binds below come after it, so a venv or course under /tmp shows
    args += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--perms",
        "1777",
        "--size",
        str(limits.disk),
        "--tmpfs",
        "/tmp",
    ]
    bound = _ro_paths(extra_ro)
    for path in bound:
        args += ["--ro-bind", path, path]
    for path in hide:  # a course folder below a bound path (a venv inside the course, say)
        real = str(Path(path).resolve())
        if any(real == b or real.startswith(b + "/") for b in bound):
            args += ["--perms", "0000", "--tmpfs", real]
    fds: list[int] = []
    if uid is not None:  # a passwd entry, so that getpass, pwd and torch find a user name
        fds += [
            _data_fd(f"root:x:0:0::/root:/bin/false\nstudent:x:{uid}:{uid}::/tmp:/bin/false\n"),
            _data_fd(f"root:x:0:\nstudent:x:{uid}:\n"),
        ]
        args += ["--ro-bind-data", str(fds[0]), "/etc/passwd", "--ro-bind-data", str(fds[1]), "/etc/group"]
    work = f"{WORK_ROOT}/{workdir.name or 'work'}"
    args += ["--perms", "0777", "--size", str(limits.disk), "--tmpfs", work]
    skipped = _copy_tree(workdir, work, args, fds)
    if connection.get("transport") == "ipc":
        sockets = os.path.dirname(connection["ip"])
        args += ["--bind", sockets, sockets]
        bound.append(sockets)
    # bwrap creates missing parents with the host's modes (/root is 0700): open them up
    parents = {str(q) for p in bound for q in Path(p).parents}
    for path in sorted(parents - set(bound) - {"/", "/tmp", "/usr", "/etc"}, key=len):
        args += ["--chmod", "0755", path]
    fds.append(_data_fd(json.dumps(connection)))
    args += ["--perms", "0444", "--ro-bind-data", str(fds[-1]), CONNECTION, "--chdir", work]
    if uid is not None:  # as root: take the private loopback down too, then drop to the uid
        args += [
            "--cap-add",
            "CAP_NET_ADMIN",
            "--",
            sys.executable,
            str(Path(__file__).resolve()),
            LOOPBACK_DOWN,
            "--",
            support.setpriv,
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            "--",
        ]
    else:
        args += ["--"]
    return args + kernel_argv, fds, skipped


LOOPBACK_DOWN = "--loopback-down-then-exec"


def loopback_down_then_exec(argv: list[str]) -> None:
    """Inside the sandbox: remove the namespace's own loopback, then ``exec`` ``argv``.

    bwrap brings up a private loopback, on which a connection to 127.0.0.1 is *refused*; with
    its address removed and the device down, every connection fails with ``ENETUNREACH``: the
    kernel has no network at all. (``ioctl`` on a ``struct ifreq``: 16 bytes of interface name,
    then a ``sockaddr_in`` for ``SIOCSIFADDR``, where 0.0.0.0 deletes the address, or a short of
    flags for ``SIOC[GS]IFFLAGS``.)
    """
    import socket
    import struct

    siocgifflags, siocsifflags, siocsifaddr, iff_up = 0x8913, 0x8914, 0x8916, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        fcntl.ioctl(
            sock,
            siocsifaddr,
            struct.pack("16sH2s4s8x", b"lo", socket.AF_INET, b"", socket.inet_aton("0.0.0.0")),
        )
        flags = struct.unpack("16sh22x", fcntl.ioctl(sock, siocgifflags, struct.pack("16sh22x", b"lo", 0)))[1]
        fcntl.ioctl(sock, siocsifflags, struct.pack("16sh22x", b"lo", flags & ~iff_up))
    os.execv(argv[0], argv)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m dlcourse.grading.sandbox kernel")
    p.add_argument("-f", "--connection-file", required=True)
    p.add_argument("--workdir", default=None, help="default: the current directory")
    p.add_argument("--isolation", choices=("auto", "require", "off"), default="auto")
    p.add_argument("--ro", action="append", default=[], help="extra read-only path")
    p.add_argument("--hide", action="append", default=[], help="path never to show")
    p.add_argument("--keep-env", action="append", default=[], help="variable to pass through")
    for name, default in Limits().as_dict().items():
        p.add_argument(f"--{name.replace('_', '-')}", default=str(default))
    return p


def main(argv: list[str]) -> int:
    """Run one kernel under the sandbox; returns the kernel's exit status."""
    opts, kernel_extra = _parser().parse_known_args(argv)
    limits = Limits(
        **{
            k: (v if k in ("memory", "fsize", "disk") else int(v))
            for k, v in vars(opts).items()
            if k in Limits().as_dict()
        }
    )
    workdir = Path(opts.workdir or os.getcwd()).resolve()
    connection = json.loads(Path(opts.connection_file).read_text())
    support = probe() if opts.isolation != "off" else None
    isolated = bool(support and support.isolated)
    if opts.isolation == "require" and not isolated:
        print(support.notice(limits), file=sys.stderr)
        return 3
    kernel = [
        sys.executable,
        "-m",
        "ipykernel_launcher",
        "-f",
        CONNECTION if isolated else opts.connection_file,
        *kernel_extra,
    ]
    fds: list[int] = []
    if isolated:
        if connection.get("transport") != "ipc":
            print(
                "sandbox: the kernel has no network, so it needs IPC sockets: set "
                "c.KernelManager.transport='ipc' and an absolute c.KernelManager.ip "
                "(see dlcourse.grading.sandbox.grading_config)",
                file=sys.stderr,
            )
            return 2
        uid = None
        if support.separate_user:
            uid, _lock = _claim_uid()  # the lock is held until this process exits
        cmd, fds, skipped = bwrap_command(
            support, limits, workdir, connection, kernel, opts.ro, opts.hide, uid
        )
        if skipped:
            print(f"sandbox: not copied into the sandbox (limits): {skipped[:5]}", file=sys.stderr)
        env, cwd = kernel_env("/tmp", tuple(opts.keep_env)), "/"
    else:
        print((support.notice(limits) if support else "sandbox: isolation OFF (asked for)"), file=sys.stderr)
        home = tempfile.mkdtemp(prefix="dlcourse-kernel-home-")
        env, cwd = kernel_env(home, tuple(opts.keep_env)), str(workdir)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited by bwrap (see module docstring)
    proc = (
        subprocess.Popen(kernel, env=env, cwd=cwd, pass_fds=fds, preexec_fn=lambda: apply_rlimits(limits))
        if not isolated
        else subprocess.Popen(cmd, env=env, cwd=cwd, pass_fds=fds, preexec_fn=lambda: apply_rlimits(limits))
    )
    for fd in fds:
        os.close(fd)
    parent = os.getppid()
    signal.signal(signal.SIGTERM, lambda *_: proc.kill())
    while True:
        try:
            code = proc.wait(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            if os.getppid() != parent:  # the grader died: take the kernel down with it
                proc.kill()
    if not isolated:  # no PID namespace: kill what the kernel left in our process group
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.killpg(os.getpgrp(), signal.SIGTERM)
    return code


if __name__ == "__main__":
    if sys.argv[1:2] == [LOOPBACK_DOWN]:
        loopback_down_then_exec(sys.argv[3:])  # after the "--"
    sys.exit(main(sys.argv[1:]))
