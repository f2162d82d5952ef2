"""The review never fails because of how it is scheduled (issue: honest students withheld at random).

CPython 3.11's ``ast`` keeps its recursion bookkeeping per interpreter, so parsing from several
threads at once can raise ``SystemError: AST constructor recursion depth mismatch`` (gh-106905).
``make autograde`` grades students in threads; each review (static scan, trusted re-check, scrub)
therefore runs in a process of its own. The stress test runs many reviews at once, with more
workers than cores, several times over, and asserts that not one of them failed. The other tests
check the policy for a review that fails for the grader's own reasons: retried, and if it never
succeeds, reported as a grader error, never as a withheld score that reads as suspicion.
"""

from __future__ import annotations

import copy
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dlcourse.grading import proc as _grading_proc
from dlcourse.grading.course import Course
from dlcourse.grading.run import StudentResult
from dlcourse.grading.secure import (
    GRADER_ERROR,
    REVIEW_ATTEMPTS,
    SandboxSettings,
    _review,
    read_withheld,
    review_in_process,
    update_withheld,
)

ROOT = Path(__file__).resolve().parents[1]
AID = "ps1_backprop"
SOURCE = ROOT / "assignments" / "source" / AID / f"{AID}.ipynb"


def _failed_everything(source: dict) -> dict:
    """An 'autograded' notebook whose every test cell failed: the review scans and scrubs it
    (``ast`` at work) but starts no re-check kernel, so many reviews fit in a short test."""
    nb = copy.deepcopy(source)
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], 1
            if meta.get("grade") and not meta.get("solution"):
                cell["outputs"] = [
                    {
                        "output_type": "error",
                        "ename": "AssertionError",
                        "evalue": "",
                        "traceback": ["AssertionError"],
                    }
                ]
    return nb


def test_many_concurrent_reviews_never_fail(tmp_path):
    source = json.loads(SOURCE.read_text(encoding="utf-8"))
    workers = 4 * (os.cpu_count() or 1)  # more workers than cores
    reviews = 3 * workers  # several reviews per worker in each repetition
    for rep in range(3):
        args = []
        for i in range(reviews):
            folder = tmp_path / f"r{rep}" / f"s{i}"
            folder.mkdir(parents=True)
            (folder / "auto.ipynb").write_text(json.dumps(_failed_everything(source)))
            args.append((folder, (str(SOURCE), str(SOURCE), str(folder / "auto.ipynb"), {"timeout": 10})))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = list(
                pool.map(
                    lambda a: _grading_proc.run_isolated(review_in_process, a[1], a[0] / "review.json", 120),
                    args,
                )
            )
        errors = [value for status, value in outcomes if status != "ok"]
        assert not errors, f"repetition {rep}: {len(errors)} of {reviews} reviews failed: {errors[:3]}"
        # every review saw the instructor's own notebook: nothing suspicious, nothing withheld
        assert all(not value["flagged"] and value["recheck_score"] == 0 for _, value in outcomes)


def test_isolated_call_reports_errors_crashes_and_timeouts(tmp_path):
    assert _grading_proc.run_isolated(len, ("abc",), tmp_path / "a.json") == ("ok", 3)
    status, message = _grading_proc.run_isolated(int, ("x",), tmp_path / "b.json")
    assert status == "error" and message.startswith("ValueError")
    status, _ = _grading_proc.run_isolated(os._exit, (3,), tmp_path / "c.json")
    assert status == "crashed"
    import time

    assert _grading_proc.run_isolated(time.sleep, (30,), tmp_path / "d.json", timeout=1) == ("timeout", None)


class _Setup:
    kernel_name, config = "python3", {}


def _course(tmp_path) -> tuple[Course, StudentResult]:
    root = tmp_path / "course"
    (root / "source" / AID).mkdir(parents=True)
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    (root / "source" / AID / f"{AID}.ipynb").write_text(SOURCE.read_text())
    auto = root / "autograded" / "alice" / AID
    auto.mkdir(parents=True)
    (auto / f"{AID}.ipynb").write_text(SOURCE.read_text())
    return Course(root), StudentResult("alice", AID, score=11.0, max_score=11.0)


def _fake_review(outcomes):
    calls = []

    def run_isolated(target, args, result_path, timeout=None):
        calls.append(target)
        return outcomes[min(len(calls), len(outcomes)) - 1]

    return run_isolated, calls


def test_review_that_keeps_failing_is_a_grader_error_not_suspicion(tmp_path, monkeypatch):
    course, res = _course(tmp_path)
    fake, calls = _fake_review([("error", "SystemError: AST constructor recursion depth mismatch")])
    monkeypatch.setattr(_grading_proc, "run_isolated", fake)
    _review(course, _Job(), _Setup(), tmp_path, SandboxSettings(), res, 100.0)
    assert len(calls) == REVIEW_ATTEMPTS, "retried before giving up"
    assert res.status == "grader error" and not res.processed
    assert res.withheld.startswith(GRADER_ERROR) and "not evidence against the student" in res.withheld
    update_withheld(course, [res])
    held = read_withheld(course, AID)["alice"]
    assert held.grader_error, "the instructor sees a grader error, not a suspicion"


def test_review_that_fails_once_is_retried_and_releases_the_score(tmp_path, monkeypatch):
    course, res = _course(tmp_path)
    ok = {
        "recheck_score": 11.0,
        "recheck_failed": [],
        "flags": [],
        "flagged": False,
        "mismatches": 0,
        "rules": [],
        "printed_hidden": False,
    }
    fake, calls = _fake_review([("crashed", "no result"), ("ok", ok)])
    monkeypatch.setattr(_grading_proc, "run_isolated", fake)
    _review(course, _Job(), _Setup(), tmp_path, SandboxSettings(), res, 100.0)
    assert len(calls) == 2
    assert res.status == "graded" and res.withheld == "" and res.recheck_score == 11.0
    assert any("retried" in f for f in res.flags)


class _Job:
    assignment, student = AID, "alice"


@pytest.mark.parametrize("status", ["timeout"])
def test_review_past_its_time_is_a_timeout(tmp_path, monkeypatch, status):
    course, res = _course(tmp_path)
    fake, _ = _fake_review([(status, None)])
    monkeypatch.setattr(_grading_proc, "run_isolated", fake)
    _review(course, _Job(), _Setup(), tmp_path, SandboxSettings(), res, 100.0)
    assert res.status == "timeout" and res.processed and not res.withheld.startswith(GRADER_ERROR)
