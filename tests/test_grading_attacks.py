"""``make autograde`` against hostile submissions: every attack graded in ONE run.

A temporary copy of the course releases ps1; an honest solved submission, a blank one and one
submission per attack (tests/attacks/ and a few written here) are graded together by
``python -m dlcourse.grading autograde --jobs 2`` with small limits. Then, per attack: the score
is no higher than the blank's, or the submission is flagged and its score withheld; the attack's
own ``RESULT`` line (printed by the student's kernel) shows it was blocked; the course files and
the gradebook rows grading does not write are byte-for-byte unchanged; no process is left; no
hidden-test text reaches the autograded outputs or the feedback. Isolation attacks need
bubblewrap: skipped without it unless DLCOURSE_REQUIRE_SANDBOX=1.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import html
import io
import json
import os
import socket
import sqlite3
import sys
import threading
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from dlcourse.grading import autograde, cheats, main, sandbox
from dlcourse.grading.course import Course
from dlcourse.grading.preprocessors import hidden_test_lines
from dlcourse.grading.sandbox import Limits, SandboxSupport
from dlcourse.grading.sandbox.launch import UID_BASE, UID_COUNT
from dlcourse.grading.secure import SandboxSettings, read_settings

sys.path.insert(0, str(Path(__file__).parent / "grading_fixtures"))
import submissions as S

ROOT = Path(__file__).resolve().parents[1]
ATTACKS = Path(__file__).parent / "attacks"
AID = "ps1_backprop"
SUPPORT = sandbox.probe()
REQUIRE = os.environ.get("DLCOURSE_REQUIRE_SANDBOX") == "1"
MEMORY, NPROC, FSIZE, CELL_TIMEOUT, TIMEOUT = 1.5 * 2**30, 64, 64 * 2**20, 10, 120
MARKER = "dlcourse-attack-marker"

READ_GRADEBOOK = """
try:
    print("RESULT leaked", open("__GRADEBOOK__", "rb").read(16))
except OSError as err:
    print("RESULT blocked", type(err).__name__)
"""
WRITE_GRADEBOOK = """
import sqlite3
try:
    con = sqlite3.connect("file:__GRADEBOOK__?mode=rw", uri=True, timeout=1)
    con.execute("UPDATE grade SET manual_score = 100")
    con.execute("UPDATE student SET first_name = 'pwned'")
    con.commit()
    print("RESULT written")
except Exception as err:
    print("RESULT blocked", type(err).__name__)
"""
SETSID = """
import subprocess, sys
code = ("import sys, time; time.sleep(4); open(sys.argv[1] + '/survivor', 'w').write('alive'); "
        "time.sleep(60)")
subprocess.Popen([sys.executable, "-c", code, "__MARKER_DIR__", "__MARKER__"], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("RESULT started")
"""
STUBS = (
    "def forward(X, W1, b1, W2, b2):\n    raise NotImplementedError()\n\n\n"
    "def mse_loss(Y_hat, Y):\n    raise NotImplementedError()\n"
)
SHAPED = (
    "import torch\n\n\ndef forward(X, W1, b1, W2, b2):\n    Z1 = torch.zeros(X.shape[0], W1.shape[1])\n"
    "    return Z1, Z1, torch.zeros(X.shape[0], W2.shape[1])\n\n\n"
    "def mse_loss(Y_hat, Y):\n    return torch.zeros(())\n"
)
# each cheat replaces the first answer cell (task 1); the other answers stay blank
CHEATS = {
    "input_transformer": "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n"
    + STUBS,
    "ast_transformer": (
        "import ast\n\n\nclass Nothing(ast.NodeTransformer):\n"
        "    def visit_Module(self, node):\n        return ast.Module(body=[ast.Pass()], type_ignores=[])\n\n\n"
        "get_ipython().ast_transformers.append(Nothing())\n" + STUBS
    ),
    "exception_handler": "get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)\n"
    + STUBS,
    "exit_hooks": (
        "import atexit, sys\natexit.register(lambda: print('all tests passed'))\n"
        "sys.settrace(lambda frame, event, arg: None)\n" + STUBS
    ),
    "builtins": (
        "import builtins\nbuiltins.all = lambda *args: True\nbuiltins.AssertionError = Warning\n" + SHAPED
    ),
    "testing_patch": (
        "import numpy as np\nimport torch\nnp.testing.assert_allclose = lambda *a, **k: None\n"
        "torch.testing.assert_close = lambda *a, **k: None\ntorch.allclose = lambda *a, **k: True\n" + SHAPED
    ),
    "always_equal": (
        "class Anything:\n    def __eq__(self, other):\n        return True\n\n"
        "    shape = property(lambda self: self)\n\n\n"
        "def forward(X, W1, b1, W2, b2):\n    return Anything(), Anything(), Anything()\n\n\n"
        "def mse_loss(Y_hat, Y):\n    return Anything()\n"
    ),
    "grader_detect": (
        "import getpass, os\n"
        "if os.environ.get('NBGRADER_EXECUTION') or 'autograded' in os.getcwd() "
        "or getpass.getuser() != 'alice':\n"
        "    get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n" + STUBS
    ),
    "print_hidden": (
        (ATTACKS / "cheat_print_hidden.py").read_text().split("\n\n\ndef square")[0] + "\n" + STUBS
    ),
}


def _attack(name: str, **values) -> str:
    text = name if "\n" in name else (ATTACKS / f"{name}.py").read_text()
    for key, value in values.items():
        text = text.replace(f"__{key}__", str(value))
    return text


def _with_cell(nb: dict, code: str, after: str = "setup") -> dict:
    nb = json.loads(json.dumps(nb))
    at = next(i for i, c in enumerate(nb["cells"]) if S.gid(c) == after) + 1
    nb["cells"].insert(
        at,
        {
            "cell_type": "code",
            "id": uuid.uuid4().hex[:8],
            "metadata": {},
            "source": code,
            "outputs": [],
            "execution_count": None,
        },
    )
    return nb


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


GRADING_WRITES = {"submitted_assignment", "submitted_notebook", "grade", "comment", "student"}


def _gradebook_rows(db: Path) -> dict[str, list]:
    with contextlib.closing(sqlite3.connect(db)) as con:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(map(repr, con.execute(f'SELECT * FROM "{t}"'))) for t in tables}


def _processes() -> list[tuple[int, int, int, str]]:
    """(pid, ppid, uid, cmdline) of every process, from /proc."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            out.append((int(pid), ppid, os.stat(f"/proc/{pid}").st_uid, cmd))
        except (OSError, IndexError, ValueError):
            pass
    return out


def _leftovers() -> list[str]:
    """Descendants of this process (the multiprocessing fork server excepted), processes of a
    sandbox user id, and the attack's marked process."""
    procs = _processes()
    children: dict[int, list] = {}
    for p in procs:
        children.setdefault(p[1], []).append(p)
    found, todo = [], [os.getpid()]
    while todo:
        for p in children.get(todo.pop(), []):
            todo.append(p[0])
            if "multiprocessing.forkserver" not in p[3] and "multiprocessing.resource_tracker" not in p[3]:
                found.append(f"descendant {p[0]}: {p[3][:80]}")
    found += [
        f"sandbox uid {p[2]} pid {p[0]}: {p[3][:80]}"
        for p in procs
        if UID_BASE <= p[2] < UID_BASE + UID_COUNT
    ]
    found += [f"marker pid {p[0]}" for p in procs if MARKER in p[3] and p[0] != os.getpid()]
    return found


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    if not SUPPORT.isolated and REQUIRE:
        pytest.fail(f"DLCOURSE_REQUIRE_SANDBOX=1 but {SUPPORT.notice()}")
    if not SUPPORT.isolated:
        pytest.skip(f"no isolation here: {SUPPORT.reason}")
    tmp = tmp_path_factory.mktemp("attacks")
    course = tmp / "assignments"
    course.mkdir()
    (course / "nbgrader_config.py").write_bytes((ROOT / "assignments" / "nbgrader_config.py").read_bytes())
    import shutil

    shutil.copytree(ROOT / "assignments" / "source", course / "source")
    assert main(["--course", str(course), "release", "-a", "ps1", "--downloads", str(tmp / "dl"), "-q"]) == 0
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(course / "gradebook.db")) as gb:  # a student of earlier years
        gb.update_or_create_student(
            "bystander", first_name="Ada", last_name="Lovelace", email="ada@example.org"
        )

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    reached = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            reached.append(1)
            conn.sendall(b"hello from the grader's machine")
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    outside = tmp / "outside"  # writable by anyone: only the sandbox keeps the setsid child out
    outside.mkdir()
    os.chmod(outside, 0o777)
    values = dict(
        SECRET=course / "source" / AID / f"{AID}.ipynb",
        GRADEBOOK=course / "gradebook.db",
        PORT=server.getsockname()[1],
        MARKER_DIR=outside,
        MARKER=MARKER,
    )
    rel = S.load(course / "release" / AID / f"{AID}.ipynb")
    src = S.load(course / "source" / AID / f"{AID}.ipynb")
    subs = {"honest": S.solved(rel, src), "blank": rel}
    isolation = {
        "read_source": "read_source",
        "read_gradebook": READ_GRADEBOOK,
        "write_gradebook": WRITE_GRADEBOOK,
        "network": "network",
        "setsid": SETSID,
        "memory": "memory_bomb",
        "fork_bomb": "fork_bomb",
        "big_file": "big_file",
    }
    for sid, code in isolation.items():
        subs[sid] = _with_cell(rel, _attack(code, **values))
    for sid, code in CHEATS.items():
        subs[f"cheat_{sid}"] = S.replace_answer(rel, "task1", code)
    for sid, nb in subs.items():
        S.write_submission(course, sid, AID, nb)

    before = {name: _digest(course / name) for name in ("source", "release", "submitted")}
    rows_before = _gradebook_rows(course / "gradebook.db")
    printed = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(printed):
        rc = main(
            [
                "--course",
                str(course),
                "autograde",
                "-a",
                "ps1",
                "--jobs",
                "2",
                "--cell-timeout",
                str(CELL_TIMEOUT),
                "--timeout",
                str(TIMEOUT),
                "--memory",
                "1.5G",
                "--nproc",
                str(NPROC),
                "--file-size",
                "64M",
                "--isolation",
                "require",
            ]
        )
    wall = time.perf_counter() - start
    left_at_end = _leftovers()
    time.sleep(5)  # the setsid child would write its file 4 s after it started
    with contextlib.redirect_stdout(printed):
        rc_feedback = main(["--course", str(course), "feedback", "-a", "ps1"])
        rc_grades = main(["--course", str(course), "grades"])
    server.close()
    with open(course / "reports" / AID / "latest.csv", newline="") as f:
        report = {r["student"]: r for r in csv.DictReader(f)}
    return dict(
        course=course,
        rc=rc,
        rc_feedback=rc_feedback,
        rc_grades=rc_grades,
        wall=wall,
        printed=printed.getvalue(),
        report=report,
        before=before,
        rows_before=rows_before,
        left_at_end=left_at_end,
        left_later=_leftovers(),
        reached=reached,
        outside=outside,
        src=src,
        subs=subs,
        isolation=list(isolation),
    )


def _result_line(course: Path, sid: str) -> str:
    nb = S.load(course / "autograded" / sid / AID / f"{AID}.ipynb")
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            for line in text.splitlines():
                if line.startswith("RESULT"):
                    return line
    return ""


@pytest.mark.slow
def test_run_prints_isolation_and_processes_everyone_within_limits(attacked):
    assert attacked["rc"] == 0, attacked["printed"][-3000:]
    first = attacked["printed"].splitlines()[0]
    assert first.startswith("sandbox: isolation ON"), first
    assert "unprivileged user" in first or os.geteuid() != 0, "as root, kernels run as another user"
    report = attacked["report"]
    assert set(report) == set(attacked["subs"])
    assert all(r["status"] == "graded" for r in report.values()), report
    assert all(float(r["seconds"]) < TIMEOUT for r in report.values())
    assert attacked["wall"] < 300, f"the whole run took {attacked['wall']:.0f} s"


@pytest.mark.slow
def test_honest_full_marks_blank_zero(attacked):
    report, full = attacked["report"], sum(S.test_points(attacked["src"]).values())
    assert float(report["honest"]["score"]) == full and report["honest"]["withheld"] == ""
    assert float(report["honest"]["recheck_score"]) == full
    assert float(report["blank"]["score"]) == 0 and report["blank"]["withheld"] == ""


@pytest.mark.slow
@pytest.mark.parametrize(
    "sid",
    [
        "read_source",
        "read_gradebook",
        "write_gradebook",
        "network",
        "setsid",
        "memory",
        "fork_bomb",
        "big_file",
    ]
    + [f"cheat_{c}" for c in CHEATS],
)
def test_attack_scores_no_more_than_blank_or_is_withheld(attacked, sid):
    row = attacked["report"][sid]
    assert float(row["score"]) <= float(attacked["report"]["blank"]["score"]) or row["withheld"].startswith(
        "withheld: "
    ), row
    if sid.startswith("cheat_"):  # every cheat is caught by the scan, the re-check or the scrub
        assert row["withheld"].startswith("withheld: "), row
        assert float(row["recheck_score"]) == 0, row


@pytest.mark.slow
def test_isolation_attacks_were_blocked_inside_the_kernel(attacked):
    course = attacked["course"]
    res = {sid: _result_line(course, sid) for sid in attacked["isolation"]}
    for sid in ("read_source", "read_gradebook", "write_gradebook"):
        assert res[sid].startswith("RESULT blocked"), (sid, res[sid])
    # no network: the grader's listener on 127.0.0.1 is unreachable for lack of any network (as
    # root: no interface up), never because the port refused; the kernel has no other interface
    if SUPPORT.separate_user:
        assert res["network"].startswith(f"RESULT blocked OSError {errno.ENETUNREACH} "), res["network"]
    else:  # bwrap's private loopback, where nothing listens
        assert res["network"].startswith(f"RESULT blocked ConnectionRefusedError {errno.ECONNREFUSED} ")
    assert "'lo'" in res["network"] and "eth" not in res["network"]
    assert attacked["reached"] == [], "the listener was never reached"
    assert res["setsid"] == "RESULT started"
    _, word, mib = res["memory"].split()[:3]
    assert word == "bounded" and int(mib) <= MEMORY / 2**20
    _, word, children, code = res["fork_bomb"].split()[:4]
    assert word == "bounded" and int(children) < NPROC and int(code) == errno.EAGAIN
    _, word, code, size = res["big_file"].split()
    assert word == "bounded" and int(code) == errno.EFBIG and int(size) <= FSIZE


@pytest.mark.slow
def test_nothing_left_running_or_written_outside(attacked):
    assert attacked["left_at_end"] == [] and attacked["left_later"] == []
    assert list(attacked["outside"].iterdir()) == [], "the setsid child never wrote its file"


@pytest.mark.slow
def test_course_files_and_gradebook_unchanged_but_for_grades(attacked):
    course = attacked["course"]
    for name, digest in attacked["before"].items():
        assert _digest(course / name) == digest, f"{name}/ changed"
    before, after = attacked["rows_before"], _gradebook_rows(course / "gradebook.db")
    for table in set(before) - GRADING_WRITES:
        assert after[table] == before[table], f"gradebook table {table} changed"
    assert set(before["student"]) <= set(after["student"]), "the bystander's row is unchanged"
    assert not any("pwned" in r for r in after["student"])
    with contextlib.closing(sqlite3.connect(course / "gradebook.db")) as con:
        manual = con.execute("SELECT count(*) FROM grade WHERE manual_score IS NOT NULL").fetchone()[0]
    assert manual == 0, "no manual scores were written by a student"


@pytest.mark.slow
def test_no_hidden_test_text_reaches_the_student(attacked):
    course, src = attacked["course"], attacked["src"]
    assert attacked["rc_feedback"] == 0
    long_lines = cheats.hidden_lines(nbformat.from_dict(src))
    assert long_lines
    for sid in attacked["subs"]:
        nb = S.load(course / "autograded" / sid / AID / f"{AID}.ipynb")
        outputs = json.dumps([c.get("outputs", []) for c in nb["cells"]])
        assert not [h for h in long_lines if json.dumps(h)[1:-1] in outputs], sid
    assert "printed hidden-test text" in attacked["report"]["cheat_print_hidden"]["withheld"]
    hidden = [ln for c in src["cells"] for ln in hidden_test_lines("".join(c["source"]), 12)]
    pages = list((course / "feedback").glob(f"*/{AID}/*.html"))
    held = {sid for sid, r in attacked["report"].items() if r["withheld"]}
    assert {p.parts[-3] for p in pages} == set(attacked["subs"]) - held, "no feedback for withheld scores"
    for page in pages:
        text = html.unescape(page.read_text(encoding="utf-8"))
        assert not [h for h in hidden if h in text], page


@pytest.mark.slow
def test_grades_mark_withheld_and_release_uses_recheck(attacked, capsys):
    course = attacked["course"]
    assert attacked["rc_grades"] == 0
    with open(course / "reports" / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert rows["cheat_input_transformer"][f"{AID}:total"] == "withheld"
    assert (
        float(rows["cheat_input_transformer"]["total"]) == 0 and rows["cheat_input_transformer"]["withheld"]
    )
    assert rows["honest"]["withheld"] == ""
    assert (
        main(
            [
                "--course",
                str(course),
                "withheld",
                "-a",
                "ps1",
                "--release",
                "cheat_input_transformer",
                "--use-recheck",
            ]
        )
        == 0
    )
    assert main(["--course", str(course), "grades"]) == 0
    with open(course / "reports" / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert float(rows["cheat_input_transformer"][f"{AID}:total"]) == 0.0, "released with the re-check's 0"
    assert "released cheat_input_transformer" in capsys.readouterr().out


# ---------------------------------------------------------------- settings, without grading


def _course_with(tmp_path: Path, extra: str) -> Course:
    (tmp_path / "nbgrader_config.py").write_text(
        (ROOT / "assignments" / "nbgrader_config.py").read_text() + extra
    )
    return Course(tmp_path)


def test_settings_come_from_the_config_then_the_command_line(tmp_path):
    course = _course_with(
        tmp_path,
        "c.DlcourseSandbox.memory = '2G'\nc.DlcourseSandbox.nproc = 32\n"
        "c.Execute.timeout = 7\nc.DlcourseSandbox.isolation = 'require'\n",
    )
    s = read_settings(course)
    assert (s.limits.memory, s.limits.nproc, s.cell_timeout, s.isolation) == (2 * 2**30, 32, 7, "require")
    assert s.limits.fsize == 256 * 2**20 and s.timeout == 300.0, "the repository's defaults otherwise"
    s = read_settings(course, memory="3G", cell_timeout=5, isolation="off", file_size="1M", nproc=None)
    assert (s.limits.memory, s.cell_timeout, s.isolation, s.limits.fsize, s.limits.nproc) == (
        3 * 2**30,
        5,
        "off",
        2**20,
        32,
    )


def test_repository_defaults_are_the_sandbox_defaults():
    s = read_settings(Course(ROOT / "assignments"))
    assert s.limits == Limits() and s.isolation == "auto" and s.review and s.cell_timeout == 30


@pytest.mark.parametrize(
    "extra, overrides, error, words",
    [
        ("c.DlcourseSandbox.memroy = '2G'\n", {}, ValueError, "memroy"),
        ("", {"isolation": "sometimes"}, ValueError, "isolation"),
        ("", {"memory": "lots"}, ValueError, "memory"),
        ("", {"timeout": -1.0}, ValueError, "timeout"),
        ("", {"cpu": 5}, TypeError, "cpu"),
    ],
)
def test_bad_settings_are_named(tmp_path, extra, overrides, error, words):
    with pytest.raises(error, match=words):
        read_settings(_course_with(tmp_path, extra), **overrides)


def test_isolation_required_but_unavailable_stops_before_grading(tmp_path, capsys):
    course = _course_with(tmp_path, "")
    missing = SandboxSupport("linux", None, None, False, False, "bubblewrap is not installed")
    with pytest.raises(RuntimeError, match="isolation required"):
        autograde(course, settings=SandboxSettings(isolation="require"), support=missing)
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("sandbox: isolation UNAVAILABLE (bubblewrap is not installed)")
    assert not (tmp_path / "backups").exists(), "nothing was touched"
