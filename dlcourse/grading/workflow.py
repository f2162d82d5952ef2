"""The steps of a term, one function each: release, autograde, feedback, grades, withheld.

(``collect`` is in :mod:`dlcourse.grading.course`; the command line in :mod:`dlcourse.grading.cli`.)
Every nbgrader call runs with ``cwd`` set to the course and the course root given explicitly.

The instructor's files are never modified: ``submitted/`` is only read; autograde grades
pre-checked copies in ``staged/`` (see :mod:`dlcourse.grading.precheck`), backs the gradebook up
into ``backups/`` first, and writes its report to ``reports/<assignment>/``.

Student code is untrusted: each kernel runs in the sandbox of :mod:`dlcourse.grading.sandbox`
(limits from ``c.DlcourseSandbox`` in ``nbgrader_config.py`` or the command line), and each result
is reviewed outside the student's kernel (:mod:`dlcourse.grading.cheats`); a flagged score is
withheld (``reports/<assignment>/withheld.csv``) until released with ``withheld --release``. See
:mod:`dlcourse.grading.secure`.
"""

from __future__ import annotations

import csv
import html
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from .course import Course, backup_gradebook, read_notebook_json, release_leaks
from .preprocessors import hidden_test_lines
from .run import StudentResult, stage
from .sandbox.limits import SandboxSupport, probe
from .secure import (
    GRADER_ERROR,
    SandboxSettings,
    Withheld,
    grade_safely,
    read_settings,
    read_withheld,
    release_decision,
    update_withheld,
)

__all__ = ["release", "autograde", "print_table", "feedback", "grades", "withheld"]


def release(
    course: Course, assignment: str | None = None, downloads: Path | None = None, quiet: bool = False
) -> list[Path]:
    """Generate the student versions, check them for leaks, copy them to ``downloads``.

    ``downloads`` defaults to ``book/downloads`` beside the course folder. Raises ``RuntimeError``
    when a line of a solution or of a hidden test reached ``release/`` (the copy is then withheld).
    """
    downloads = Path(downloads) if downloads else course.root.parent / "book" / "downloads"
    copied = []
    for aid in course.resolve(assignment):
        course.run_nbgrader("generate_assignment", aid, "--force")
        released = course.notebook("release", aid)
        leaks = release_leaks(
            read_notebook_json(course.notebook("source", aid)), read_notebook_json(released)
        )
        if leaks:
            raise RuntimeError(f"{aid}: solution or hidden-test text reached release/: {leaks[:5]}")
        downloads.mkdir(parents=True, exist_ok=True)
        shutil.copy2(released, downloads / released.name)
        copied.append(downloads / released.name)
        if not quiet:
            print(
                f"released {aid}: {released.relative_to(course.root)} -> {downloads / released.name}"
                " (no solution or hidden-test text found)"
            )
    return copied


def _ensure_gradebook(course: Course, aid: str, students: list[str]) -> None:
    """Make sure the assignment and the students exist before parallel processes write grades."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url) as gb:
        try:
            gb.find_assignment(aid)
        except MissingEntry:
            raise RuntimeError(f"{aid} is not in the gradebook: run `make release A={aid}` first") from None
        for sid in students:
            gb.update_or_create_student(sid)


def autograde(
    course: Course,
    assignment: str | None = None,
    jobs: int | None = None,
    settings: SandboxSettings | None = None,
    support: SandboxSupport | None = None,
    student: str | None = None,
) -> list[StudentResult]:
    """Pre-check, grade in the sandbox and review every submission of ``assignment`` (all when None).

    ``student`` grades only that student's submission(s) (after a grader error, say).

    Students are graded in ``jobs`` parallel processes (default: the number of cores), each kernel
    in the sandbox with ``settings`` (default: ``c.DlcourseSandbox`` of ``nbgrader_config.py``).
    Prints one line saying whether isolation is on; raises ``RuntimeError`` when
    ``settings.isolation == "require"`` and this machine cannot isolate. Returns one
    :class:`StudentResult` per submission and writes them to ``reports/<assignment>/latest.csv``
    (and a time-stamped copy); flagged scores go to ``reports/<assignment>/withheld.csv``.
    """
    jobs = jobs or os.cpu_count() or 1
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    settings = read_settings(course) if settings is None else settings
    if settings.isolation != "off":
        support = probe() if support is None else support
        print(support.notice(settings.limits))
        if settings.isolation == "require" and not support.isolated:
            raise RuntimeError("isolation required (--isolation require) but unavailable: " + support.reason)
    else:
        print(
            "sandbox: isolation OFF (asked for); still applied: memory, CPU, file-size and "
            "process limits, per-cell timeout, kill of the kernel's process group"
        )
    backup = backup_gradebook(course)
    if backup:
        print(f"gradebook backed up to {backup.relative_to(course.root)}")
    results: list[StudentResult] = []
    todo: list[StudentResult] = []
    for aid in course.resolve(assignment):
        students = sorted(
            p.parent.name
            for p in course.submitted.glob(f"*/{aid}")
            if p.is_dir() and (student is None or p.parent.name == student)
        )
        if not students:
            continue
        _ensure_gradebook(course, aid, students)
        for sid in students:
            check = stage(course, aid, sid)
            res = StudentResult(sid, aid, repairs=check.repairs, flags=list(check.problems))
            results.append(res)
            if check.gradable:
                todo.append(res)
            else:
                res.status = "not graded"
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(lambda r: grade_safely(course, r.assignment, r.student, settings, support, r), todo))
    update_withheld(course, todo)
    _write_report(course, results)
    print_table(results)
    return results


_REPORT_FIELDS = [
    "assignment",
    "student",
    "status",
    "score",
    "max_score",
    "manual_max",
    "failures",
    "timeouts",
    "repairs",
    "flags",
    "seconds",
    "recheck_score",
    "withheld",
]


def _write_report(course: Course, results: list[StudentResult]) -> None:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for aid in sorted({r.assignment for r in results}):
        folder = course.reports / aid
        folder.mkdir(parents=True, exist_ok=True)
        for path in (folder / f"autograde-{stamp}.csv", folder / "latest.csv"):
            with open(path, "w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, _REPORT_FIELDS)
                writer.writeheader()
                for r in results:
                    if r.assignment == aid:
                        row = {k: getattr(r, k) for k in _REPORT_FIELDS}
                        for k in ("failures", "timeouts", "repairs", "flags"):
                            row[k] = "; ".join(row[k])
                        row["seconds"] = f"{r.seconds:.1f}"
                        row["recheck_score"] = "" if r.recheck_score is None else f"{r.recheck_score:g}"
                        row["withheld"] = f"withheld: {r.withheld}" if r.withheld else ""
                        writer.writerow(row)
        print(f"report: {(folder / 'latest.csv').relative_to(course.root)}")


def print_table(results: list[StudentResult]) -> None:
    """Print the autograde report as a fixed-width table."""
    head = f"{'assignment':<20} {'student':<16} {'status':<10} {'score':>11} {'time':>6}  notes"
    print(head)
    print("-" * len(head))
    for r in results:
        notes = [f"failed: {', '.join(r.failures)}"] if r.failures else []
        notes += [f"cell timeout: {', '.join(r.timeouts)}"] if r.timeouts else []
        notes += r.repairs + r.flags
        score = f"{r.score:g}/{r.max_score:g}"
        if r.status == "grader error":
            notes.insert(0, f"{r.withheld} (kernel {score})")
            score = "held"
        elif r.withheld:
            notes.insert(0, f"withheld: {r.withheld} (kernel {score}, re-check {r.recheck_score or 0:g})")
            score = "withheld"
        print(
            f"{r.assignment:<20} {r.student:<16} {r.status:<10} {score:>11} {r.seconds:>5.1f}s  "
            + " | ".join(notes)
        )
    done = sum(r.processed for r in results)
    held = sum(bool(r.withheld) and r.status != "grader error" for r in results)
    broken = [r for r in results if r.status == "grader error"]
    print(
        f"{done} of {len(results)} submissions processed"
        + (f"; {held} score(s) withheld for review: python -m dlcourse.grading withheld" if held else "")
    )
    for r in broken:
        print(
            f"GRADER ERROR {r.assignment} {r.student}: the grader failed, not the student; grade again "
            f"with `make autograde A={r.assignment} STUDENT={r.student}`"
        )


def feedback(course: Course, assignment: str | None = None) -> list[Path]:
    """HTML feedback per student; raises ``RuntimeError`` if a page would show hidden-test text.

    Pages are generated from the autograded notebooks, which the review has already scrubbed of
    hidden-test text. No page is kept for a submission whose score is withheld.
    """
    pages = []
    for aid in course.resolve(assignment):
        if not any(course.autograded.glob(f"*/{aid}")):
            continue
        course.run_nbgrader("generate_feedback", aid, "--force")
        source = read_notebook_json(course.notebook("source", aid))
        hidden = [line for c in source["cells"] for line in hidden_test_lines("".join(c["source"]), 12)]
        held = read_withheld(course, aid)
        for sid in sorted(held):
            shutil.rmtree(course.feedback / sid / aid, ignore_errors=True)
            print(f"feedback: none for {sid} (score withheld: {held[sid].reason})")
        for page in sorted(course.feedback.glob(f"*/{aid}/*.html")):
            text = html.unescape(page.read_text(encoding="utf-8"))
            leaked = [line for line in hidden if line in text]
            if leaked:
                page.unlink()
                raise RuntimeError(f"{page} showed hidden-test text {leaked[:2]}; the page was deleted")
            pages.append(page)
            print(f"feedback: {page.relative_to(course.root)}")
    return pages


def _task(grade_id: str) -> str:
    for suffix in ("_visible", "_hidden", "_written"):
        if grade_id.endswith(suffix):
            return grade_id[: -len(suffix)]
    return grade_id


def grades(course: Course, output: Path | None = None) -> Path:
    """Write the gradebook as CSV: one row per student, one column per task, per-assignment totals."""
    from nbgrader.api import Gradebook, MissingEntry

    output = Path(output) if output else course.reports / "grades.csv"
    rows, columns, maxima = {}, [], {}
    with Gradebook(course.db_url) as gb:
        assignments = sorted(gb.assignments, key=lambda a: a.name)
        for a in assignments:
            for nb in a.notebooks:
                for cell in nb.grade_cells:
                    col = f"{a.name}:{_task(cell.name)}"
                    if col not in maxima:
                        columns.append(col)
                        maxima[col] = 0.0
                    maxima[col] += cell.max_score
            columns.append(f"{a.name}:total")
            maxima[f"{a.name}:total"] = a.max_score
        held = {a.name: read_withheld(course, a.name) for a in assignments}
        for student in sorted(gb.students, key=lambda s: s.id):
            row = {"student_id": student.id, **{c: 0.0 for c in columns}, "withheld": ""}
            for a in assignments:
                try:
                    sub = gb.find_submission(a.name, student.id)
                except MissingEntry:
                    continue
                for nb in sub.notebooks:
                    for grade in nb.grades:
                        row[f"{a.name}:{_task(grade.name)}"] += grade.score
                row[f"{a.name}:total"] = sub.score
                if student.id in held[a.name]:
                    hold = held[a.name][student.id]
                    row[f"{a.name}:total"] = GRADER_ERROR if hold.grader_error else "withheld"
                    row["withheld"] += f"{a.name} ({hold.reason}) "
            row["total"] = sum(v for a in assignments if isinstance(v := row[f"{a.name}:total"], float))
            row["withheld"] = row["withheld"].strip()
            rows[student.id] = row
    fields = ["student_id", *columns, "total", "max_total", "withheld"]
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fields)
        writer.writeheader()
        max_total = sum(maxima[f"{a.name}:total"] for a in assignments)
        writer.writerow({"student_id": "(max)", **maxima, "total": max_total, "max_total": max_total})
        for row in rows.values():
            writer.writerow({**row, "max_total": max_total})
    print(f"grades of {len(rows)} students in {len(assignments)} assignments written to {output}")
    for row in rows.values():
        if row["withheld"]:
            label = "HELD" if GRADER_ERROR in row["withheld"] else "WITHHELD"
            print(f"{label:<9} {row['student_id']}: {row['withheld']} (not counted in total)")
    return output


def withheld(
    course: Course, assignment: str | None = None, release: str | None = None, use_recheck: bool = False
) -> list[Withheld]:
    """List withheld scores; with ``release`` (a student id), release that student's score.

    Released as it stands in the gradebook (the kernel's, or what you set in the formgrader),
    or, with ``use_recheck``, with every test the trusted re-check failed set to 0 points.
    """
    aids = course.resolve(assignment)
    if release:
        if len(aids) != 1:
            raise ValueError("--release needs --assignment")
        row = release_decision(course, aids[0], release, use_recheck)
        how = "re-check's score" if use_recheck else "gradebook's score"
        print(f"released {release} in {aids[0]} with the {how} (was withheld: {row.reason})")
        return [row]
    rows = [w for aid in aids for w in read_withheld(course, aid).values()]
    for aid in aids:
        for w in read_withheld(course, aid).values():
            print(
                f"{aid:<20} {w.student:<16} kernel {w.kernel_score:g}/{w.max_score:g}  "
                f"re-check {w.recheck_score:g}  {w.reason}"
            )
    if not rows:
        print("no withheld scores")
    return rows
