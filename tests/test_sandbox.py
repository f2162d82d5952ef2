"""The kernel sandbox against the attack corpus in tests/attacks/, through real kernels.

Each attack is a notebook cell that prints one ``RESULT ...`` line. All attacks run in ONE
sandboxed kernel (one start-up), and the ones whose failure must be due to the sandbox (reading
a planted secret, reaching a loopback listener) also run in a plain kernel as the control.
Isolation tests skip when bubblewrap cannot run here, unless DLCOURSE_REQUIRE_SANDBOX=1.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import threading
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from traitlets.config import Config

from dlcourse.grading import sandbox
from dlcourse.grading.sandbox import Limits

ATTACKS = Path(__file__).parent / "attacks"
SUPPORT = sandbox.probe()
REQUIRE = os.environ.get("DLCOURSE_REQUIRE_SANDBOX") == "1"
needs_sandbox = pytest.mark.skipif(
    not SUPPORT.isolated and not REQUIRE, reason=f"no isolation here: {SUPPORT.reason}"
)
LIMITS = Limits(memory="2G", cpu_seconds=120, nproc=64, fsize="64M", disk="256M")


def attack(name: str, **values) -> str:
    text = (ATTACKS / f"{name}.py").read_text()
    for key, value in values.items():
        text = text.replace(f"__{key}__", str(value))
    return text


def run_cells(sources, workdir, setup=None, timeout=10):
    """Execute cells in a fresh kernel (the sandbox's when ``setup`` is given); return the nb."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    if setup is None:
        km = AsyncKernelManager(kernel_name="python3")
        cfg = Config()
    else:
        cfg = Config(setup.config)
        dirs = [str(Path(setup.env["JUPYTER_PATH"].split(os.pathsep)[0]) / "kernels")]
        km = AsyncKernelManager(
            kernel_name=setup.kernel_name, config=cfg, kernel_spec_manager=KernelSpecManager(kernel_dirs=dirs)
        )
    try:
        NotebookClient(
            nb,
            km=km,
            timeout=timeout,
            allow_errors=True,
            interrupt_on_timeout=True,
            config=cfg,
            resources={"metadata": {"path": str(workdir)}},
        ).execute()
    finally:  # nbclient leaves a kernel it did not create running
        if km.has_kernel:
            run_sync(km.shutdown_kernel)()
    return nb


def results(nb) -> list[str]:
    """The RESULT line of each cell ('' when none), or the error name."""
    out = []
    for cell in nb.cells:
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        lines = [ln for ln in text.splitlines() if ln.startswith("RESULT")]
        errors = [o.ename for o in cell.outputs if o.output_type == "error"]
        out.append(lines[0] if lines else ("ERROR " + ",".join(errors) if errors else ""))
    return out


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course on disk: a secret source notebook, a gradebook, a student's working folder
    holding the notebook with hidden tests, and a listener on a loopback port."""
    root = tmp_path_factory.mktemp("course")
    (root / "source" / "ps1").mkdir(parents=True)
    secret = root / "source" / "ps1" / "ps1.ipynb"
    secret.write_text("HIDDEN-SOLUTION-42")
    gradebook = root / "gradebook.db"
    gradebook.write_bytes(b"SQLite format 3\0 grades")
    work = root / "autograded" / "alice" / "ps1"
    work.mkdir(parents=True)
    (work / "ps1.ipynb").write_text("### BEGIN HIDDEN TESTS")
    (work / "data.csv").write_text("1,2\n")
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
        "work": work,
        "port": server.getsockname()[1],
    }
    server.close()


@pytest.fixture(scope="module")
def sandboxed(course, tmp_path_factory):
    """Every attack, in order, in one sandboxed kernel (3 s per-cell timeout)."""
    if not SUPPORT.isolated and REQUIRE:
        pytest.fail(f"DLCOURSE_REQUIRE_SANDBOX=1 but {SUPPORT.notice()}")
    if not SUPPORT.isolated:
        pytest.skip(f"no isolation here: {SUPPORT.reason}")
    run = tmp_path_factory.mktemp("run")
    setup = sandbox.grading_config(run, LIMITS, hide=[str(course["root"])], support=SUPPORT)
    values = dict(
        SECRET=course["secret"],
        GRADEBOOK=course["gradebook"],
        PORT=course["port"],
        WORKDIR=course["work"],
        MARKER_DIR=run / "ipc",
    )
    names = [
        "grader_env",
        "read_source",
        "read_notebook",
        "write_outside",
        "network",
        "memory_bomb",
        "fork_bomb",
        "big_file",
        "infinite_loop",
        "setsid_child",
    ]
    os.environ["NBGRADER_EXECUTION"] = "autograde"  # as nbgrader sets it for its kernels
    try:
        start = time.perf_counter()
        nb = run_cells(
            [attack(n, **values) for n in names] + ["print('RESULT still alive')"],
            course["work"],
            setup,
            timeout=3,
        )
        seconds = time.perf_counter() - start
    finally:
        del os.environ["NBGRADER_EXECUTION"]
    time.sleep(3.5)  # the setsid child (last cell) would write its file 3 s after it started
    return dict(zip(names + ["after"], results(nb))), run, seconds, nb


@needs_sandbox
def test_sandbox_hides_course_files_and_grader(sandboxed, course):
    res, run, _, _ = sandboxed
    assert res["read_source"].startswith("RESULT blocked"), res["read_source"]
    assert res["read_notebook"].startswith("RESULT blocked"), res["read_notebook"]
    assert "data.csv" in res["read_notebook"]  # the student's own files are there
    assert res["write_outside"].startswith("RESULT blocked"), res["write_outside"]
    assert course["gradebook"].read_bytes() == b"SQLite format 3\0 grades"
    assert course["secret"].read_text() == "HIDDEN-SOLUTION-42"
    env, uid, user, cwd = res["grader_env"].split()[1:]
    assert env == "None" and user == "student" and cwd == "/home/student/ps1"
    assert int(uid) != 0 or os.geteuid() != 0


@needs_sandbox
def test_sandbox_has_no_network(sandboxed, course):
    res = sandboxed[0]["network"]
    if SUPPORT.separate_user:  # as root: no interface up at all, not even a private loopback
        assert res.startswith(f"RESULT blocked OSError {errno.ENETUNREACH} "), res
    else:  # bwrap's private loopback: nothing listens there
        assert res.startswith(f"RESULT blocked ConnectionRefusedError {errno.ECONNREFUSED} "), res
    assert "'lo'" in res and "eth" not in res  # a private loopback and nothing else


@needs_sandbox
def test_sandbox_limits_hold(sandboxed):
    res = sandboxed[0]
    mib = int(res["memory_bomb"].split()[2])
    assert res["memory_bomb"].startswith("RESULT bounded") and mib <= LIMITS.memory / 2**20
    _, bounded, children, code, _ = res["fork_bomb"].split()
    assert bounded == "bounded" and int(children) < LIMITS.nproc and int(code) == errno.EAGAIN
    _, word, code, size = res["big_file"].split()
    assert word == "bounded" and int(code) == errno.EFBIG and int(size) <= LIMITS.fsize
    assert res["infinite_loop"] == "ERROR KeyboardInterrupt"
    assert res["after"] == "RESULT still alive"


@needs_sandbox
def test_sandbox_leaves_nothing_running(sandboxed):
    res, run, seconds, _ = sandboxed
    assert res["setsid_child"] == "RESULT started"
    assert not (run / "ipc" / "survivor").exists()
    leftovers = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if b"dlcourse-attack-marker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                leftovers.append(pid)
        except OSError:
            pass
    assert leftovers == []
    assert seconds < 60


def test_plain_kernel_is_the_control(course, tmp_path):
    """The same attacks succeed in a plain kernel: the sandbox, not the test, blocks them."""
    values = dict(SECRET=course["secret"], PORT=course["port"])
    nb = run_cells([attack("read_source", **values), attack("network", **values)], course["work"])
    leaked, connected = results(nb)
    assert leaked.startswith("RESULT leaked HIDDEN-SOLUTION-42")
    assert connected == "RESULT connected hello from the grader's machine"


def test_isolation_off_still_applies_limits(course, tmp_path):
    """Without isolation the rlimits still hold (the fallback where bwrap is unavailable)."""
    setup = sandbox.grading_config(tmp_path, LIMITS, isolation="off", support=SUPPORT)
    assert setup.notice.startswith("sandbox: isolation OFF")
    nb = run_cells(
        [attack("big_file"), "import resource; print('RESULT', resource.getrlimit(resource.RLIMIT_AS)[0])"],
        tmp_path,
        setup,
    )
    big, mem = results(nb)
    assert big.split()[1:3] == ["bounded", str(errno.EFBIG)]
    assert int(mem.split()[1]) == LIMITS.memory


def test_probe_without_bwrap_says_so(monkeypatch):
    import dlcourse.grading.sandbox.limits as limits_module

    monkeypatch.setattr(limits_module.shutil, "which", lambda name: None)
    support = sandbox.probe()
    assert not support.isolated and "bubblewrap is not installed" in support.reason
    line = support.notice(LIMITS)
    assert "UNAVAILABLE" in line and "\n" not in line and "memory 2.0 GiB" in line


def test_kernelspec_and_config(tmp_path):
    setup = sandbox.grading_config(tmp_path, LIMITS, support=SUPPORT)
    spec = json.loads((tmp_path / "jupyter" / "kernels" / setup.kernel_name / "kernel.json").read_text())
    assert "{connection_file}" in spec["argv"] and "--memory=2147483648" in spec["argv"]
    assert setup.config["KernelManager"]["transport"] == "ipc"
    assert os.path.isabs(setup.config["KernelManager"]["ip"])
    assert f"--Execute.kernel_name={setup.kernel_name}" in setup.args


@pytest.mark.parametrize(
    "bad, error",
    [
        ({"memory": "lots"}, ValueError),
        ({"nproc": 0}, ValueError),
        ({"cpu_seconds": 1.5}, TypeError),
        ({"fsize": -1}, ValueError),
    ],
)
def test_limits_reject_bad_values(bad, error):
    with pytest.raises(error, match=next(iter(bad))):
        Limits(**bad)


def test_parse_size():
    assert sandbox.parse_size("4G") == 4 * 2**30
    assert sandbox.parse_size("1.5M") == 1572864
    assert sandbox.parse_size(123) == 123
