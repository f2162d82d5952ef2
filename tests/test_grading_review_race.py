"""The grader's own robustness: no race, grader errors retried and never read as suspicion, and an
interrupted run keeps what it finished.

CPython 3.11's ``ast`` keeps its recursion bookkeeping per interpreter, so parsing from several
threads at once can raise ``SystemError: AST constructor recursion depth mismatch`` (gh-106905;
issue 12: honest students withheld at random). ``make autograde`` grades students in threads;
everything that parses code (the scan, the harness) runs in processes of its own. The first test
grades with more workers than cores and fails if ANY ``ast.parse`` runs in a worker thread.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dlcourse.grading import main
from dlcourse.grading.course import Course
from dlcourse.grading.run import ATTEMPTS, GRADER_ERROR
from dlcourse.grading.sandbox import Sandbox, SandboxError
from dlcourse.grading.settings import read_settings
from dlcourse.grading.withheld import read_withheld
from dlcourse.grading.workflow import autograde

sys.path.insert(0, str(Path(__file__).parent / "grading_fixtures"))
import submissions as S

ROOT = Path(__file__).resolve().parents[1]
AID = "ps1_backprop"


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("robust")
    course = tmp / "assignments"
    course.mkdir()
    shutil.copy2(ROOT / "assignments" / "nbgrader_config.py", course)
    (course / "source" / AID).mkdir(parents=True)  # the frozen ps1 the tests name cells of
    shutil.copy2(Path(__file__).parent / "attacks" / f"{AID}.ipynb", course / "source" / AID)
    assert main(["--course", str(course), "release", "--downloads", str(tmp / "dl"), "-q"]) == 0
    return course


def _submit(course: Path, students: dict[str, dict]) -> None:
    shutil.rmtree(course / "submitted", ignore_errors=True)
    for sid, nb in students.items():
        S.write_submission(course, sid, AID, nb)


def _nbs(course: Path):
    return S.load(course / "release" / AID / f"{AID}.ipynb"), S.load(course / "source" / AID / f"{AID}.ipynb")


@pytest.mark.slow
def test_no_ast_in_worker_threads_and_everyone_graded(course, monkeypatch):
    rel, src = _nbs(course)
    _submit(course, {f"s{i}": S.solved(rel, src) for i in range(6)})
    in_threads, parse = [], ast.parse

    def watched(*args, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            in_threads.append(threading.current_thread().name)
        return parse(*args, **kwargs)

    monkeypatch.setattr(ast, "parse", watched)
    settings = read_settings(course, jobs=4 * (os.cpu_count() or 1))
    results = autograde(Course(course), AID, settings)
    assert in_threads == [], "ast ran in a worker thread (issue 12's race)"
    assert [r.status for r in results] == ["graded"] * 6 and all(r.score == r.max_score for r in results)


class _FlakySandbox(Sandbox):
    failures: dict[str, int] = {}

    def spawn(self, files, workdir):
        who = threading.current_thread().name
        left = self.failures.get(who, self.failures.get("*", 0))
        if left:
            self.failures[who if who in self.failures else "*"] = left - 1
            raise SandboxError("the sandbox's interpreter did not start (simulated)")
        return super().spawn(files, workdir)


@pytest.mark.slow
def test_a_grader_failure_is_retried_then_reported_as_a_grader_error(course, monkeypatch):
    rel, src = _nbs(course)
    _submit(course, {"alice": S.solved(rel, src)})
    monkeypatch.setattr("dlcourse.grading.sandbox.Sandbox", _FlakySandbox)
    settings = read_settings(course, jobs=1)
    _FlakySandbox.failures = {"*": ATTEMPTS - 1}
    (res,) = autograde(Course(course), AID, settings)
    assert res.status == "graded" and res.score == res.max_score and not res.withheld, "retried, then graded"
    _FlakySandbox.failures = {"*": ATTEMPTS}
    (res,) = autograde(Course(course), AID, settings)
    assert res.status == GRADER_ERROR and not res.processed
    assert res.withheld.startswith(GRADER_ERROR) and "not evidence against the student" in res.withheld
    held = read_withheld(Course(course), AID)["alice"]
    assert held.grader_error, "the instructor sees a grader error, not a suspicion"
    assert main(["--course", str(course), "autograde", "-a", AID]) == 0, "graded again: the row is gone"
    assert read_withheld(Course(course), AID) == {}


@pytest.mark.slow
def test_an_interrupted_run_keeps_the_results_and_withholdings_it_finished(course):
    rel, src = _nbs(course)
    tamper = S.replace_answer(
        S.solved(rel, src),
        "task1",
        "import sys\nsys.settrace(None)\n" + S.solution_text(src)["task1_forward"],
    )
    _submit(
        course,
        {"a_tamper": tamper, "b_slow": S.replace_answer(rel, "task1", "import time\ntime.sleep(120)\n")},
    )
    for name in ("withheld.csv", "latest.csv"):
        (course / "reports" / AID / name).unlink(missing_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "dlcourse.grading",
        "--course",
        str(course),
        "autograde",
        "-a",
        AID,
        "--jobs",
        "1",
    ]
    proc = subprocess.Popen(
        [*cmd, "--cell-timeout", "300"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 300
        while "a_tamper" not in read_withheld(Course(course), AID):
            assert proc.poll() is None and time.time() < deadline, "a_tamper was never withheld"
            time.sleep(0.5)
        time.sleep(2)  # b_slow is now sleeping in its cell
        assert proc.poll() is None, "the run is still going"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    held = read_withheld(Course(course), AID)
    assert set(held) == {"a_tamper"} and "in-process checks" in held["a_tamper"].reason
    with open(course / "reports" / AID / "latest.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert rows["a_tamper"]["withheld"].startswith("withheld:")
    assert main(["--course", str(course), "grades"]) == 0
    with open(course / "reports" / "grades.csv", newline="") as f:
        grades = {r["student_id"]: r for r in csv.DictReader(f)}
    assert grades["a_tamper"][f"{AID}:total"] == "withheld", (
        "an interrupted run never counts a withheld score"
    )
    json.dumps(rows)  # the report is complete CSV, not a half-written file
