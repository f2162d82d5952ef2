"""Grading one student in one process, many students in a pool, and reading back the results.

Part of :mod:`dlcourse.grading`. The three steps are kept apart so that stricter grading can plug
in without touching the others:

1. :func:`stage` pre-checks a submission and writes the repaired copy to
   ``staged/<student>/<assignment>/`` (``submitted/`` is only ever read);
2. :func:`grade_student` runs ``nbgrader autograde <assignment> --student <id>`` on the staged
   copy, in a process of its own (see :mod:`dlcourse.grading.proc`), with the kernel, the per-cell timeout, a wall-time limit and
   any extra nbgrader options that :class:`GradeJob` carries (``wrapper`` prefixes the command, for
   a sandbox); every process it leaves behind is killed when it ends or times out;
3. :func:`read_result` reads the scores from the gradebook and the autograded notebook.
"""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .course import Course, read_notebook_json
from .precheck import Precheck, precheck_file
from .preprocessors import CAPPED_MARK
from .proc import run_nbgrader

__all__ = ["GradeJob", "StudentResult", "stage", "grade_student", "grade_all", "read_result"]


@dataclass(frozen=True)
class GradeJob:
    """Everything one student's grading process needs."""

    course: Course
    assignment: str
    student: str
    kernel_name: str | None = None  # None: the notebook's own kernelspec (python3)
    cell_timeout: int | None = None  # None: c.Execute.timeout of nbgrader_config.py
    timeout: float = 300.0  # wall time of the whole process, start-up included
    extra_args: tuple[str, ...] = ()  # more nbgrader options, e.g. "--LimitOutput.max_lines=50"
    wrapper: tuple[str, ...] = ()  # a command that runs the nbgrader command (a sandbox launcher)
    env: tuple[tuple[str, str], ...] = ()  # extra environment variables

    def argv(self) -> list[str]:
        """The nbgrader arguments (after ``nbgrader``) that grade this student."""
        args = [
            "autograde",
            self.assignment,
            f"--student={self.student}",
            "--force",
            f"--CourseDirectory.submitted_directory={self.course.staged.name}",
        ]
        if self.kernel_name:
            args.append(f"--Execute.kernel_name={self.kernel_name}")
        if self.cell_timeout:
            args.append(f"--Execute.timeout={int(self.cell_timeout)}")
        return self.course.nbgrader(*args, *self.extra_args)


@dataclass
class StudentResult:
    """One line of the autograde report."""

    student: str
    assignment: str
    status: str = "graded"  # graded | not graded | timeout | error | grader error
    score: float = 0.0  # autograded points earned
    max_score: float = 0.0  # autograded points available
    manual_max: float = 0.0  # points left to the instructor (written answers)
    failures: list[str] = field(default_factory=list)  # test cells that lost points
    timeouts: list[str] = field(default_factory=list)  # cells interrupted at the cell time limit
    repairs: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # what an instructor should look at
    seconds: float = 0.0
    log: str = ""
    recheck_score: float | None = None  # points of the trusted re-check (None: not reviewed)
    recheck_failed: list[str] = field(default_factory=list)  # tests the re-check failed
    withheld: str = ""  # why the score is withheld until the instructor decides ("" if not)

    @property
    def processed(self) -> bool:
        return self.status in ("graded", "not graded", "timeout")


def stage(course: Course, assignment: str, student: str) -> Precheck:
    """Pre-check ``submitted/<student>/<assignment>`` and write the repaired copy to ``staged/``."""
    folder = course.submitted / student / assignment
    target_dir = course.staged / student / assignment
    if target_dir.exists():
        shutil.rmtree(target_dir)
    expected = folder / f"{assignment}.ipynb"
    notebooks = sorted(folder.glob("*.ipynb"))
    if not expected.exists() and len(notebooks) == 1:
        expected = notebooks[0]
    if not expected.exists():
        return Precheck(None, problems=[f"no {assignment}.ipynb in {folder.relative_to(course.root)}"])
    released = read_notebook_json(course.notebook("release", assignment))
    check = precheck_file(expected, released)
    if expected.name != f"{assignment}.ipynb":
        check.repairs.append(f"notebook {expected.name!r} graded as {assignment}.ipynb")
    if check.gradable:
        target_dir.mkdir(parents=True)
        with open(target_dir / f"{assignment}.ipynb", "w", encoding="utf-8") as f:
            json.dump(check.notebook, f, ensure_ascii=False, indent=1)
        if (folder / "timestamp.txt").exists():
            shutil.copy2(folder / "timestamp.txt", target_dir / "timestamp.txt")
    return check


def grade_student(job: GradeJob) -> tuple[str, float, str]:
    """Run one student's autograde process; return (status, seconds, log text).

    ``status`` is ``"graded"`` when nbgrader exited 0, ``"timeout"`` when the process ran past
    ``job.timeout`` (it is then killed with everything it started), else ``"error"``. A retry
    covers the rare ``database is locked`` of several processes writing one SQLite gradebook.
    """
    log_path = job.course.reports / job.assignment / "logs" / f"{job.student}.log"
    start = time.perf_counter()
    for attempt in range(3):
        left = max(job.timeout - (time.perf_counter() - start), 1.0)
        code = run_nbgrader(
            job.argv(), job.course.root, log_path, timeout=left, env=dict(job.env), wrapper=job.wrapper
        )
        text = log_path.read_text(encoding="utf-8", errors="replace")
        if code is None:
            return "timeout", time.perf_counter() - start, text
        if code == 0:
            return "graded", time.perf_counter() - start, text
        if "database is locked" not in text or attempt == 2:
            break
        time.sleep(0.5 + attempt)
    return "error", time.perf_counter() - start, text


def read_result(course: Course, assignment: str, student: str, result: StudentResult) -> StudentResult:
    """Fill in scores, failures, cell timeouts and output flags from the gradebook and notebook."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            result.flags.append("no grades in the gradebook")
            return result
        for nb in sub.notebooks:
            for grade in nb.grades:
                if grade.cell.cell_type == "markdown" or grade.auto_score is None:
                    result.manual_max += grade.max_score
                    continue
                result.max_score += grade.max_score
                result.score += grade.auto_score
                if grade.auto_score < grade.max_score:
                    result.failures.append(grade.name)
    autograded = course.notebook("autograded", assignment, student)
    if autograded.exists():
        text = autograded.read_text(encoding="utf-8", errors="replace")
        if CAPPED_MARK in text:
            result.flags.append("output capped")
        nb = json.loads(text)
        last_id = None
        for cell in nb["cells"]:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error" and "Timeout" in out.get("ename", ""):
                    result.timeouts.append(gid or f"cell after {last_id}")
            last_id = gid or last_id
    return result


def grade_all(jobs: list[GradeJob], workers: int) -> list[tuple[GradeJob, str, float, str]]:
    """Run :func:`grade_student` over ``jobs`` with ``workers`` processes at a time."""
    if workers < 1:
        raise ValueError(f"jobs must be >= 1, got {workers}")
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(grade_student, jobs))
    return [(job, *outcome) for job, outcome in zip(jobs, outcomes)]
