"""The sandbox against the attack corpus in tests/attacks/, through the real student process.

Each attack is a notebook cell that prints one ``RESULT ...`` line. All attacks run in ONE
student process (forked from the run's warm interpreter), and the ones whose failure must be due
to the sandbox (reading a planted secret, reaching a loopback listener) also run with isolation
off, as the control. Isolation tests skip when bubblewrap cannot run here, unless
DLCOURSE_REQUIRE_SANDBOX=1.
"""

from __future__ import annotations

import errno
import importlib
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dlcourse.grading.sandbox import Sandbox, probe, wire
from dlcourse.grading.sandbox.launch import UID_BASE, UID_COUNT
from dlcourse.grading.settings import DlcourseGrading

ATTACKS = Path(__file__).parent / "attacks"
SUPPORT = probe()
REQUIRE = os.environ.get("DLCOURSE_REQUIRE_SANDBOX") == "1"
needs_sandbox = pytest.mark.skipif(
    not SUPPORT.isolated and not REQUIRE, reason=f"no isolation here: {SUPPORT.reason}"
)
MARKER = "dlcourse-attack-marker"


def settings(isolation: str = "auto") -> DlcourseGrading:
    s = DlcourseGrading(memory="3G", cpu_seconds=120, nproc=64, file_size="64M", disk="256M", files=2000)
    s.isolation, s.preload = isolation, ["numpy", "torch"]
    return s


def attack(name: str, **values) -> str:
    text = (ATTACKS / f"{name}.py").read_text()
    for key, value in values.items():
        text = text.replace(f"__{key}__", str(value))
    return text


def run_cells(
    box: Sandbox, sources: list[str], timeout: float = 60, timeouts: dict[int, float] | None = None
) -> tuple[list[str], float]:
    """Run cells in a fresh student process; the RESULT line (or error name) of each.

    A cell still running after its timeout (``timeouts[i]`` for cell ``i``, else ``timeout``) is
    interrupted. The default is generous: on a loaded machine a bounded attack (a memory bomb that
    maps 3 GiB before its MemoryError) may take seconds, and must not be mistaken for a hang.
    """
    student = box.spawn({"data.csv": b"1,2\n"}, "ps1")
    out = []
    start = time.perf_counter()
    try:
        wire.send(student.sock, {"op": "init", "id": 0, "banned": {}})
        wire.recv(student.sock, 2**24, 120)
        for i, source in enumerate(sources):
            wire.send(student.sock, {"op": "run", "id": i + 1, "source": source})
            try:
                reply, _ = wire.recv(student.sock, 2**24, (timeouts or {}).get(i, timeout))
            except TimeoutError:
                student.interrupt()
                reply, _ = wire.recv(student.sock, 2**24, 60)
            text = "".join(o.get("text", "") for o in reply["outputs"] if o["output_type"] == "stream")
            lines = [ln for ln in text.splitlines() if ln.startswith("RESULT")]
            errors = [o["ename"] for o in reply["outputs"] if o["output_type"] == "error"]
            out.append(lines[0] if lines else ("ERROR " + ",".join(errors) if errors else ""))
    finally:
        student.kill()
    return out, time.perf_counter() - start


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course on disk (a secret source notebook, a gradebook) and a listener on a loopback port."""
    root = tmp_path_factory.mktemp("course")
    (root / "source" / "ps1").mkdir(parents=True)
    secret = root / "source" / "ps1" / "ps1.ipynb"
    secret.write_text("HIDDEN-SOLUTION-42")
    gradebook = root / "gradebook.db"
    gradebook.write_bytes(b"SQLite format 3\0 grades")
    outside = root / "outside"
    outside.mkdir()
    os.chmod(outside, 0o777)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.sendall(b"hello from the grader's machine")
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield {
        "root": root,
        "secret": secret,
        "gradebook": gradebook,
        "port": server.getsockname()[1],
        "outside": outside,
    }
    server.close()


NAMES = [
    "grader_env",
    "read_source",
    "read_notebook",
    "write_outside",
    "network",
    "course_package",
    "memory_bomb",
    "fork_bomb",
    "big_file",
    "tmp_files",
    "disk_fill",
    "infinite_loop",
    "setsid_child",
]


@pytest.fixture(scope="module")
def sandboxed(course):
    """Every attack, in order, in one sandboxed student process (the infinite loop interrupted
    after 3 s; every other cell has a minute, so that a loaded machine does not fail a bound)."""
    if not SUPPORT.isolated and REQUIRE:
        pytest.fail(f"DLCOURSE_REQUIRE_SANDBOX=1 but {SUPPORT.notice()}")
    if not SUPPORT.isolated:
        pytest.skip(f"no isolation here: {SUPPORT.reason}")
    values = dict(
        SECRET=course["secret"],
        GRADEBOOK=course["gradebook"],
        PORT=course["port"],
        WORKDIR=course["root"],
        MARKER_DIR=course["outside"],
    )
    os.environ["NBGRADER_EXECUTION"] = "autograde"  # as nbgrader sets it: it must not reach the student
    try:
        with Sandbox(settings(), SUPPORT, hide=[course["root"]]) as box:
            results, seconds = run_cells(
                box,
                [attack(n, **values) for n in NAMES] + ["print('RESULT still alive')"],
                timeouts={NAMES.index("infinite_loop"): 3},
            )
    finally:
        del os.environ["NBGRADER_EXECUTION"]
    time.sleep(3.5)  # the setsid child (last attack) would write its file 3 s after it started
    return dict(zip(NAMES + ["after"], results)), seconds


@needs_sandbox
def test_sandbox_hides_course_files_and_grader(sandboxed, course):
    res = sandboxed[0]
    assert res["read_source"].startswith("RESULT blocked"), res["read_source"]
    assert res["read_notebook"].startswith("RESULT blocked") and "data.csv" in res["read_notebook"], res[
        "read_notebook"
    ]
    assert res["write_outside"].startswith("RESULT blocked"), res["write_outside"]
    assert course["gradebook"].read_bytes() == b"SQLite format 3\0 grades"
    assert course["secret"].read_text() == "HIDDEN-SOLUTION-42"
    env, uid, user, cwd = res["grader_env"].split()[1:]
    assert env == "None" and user == "student" and cwd == "/home/student/ps1"
    assert int(uid) != 0 or os.geteuid() != 0
    assert res["course_package"] == "RESULT blocked ImportError", "the course package holds the answers"


@needs_sandbox
def test_sandbox_has_no_network_at_all(sandboxed):
    res = sandboxed[0]["network"]
    assert res.startswith(f"RESULT blocked OSError {errno.ENETUNREACH} "), res
    assert "'lo'" in res and "eth" not in res


@needs_sandbox
def test_sandbox_limits_hold(sandboxed):
    res, limits = sandboxed[0], settings().limits()
    mib = int(res["memory_bomb"].split()[2])
    assert res["memory_bomb"].startswith("RESULT bounded") and mib <= limits["memory"] / 2**20
    _, bounded, children, code, _ = res["fork_bomb"].split()
    assert bounded == "bounded" and int(children) < limits["nproc"] and int(code) == errno.EAGAIN
    _, word, code, size = res["big_file"].split()
    assert word == "bounded" and int(code) == errno.EFBIG and int(size) <= limits["file_size"]
    _, word, code, made = res["tmp_files"].split()
    assert word == "bounded" and int(code) == errno.ENOSPC and int(made) < limits["files"]
    _, word, code, mib = res["disk_fill"].split()
    assert (
        word == "bounded" and int(code) in (errno.ENOSPC, errno.EFBIG) and int(mib) <= limits["disk"] / 2**20
    )
    assert res["infinite_loop"] == "ERROR KeyboardInterrupt"
    assert res["after"] == "RESULT still alive"


@needs_sandbox
def test_sandbox_leaves_nothing_running_or_written(sandboxed, course):
    res, _ = sandboxed
    assert res["setsid_child"] == "RESULT started"
    assert list(course["outside"].iterdir()) == []
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if MARKER.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                left.append(pid)
            in_range = UID_BASE <= os.stat(f"/proc/{pid}").st_uid < UID_BASE + UID_COUNT
            if in_range and b"dlcourse-runner/zygote.py" in Path(f"/proc/{pid}/cmdline").read_bytes():
                left.append(pid)  # a student's process (forked from the warm interpreter)
        except OSError:
            pass
    assert left == []
    interrupted = [name for name, out in res.items() if out == "ERROR KeyboardInterrupt"]
    assert interrupted == ["infinite_loop"], "every other attack ends by itself, at its limit"


def test_isolation_off_is_the_control_and_keeps_the_limits(course):
    """The same attacks succeed without isolation: the sandbox, not the test, blocks them; the
    rlimits still hold."""
    values = dict(SECRET=course["secret"], PORT=course["port"])
    limit_cell = "import resource; print('RESULT', resource.getrlimit(resource.RLIMIT_AS)[0])"
    with Sandbox(settings("off"), SUPPORT) as box:
        (leaked, connected, big, mem), _ = run_cells(
            box,
            [attack("read_source", **values), attack("network", **values), attack("big_file"), limit_cell],
        )
    assert leaked.startswith("RESULT leaked HIDDEN-SOLUTION-42")
    assert connected == "RESULT connected hello from the grader's machine"
    assert big.split()[1:3] == ["bounded", str(errno.EFBIG)]
    assert int(mem.split()[1]) == settings().limits()["memory"]
    assert resource.getrlimit(resource.RLIMIT_AS)[0] != settings().limits()["memory"], (
        "the grader itself is not limited"
    )


def test_probe_without_bwrap_says_so(monkeypatch):
    probe_module = importlib.import_module("dlcourse.grading.sandbox.probe")
    monkeypatch.setattr(probe_module.shutil, "which", lambda name: None)
    support = probe_module.probe()
    assert not support.isolated and "bubblewrap is not installed" in support.reason
    line = support.notice(settings())
    assert "UNAVAILABLE" in line and "\n" not in line and "memory 3.0 GiB" in line


def test_probe_from_the_command_line():
    """``python -m dlcourse.grading.sandbox probe`` (hub/instructor_setup.sh, book/jupyterhub.md):
    the notice line, exit 0 exactly when isolation works."""
    from dlcourse.grading.sandbox.probe import probe

    run = subprocess.run(
        [sys.executable, "-m", "dlcourse.grading.sandbox", "probe"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.stdout.startswith("sandbox: isolation "), run.stdout + run.stderr
    assert run.returncode == (0 if probe().isolated else 1)
    wrong = subprocess.run([sys.executable, "-m", "dlcourse.grading.sandbox"], capture_output=True, text=True)
    assert wrong.returncode == 2 and "usage" in wrong.stderr


def test_probe_with_the_environment_under_tmp(tmp_path):
    """A course cloned under /tmp (its .venv there too) is isolated as well: the sandbox's own /tmp
    must not hide the interpreter (a clean clone in /tmp once read "isolation UNAVAILABLE")."""
    from dlcourse.grading.sandbox.probe import probe

    if not probe().isolated:
        pytest.skip("isolation is unavailable on this machine")
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)],
        check=True,
        timeout=120,
    )
    assert str(venv).startswith("/tmp/") or not str(tmp_path).startswith("/tmp/")
    probe_py = Path(__file__).resolve().parents[1] / "dlcourse" / "grading" / "sandbox" / "probe.py"
    script = (  # probe.py needs only the standard library: load it alone into the bare venv
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('probe', {str(probe_py)!r})\n"
        "m = sys.modules['probe'] = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(m)\n"
        "s = m.probe(); print(s); raise SystemExit(0 if s.isolated else 1)\n"
    )
    run = subprocess.run(
        [str(venv / "bin" / "python"), "-c", script], capture_output=True, text=True, timeout=120
    )
    assert sys.prefix != str(venv) and run.returncode == 0, run.stdout + run.stderr
