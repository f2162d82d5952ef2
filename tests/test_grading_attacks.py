"""``make autograde`` against the attack corpus (tests/attacks/corpus.py), graded in ONE run with
honest students.

A temporary course releases ps1 as the corpus knows it (tests/attacks/ps1_backprop.ipynb, a frozen
copy of the two-layer ps1 the attacks name: ``forward``, ``mse_loss``, ``task4_written``, so that
a rewrite of the problem set cannot make an attack pass for want of its names); an honest solved
submission, a blank one, and one
submission per attack are graded together by ``python -m dlcourse.grading autograde`` with two
jobs, small limits and isolation required. Then: honest full marks, blank 0; each attack gets
what the corpus expects (0 or withheld, its honest score with nothing leaked, a recorded time
limit, or a refusal with a report line); nothing outside each student's own copy changed (course
files, the gradebook rows grading does not write, a file any user may write); no process is left;
no hidden-test text and nothing a student's code printed during a hidden test reaches the
autograded notebooks or the feedback; the run finished within its limits. Needs bubblewrap
(skipped without it unless DLCOURSE_REQUIRE_SANDBOX=1).
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import io
import json
import os
import shutil
import socket
import sqlite3
import sys
import threading
import time
from pathlib import Path

import pytest

from dlcourse.grading import main, markers
from dlcourse.grading.sandbox import probe
from dlcourse.grading.sandbox.launch import UID_BASE, UID_COUNT

sys.path.insert(0, str(Path(__file__).parent / "grading_fixtures"))
sys.path.insert(0, str(Path(__file__).parent / "attacks"))
import corpus as C
import submissions as S

ROOT = Path(__file__).resolve().parents[1]
AID = "ps1_backprop"
SUPPORT = probe()
REQUIRE = os.environ.get("DLCOURSE_REQUIRE_SANDBOX") == "1"
CELL, TIMEOUT, NPROC, FSIZE, DISK, FILES = 5, 25, 64, 64 * 2**20, 256 * 2**20, 2000
LIMITS = [
    *("--jobs 2 --isolation require --memory 3G --submission-bytes 20000000".split()),
    *(
        f"--cell-timeout {CELL} --timeout {TIMEOUT} --nproc {NPROC} --file-size 64M --disk 256M --files {FILES}".split()
    ),
]
GRADING_WRITES = {"submitted_assignment", "submitted_notebook", "grade", "comment", "student"}
BY_NAME = {a.name: a for a in C.ATTACKS}


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _gradebook_rows(db: Path) -> dict[str, list]:
    with contextlib.closing(sqlite3.connect(db)) as con:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(map(repr, con.execute(f'SELECT * FROM "{t}"'))) for t in tables}


def _leftovers() -> list[str]:
    """Students' processes (forked from the warm interpreter, so they carry its command line) of
    a sandbox user id, and processes carrying the attacks' marker (other graders on a shared
    machine may use the same user ids for their own kernels: those are not ours)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            uid = os.stat(f"/proc/{pid}").st_uid
        except OSError:
            continue
        if UID_BASE <= uid < UID_BASE + UID_COUNT or (
            b"dlcourse-attack-marker" in cmd and int(pid) != os.getpid()
        ):
            found.append(f"{pid} uid {uid}: {cmd[:80]!r}")
    return found


def _build(attack: C.Attack, rel: dict, src: dict, values: dict) -> dict:
    nb = S.solved(rel, src) if attack.base == "solved" else json.loads(json.dumps(rel))
    cells = [c for c in attack.cells()]
    for key, value in values.items():
        cells = [c.replace(f"__{key}__", str(value)) for c in cells]
    if attack.code:
        nb = S.replace_answer(nb, "task1", cells[0])
        at = next(i for i, c in enumerate(nb["cells"]) if S.gid(c) == "task1_forward") + 1
        for k, code in enumerate(cells[1:]):
            cell = {
                "cell_type": "code",
                "id": f"added{k}",
                "metadata": {},
                "source": code,
                "outputs": [],
                "execution_count": None,
            }
            nb["cells"].insert(at + k, cell)
    if attack.attachment:
        written = next(c for c in nb["cells"] if S.gid(c) == "task4_written")
        written["source"] = "My photo: ![derivation](attachment:photo.png)"
        written["attachments"] = {
            "photo.png": {"image/png": base64.b64encode(os.urandom(attack.attachment * 3 // 4)).decode()}
        }
    return nb


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    if not SUPPORT.isolated and REQUIRE:
        pytest.fail(f"DLCOURSE_REQUIRE_SANDBOX=1 but {SUPPORT.notice()}")
    if not SUPPORT.isolated:
        pytest.skip(f"no isolation here: {SUPPORT.reason}")
    tmp = tmp_path_factory.mktemp("attacks")
    course = tmp / "assignments"
    course.mkdir()
    shutil.copy2(ROOT / "assignments" / "nbgrader_config.py", course)
    (course / "source" / AID).mkdir(parents=True)  # the ps1 the corpus is written against, frozen
    shutil.copy2(Path(__file__).parent / "attacks" / f"{AID}.ipynb", course / "source" / AID)
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
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    outside = tmp / "outside"  # writable by anyone: only the sandbox keeps a student out
    outside.mkdir()
    os.chmod(outside, 0o777)
    values = dict(
        SECRET=course / "source" / AID / f"{AID}.ipynb",
        GRADEBOOK=course / "gradebook.db",
        PORT=server.getsockname()[1],
        MARKER_DIR=outside,
        MARKER="dlcourse-attack-marker",
        CELL=CELL,
    )
    rel = S.load(course / "release" / AID / f"{AID}.ipynb")
    src = S.load(course / "source" / AID / f"{AID}.ipynb")
    subs = {"honest": S.solved(rel, src), "blank": rel}
    subs.update({a.name: _build(a, rel, src, values) for a in C.ATTACKS})
    for sid, nb in subs.items():
        S.write_submission(course, sid, AID, nb)
    before = {name: _digest(course / name) for name in ("source", "release", "submitted")}
    rows_before = _gradebook_rows(course / "gradebook.db")
    printed = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(printed):
        rc = main(["--course", str(course), "autograde", "-a", "ps1", *LIMITS])
    wall = time.perf_counter() - start
    left_at_end = _leftovers()
    time.sleep(4)  # the setsid child would write its file 3 s after it started
    with contextlib.redirect_stdout(printed):
        rc_feedback = main(["--course", str(course), "feedback", "-a", "ps1", "--allow-pending"])
        rc_grades = main(["--course", str(course), "grades"])
    server.close()
    with open(course / "reports" / AID / "latest.csv", newline="") as f:
        report = {r["student"]: r for r in csv.DictReader(f)}
    print(f"\nthe attack run: {len(subs)} submissions in {wall:.0f} s")
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
    )


def _outputs(course: Path, sid: str) -> str:
    path = course / "autograded" / sid / AID / f"{AID}.ipynb"
    return json.dumps([c.get("outputs", []) for c in S.load(path)["cells"]]) if path.exists() else ""


def _result_line(course: Path, sid: str) -> str:
    for cell in S.load(course / "autograded" / sid / AID / f"{AID}.ipynb")["cells"]:
        for out in cell.get("outputs", []):
            for line in markers.cell_source({"source": out.get("text", "")}).splitlines():
                if line.startswith("RESULT"):
                    return line
    return ""


@pytest.mark.slow
def test_run_isolates_and_processes_everyone_within_its_limits(attacked):
    assert attacked["rc"] == 0, attacked["printed"][-3000:]
    first = attacked["printed"].splitlines()[0]
    assert first.startswith("sandbox: isolation ON"), first
    assert "IOPub" not in attacked["printed"], "no alarming noise (issue 15)"
    assert "unprivileged user" in first or os.geteuid() != 0, "as root, students run as another user"
    report = attacked["report"]
    assert set(report) == set(attacked["subs"])
    for sid, row in report.items():
        assert float(row["seconds"]) < TIMEOUT + 40, (sid, row["seconds"])  # the limit, plus booking
        assert row["status"] in ("graded", "timeout", "not graded"), (sid, row)
    assert attacked["wall"] < 600, f"the whole run took {attacked['wall']:.0f} s"


@pytest.mark.slow
def test_honest_full_marks_blank_zero(attacked):
    report, full = attacked["report"], sum(S.test_points(attacked["src"]).values())
    assert float(report["honest"]["score"]) == full and report["honest"]["withheld"] == ""
    assert float(report["blank"]["score"]) == 0 and report["blank"]["withheld"] == ""


@pytest.mark.slow
@pytest.mark.parametrize("name", [a.name for a in C.ATTACKS])
def test_each_attack_gets_what_the_corpus_expects(attacked, name):
    attack, row = BY_NAME[name], attacked["report"][name]
    full = sum(S.test_points(attacked["src"]).values())
    score, held = float(row["score"]), row["withheld"].startswith("withheld: ")
    if attack.expect == "zero":
        assert score == 0 or held, row
    elif attack.expect == "full":
        assert score == full and not held, row
    elif attack.expect == "less":
        assert score < full, row
    elif attack.expect == "withheld":
        assert held and "in-process checks" in row["withheld"], row
    elif attack.expect == "timeout":
        assert row["status"] == "timeout" and "limit per student" in row["flags"] and score == 0, row
    elif attack.expect == "not graded":
        assert row["status"] == "not graded" and "limit" in row["flags"], row


@pytest.mark.slow
def test_time_limits_stop_the_code_not_the_run(attacked):
    report = attacked["report"]
    assert report["loop_in_a_cell"]["timeouts"] and report["sleeps_in_c"]["timeouts"]
    assert "task1_visible" in report["loop_when_tested"]["timeouts"]
    assert "did not stop" in report["interrupts_ignored"]["flags"], "ignored interrupts: killed"


@pytest.mark.slow
def test_the_sandbox_held_inside_every_students_process(attacked):
    course = attacked["course"]
    for sid in ("read_source", "write_outside", "course_package"):
        assert _result_line(course, sid).startswith("RESULT blocked"), (sid, _result_line(course, sid))
    assert _result_line(course, "network").startswith("RESULT blocked OSError 101"), _result_line(
        course, "network"
    )
    assert attacked["reached"] == [], "the grader's listener was never reached"
    assert _result_line(course, "memory_bomb").startswith("RESULT bounded")
    _, word, children, _, _ = _result_line(course, "fork_bomb").split()
    assert word == "bounded" and int(children) < NPROC
    _, word, _, size = _result_line(course, "big_file").split()
    assert word == "bounded" and int(size) <= FSIZE
    _, word, _, made = _result_line(course, "tmp_files").split()
    assert word == "bounded" and int(made) < FILES
    _, word, _, mib = _result_line(course, "disk_fill").split()
    assert word == "bounded" and int(mib) <= DISK // 2**20


@pytest.mark.slow
def test_outputs_and_attachments_are_capped(attacked):
    course, report = attacked["course"], attacked["report"]
    assert (course / "autograded" / "many_images" / AID / f"{AID}.ipynb").stat().st_size < 6 * 2**20
    assert (course / "autograded" / "big_attachment" / AID / f"{AID}.ipynb").stat().st_size < 2**20
    assert "attachments of task4_written removed" in report["big_attachment"]["repairs"]
    assert "over the 19 MiB limit" in report["huge_attachment"]["flags"]


@pytest.mark.slow
def test_nothing_left_running_or_written_outside(attacked):
    assert attacked["left_at_end"] == [] and attacked["left_later"] == []
    assert list(attacked["outside"].iterdir()) == [], "the setsid child never wrote its file"


@pytest.mark.slow
def test_course_files_and_other_students_unchanged(attacked):
    course = attacked["course"]
    for name, digest in attacked["before"].items():
        assert _digest(course / name) == digest, f"{name}/ changed"
    before, after = attacked["rows_before"], _gradebook_rows(course / "gradebook.db")
    for table in set(before) - GRADING_WRITES:
        assert after[table] == before[table], f"gradebook table {table} changed"
    assert set(before["student"]) <= set(after["student"]), "the bystander's row is unchanged"
    with contextlib.closing(sqlite3.connect(course / "gradebook.db")) as con:
        manual = con.execute("SELECT count(*) FROM grade WHERE manual_score IS NOT NULL").fetchone()[0]
    assert manual == 0, "no manual scores were written by a student"


@pytest.mark.slow
def test_no_hidden_test_and_nothing_printed_during_one_reaches_anyone(attacked):
    course, src = attacked["course"], attacked["src"]
    assert attacked["rc_feedback"] == 0
    hidden = markers.hidden_lines(src)
    hidden_cells = [
        markers.cell_source(c) for c in src["cells"] if markers.has_hidden(markers.cell_source(c))
    ]
    encoded = [base64.b64encode(c.encode()).decode()[:40] for c in hidden_cells]
    pages = list((course / "feedback").glob(f"*/{AID}/*.html"))
    assert {p.parts[-3] for p in pages} >= {"honest", "blank", "leak_inputs"}
    for sid in attacked["subs"]:
        texts = [_outputs(course, sid)] + [p.read_text() for p in pages if p.parts[-3] == sid]
        for text in texts:
            assert "LEAK:" not in text, sid
            assert not [h for h in hidden if json.dumps(h)[1:-1] in text or h in text], sid
            assert not [e for e in encoded if e in text], sid


@pytest.mark.slow
def test_withheld_scores_are_marked_in_the_grades(attacked):
    assert attacked["rc_grades"] == 0
    with open(attacked["course"] / "reports" / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert rows["honest_but_traces"][f"{AID}:total"] == "withheld" and rows["honest_but_traces"]["withheld"]
    assert rows["honest"]["withheld"] == ""
