"""Grading one student: stage, execute once under the trusted harness, book the result with nbgrader.

Part of :mod:`dlcourse.grading`. Per student (:func:`grade_student`, called from a worker thread):

1. :func:`stage` pre-checks ``submitted/<student>/<assignment>`` and writes the repaired, cleaned
   copy to ``staged/`` (``submitted/`` is only ever read);
2. a process for the student is forked from the run's warm sandbox (:mod:`.sandbox`), and the
   trusted harness (:mod:`.harness`) runs in a process of its own, forked from the grader's
   preloaded fork server (:mod:`.proc`): the notebook is executed once, every test decided there;
3. nbgrader's autograde books the result (submission, grades, late penalty, the autograded
   notebook): its ``Execute`` step is replaced by :class:`~.preprocessors.FillTrustedOutputs`,
   which fills in the trusted outputs.

One wall-time limit covers steps 2 and (for the student's part) everything in it: past it the
student is recorded as ``timeout`` with what ran in time. A failure of the grader's own (the
sandbox or the harness process dies, nbgrader fails) is tried :data:`ATTEMPTS` times and then
reported as ``grader error``: never as something the student did.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .course import Course
from .plan import Assignment, cells_of, working_files
from .precheck import Precheck, precheck_file
from .proc import PassFd, run_isolated, run_nbgrader

__all__ = ["StudentResult", "stage", "grade_student", "read_result", "ATTEMPTS", "GRADER_ERROR"]

ATTEMPTS = 3
GRADER_ERROR = "grader error"  # how a withholding that is the grader's fault begins
BACKSTOP = 30.0  # seconds the harness may overrun the student's limit before it is killed


@dataclass
class StudentResult:
    """One line of the autograde report."""

    student: str
    assignment: str
    status: str = "graded"  # graded | not graded | timeout | grader error
    score: float = 0.0  # autograded points earned
    max_score: float = 0.0  # autograded points available
    manual_max: float = 0.0  # points left to the instructor (written answers)
    failures: list[str] = field(default_factory=list)  # test cells that lost points
    timeouts: list[str] = field(default_factory=list)  # cells stopped at a time limit
    repairs: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # what an instructor should look at
    violations: list[str] = field(default_factory=list)  # "task2: torch.softmax"
    seconds: float = 0.0
    withheld: str = ""  # why the score is withheld until the instructor decides ("" if not)
    findings: list[str] = field(default_factory=list)
    phases: dict = field(default_factory=dict)

    @property
    def processed(self) -> bool:
        return self.status in ("graded", "not graded", "timeout")


def stage(course: Course, assignment: Assignment, student: str, settings) -> Precheck:
    """Pre-check ``submitted/<student>/<assignment>`` and write the repaired copy to ``staged/``."""
    aid = assignment.id
    folder = course.submitted / student / aid
    target_dir = course.staged / student / aid
    if target_dir.exists():
        shutil.rmtree(target_dir)
    expected = folder / f"{aid}.ipynb"
    notebooks = sorted(p for p in folder.glob("*.ipynb") if p.is_file() and not p.is_symlink())
    if not expected.is_file() and len(notebooks) == 1:
        expected = notebooks[0]
    if not expected.is_file() or expected.is_symlink():
        return Precheck(None, problems=[f"no {aid}.ipynb in {folder.relative_to(course.root)}"])
    check = precheck_file(expected, assignment.released, settings.submission_bytes, settings.media_bytes)
    if expected.name != f"{aid}.ipynb":
        check.repairs.append(f"notebook {expected.name!r} graded as {aid}.ipynb")
    if check.gradable:
        target_dir.mkdir(parents=True)
        with open(target_dir / f"{aid}.ipynb", "w", encoding="utf-8") as f:
            json.dump(check.notebook, f, ensure_ascii=False, indent=1)
        stamp = folder / "timestamp.txt"
        if stamp.is_file() and not stamp.is_symlink() and stamp.stat().st_size < 200:
            shutil.copyfile(stamp, target_dir / "timestamp.txt")
    return check


def _execute(course, assignment, student, settings, box, run_dir, deadline, res) -> dict | None:
    """Step 2; the harness's result, or ``None`` after :data:`ATTEMPTS` grader failures."""
    from .harness import grade_submission
    from .sandbox import SandboxError

    staged = json.loads(course.notebook("staged", assignment.id, student).read_text(encoding="utf-8"))
    job = {
        "cells": cells_of(staged, assignment),
        "cell_timeout": settings.cell_timeout,
        "media_bytes": settings.media_bytes,
        "review": settings.review,
        "deadline": deadline,
    }
    files = working_files(course, assignment, student)
    errors = []
    for _ in range(ATTEMPTS):
        try:
            proc = box.spawn(files, assignment.id)
        except SandboxError as err:
            errors.append(str(err))
            continue
        try:
            status, value = run_isolated(
                grade_submission,
                (job, proc.sock, PassFd(proc.pidfd)),
                run_dir / "harness.json",
                timeout=max(deadline - time.time(), 1.0) + BACKSTOP,
                memory=settings.bytes_of("memory") + 2**30,
            )
        finally:
            proc.kill()
        if status == "ok":
            return value
        if status == "timeout":  # the harness itself overran: the student's time is up anyway
            res.flags.append(f"grading stopped at the {settings.timeout:g} s limit")
            return {
                "status": "timeout",
                "cells": {},
                "tests": {},
                "notes": [],
                "timeouts": [],
                "violations": {},
            }
        errors.append(str(value))
    res.status = GRADER_ERROR
    res.withheld = (
        f"{GRADER_ERROR}: grading failed {ATTEMPTS} times ({errors[-1][:300]}); "
        "not evidence against the student: grade again"
    )
    return None


def _book(course, assignment, student, run_dir, trusted) -> str:
    """Step 3: nbgrader autograde for this student, filling in ``trusted``; '' or the error."""
    results = run_dir / "trusted.json"
    results.write_text(json.dumps(trusted), encoding="utf-8")
    argv = course.nbgrader(
        "autograde",
        assignment.id,
        f"--student={student}",
        "--force",
        f"--CourseDirectory.submitted_directory={course.staged.name}",
        f"--FillTrustedOutputs.results={results}",
    )
    log = course.reports / assignment.id / "logs" / f"{student}.log"
    for attempt in range(ATTEMPTS):
        code = run_nbgrader(argv, course.root, log, timeout=300)
        text = log.read_text(encoding="utf-8", errors="replace")
        if code == 0:
            return ""
        if "database is locked" not in text:
            return f"nbgrader autograde failed (exit {code}): see reports/{assignment.id}/logs/{student}.log"
        time.sleep(0.5 + attempt)
    return "nbgrader autograde failed: the gradebook stayed locked"


def grade_student(
    course: Course, assignment: Assignment, student: str, settings, box, res: StudentResult
) -> StudentResult:
    """Steps 2 and 3 for one staged submission; ``res`` is filled in and returned."""
    start = time.time()
    run_dir = Path(tempfile.mkdtemp(prefix="dlc-"))
    try:
        trusted = _execute(course, assignment, student, settings, box, run_dir, start + settings.timeout, res)
        if trusted is None:
            return res
        executed = time.time() - start
        harness = trusted.get("phases", {})
        res.phases = {k: harness[k] for k in ("notebook", "tests") if k in harness}
        res.phases["processes"] = executed - harness.get("total", 0.0)  # spawn, start-ups, set-up
        if trusted.get("status") == "timeout":
            res.status = "timeout"
            res.flags.append(
                f"the {settings.timeout:g} s limit per student was reached: the rest was not run"
            )
        error = _book(course, assignment, student, run_dir, trusted)
        res.phases["book"] = time.time() - start - executed
        if error:
            res.status, res.withheld = (
                GRADER_ERROR,
                f"{GRADER_ERROR}: {error}; not evidence against the student",
            )
            return res
        res.timeouts = list(trusted.get("timeouts", []))
        res.violations = [
            f"{task}: {', '.join(names)}" for task, names in trusted.get("violations", {}).items()
        ]
        res.flags += [f"rule broken, {v} (0 points for the task)" for v in res.violations]
        res.flags += trusted.get("notes", [])[:5]
        if trusted.get("capped"):
            res.flags.append("output capped")
        res.findings = [
            f"{c}:{line}: {rule}: {detail}" for c, line, rule, detail in trusted.get("findings", [])
        ]
        read_result(course, assignment.id, student, res)
        from .cheats import Finding, withhold_reason

        findings = [Finding(*f) for f in trusted.get("findings", [])]
        res.withheld = withhold_reason(findings, res.score)
        if res.withheld:
            res.flags += [
                f for f in res.findings if any(r in f for r in ("exit-hook", "introspection", "tamper"))
            ]
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
        res.seconds = time.time() - start
    return res


def read_result(course: Course, assignment: str, student: str, result: StudentResult) -> StudentResult:
    """Fill in scores and failures from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            result.flags.append("no grades in the gradebook")
            return result
        result.score = result.max_score = result.manual_max = 0.0
        result.failures = []
        for nb in sub.notebooks:
            for grade in nb.grades:
                if grade.cell.cell_type == "markdown" or grade.auto_score is None:
                    result.manual_max += grade.max_score
                    continue
                result.max_score += grade.max_score
                result.score += grade.auto_score
                if grade.auto_score < grade.max_score:
                    result.failures.append(grade.name)
    return result
