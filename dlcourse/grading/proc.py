"""Run one nbgrader command in a fresh process, cheaply, with a wall-time limit.

Starting ``nbgrader`` costs several seconds of CPU before any notebook runs (importing Jupyter's
stack compiles dozens of grammars), about as much as grading a small notebook. Plain
``nbgrader autograde`` pays it once for a whole class; one process per student would pay it per
student. Here a *fork server* imports nbgrader once; each command then runs in a new process
forked from it (milliseconds), in its own session, with ``cwd`` set to the course, its output in
a log file. When the command ends or runs past its limit, the process group and every
descendant are killed.

The same fork server starts the trusted test processes (:func:`run_isolated`): it has imported
torch and used it once (:mod:`dlcourse.grading.warmup`), so a test process starts warm, and
nothing that is not thread-safe (CPython's ``ast``) ever runs in the grader's worker threads.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path

__all__ = ["run_nbgrader", "run_checked", "run_isolated", "kill_tree", "preload", "start_server", "PassFd"]

_PRELOAD = [
    "nbgrader.apps",
    "dlcourse.grading.warmup",
    "dlcourse.grading.proc",
    "dlcourse.grading.harness",
    "dlcourse.grading.cheats",
    "dlcourse.grading.preprocessors",
]


def _default_preload() -> list[str]:
    from .settings import DlcourseGrading

    return list(DlcourseGrading.class_traits()["preload"].default())


def preload(modules) -> None:
    """Have the fork server import ``modules`` too (call before its first use: the trusted test
    process imports what the set-up cells import, so torch is imported once per run, not per student)."""
    for name in modules:
        if name not in _PRELOAD:
            _PRELOAD.append(name)


def start_server() -> None:
    """Start the fork server now (its imports take seconds: overlap them with other work)."""
    proc = _context().Process(target=_noop, daemon=True)
    proc.start()
    proc.join()


def _noop() -> None:
    pass


class PassFd:
    """A file descriptor handed to a process started by the fork server (e.g. a pidfd)."""

    def __init__(self, fd: int):
        self.fd = fd

    def __reduce__(self):
        from multiprocessing.reduction import DupFd

        return (_rebuild_fd, (DupFd(self.fd),))


def _rebuild_fd(dup) -> int:
    return dup.detach()


def kill_tree(pid: int) -> None:
    """Kill ``pid``, its process group and all its descendants."""
    try:
        import psutil

        parent = psutil.Process(pid)
        family = parent.children(recursive=True) + [parent]
    except Exception:  # noqa: BLE001  already gone, or psutil missing: kill what we can
        family = []
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for proc in family:
        try:
            proc.kill()
        except Exception:  # noqa: BLE001  gone meanwhile, or not ours: nothing left to kill
            pass


def _child(argv: list[str], cwd: str, log_path: str, env: dict[str, str]) -> None:
    """Body of the forked process: become a session leader, redirect output, run nbgrader."""
    os.setsid()
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.chdir(cwd)
    os.environ.update(env)
    sys.argv = ["nbgrader", *argv]
    from nbgrader.apps.nbgraderapp import NbGraderApp

    NbGraderApp.launch_instance(argv=argv)
    sys.stdout.flush()
    sys.stderr.flush()


def _context():
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD + [m for m in _default_preload() if m not in _PRELOAD])
    return ctx


def run_nbgrader(
    argv: list[str],
    cwd: Path,
    log_path: Path,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
) -> int | None:
    """Run ``nbgrader *argv`` in ``cwd``; return its exit code, or ``None`` when it timed out.

    Output (stdout and stderr) goes to ``log_path``.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    proc = _context().Process(
        target=_child, args=(argv, str(cwd), str(log_path), dict(env or {})), daemon=False
    )
    proc.start()
    proc.join(timeout)
    timed_out = proc.exitcode is None
    if timed_out:
        kill_tree(proc.pid)
    proc.join()
    return None if timed_out else proc.exitcode


def run_checked(argv: list[str], cwd: Path, log_path: Path) -> str:
    """Run nbgrader, return its log; raise ``RuntimeError`` with the log's tail when it fails."""
    start = time.perf_counter()
    code = run_nbgrader(argv, cwd, log_path)
    text = log_path.read_text(encoding="utf-8", errors="replace")
    if code != 0:
        raise RuntimeError(
            f"nbgrader {' '.join(argv)} failed (exit {code}, "
            f"{time.perf_counter() - start:.1f} s):\n{text[-3000:]}"
        )
    return text


def _isolated_child(target, args: tuple, result_path: str, memory: int | None = None) -> None:
    """Body of :func:`run_isolated`'s process: run ``target(*args)``, write its JSON outcome."""
    import json
    import resource
    import traceback

    if memory:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        outcome = {"value": target(*args)}
    except BaseException as err:  # noqa: BLE001  reported to the parent, which decides
        outcome = {"error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()}
    with open(result_path, "w", encoding="utf-8") as f:
        json.dump(outcome, f)


def run_isolated(
    target, args: tuple, result_path: Path, timeout: float | None = None, memory: int | None = None
) -> tuple[str, object]:
    """Run ``target(*args)`` in a process of its own, forked from the preloaded fork server.

    Work that is not safe to share an interpreter with concurrent work (CPython 3.11's ``ast``
    keeps its recursion bookkeeping per interpreter, python/cpython gh-106905) runs here, one
    single-threaded process per call. ``target`` must be a module-level function and return
    JSON-serialisable data. Returns ``("ok", value)``, ``("error", message)`` when ``target``
    raised, ``("crashed", message)`` when the process died without a result, or
    ``("timeout", None)`` past ``timeout`` seconds (the process and its descendants are killed).
    ``memory`` limits the process's address space (bytes). Sockets and :class:`PassFd` in ``args``
    reach the process as open descriptors.
    """
    import json

    result_path = Path(result_path)
    result_path.unlink(missing_ok=True)
    proc = _context().Process(
        target=_isolated_child, args=(target, args, str(result_path), memory), daemon=False
    )
    proc.start()
    proc.join(timeout)
    if proc.exitcode is None:
        kill_tree(proc.pid)
        proc.join()
        return "timeout", None
    try:
        outcome = json.loads(result_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "crashed", f"the process exited with code {proc.exitcode} and left no result"
    if "error" in outcome:
        return "error", outcome["error"]
    return "ok", outcome["value"]
