"""Instructor tooling: the nbgrader workflow of the course, one command per step.

::

    python -m dlcourse.grading release   [--assignment A]           # make release
    python -m dlcourse.grading collect   --source DIR_OR_ZIP --assignment A
    python -m dlcourse.grading autograde [--assignment A] [--jobs N]
    python -m dlcourse.grading feedback  [--assignment A]
    python -m dlcourse.grading grades    [--output PATH]

``A`` is an assignment id (``ps1_backprop``) or its short form (``ps1``); without it a step runs
for every assignment. ``--course DIR`` selects another course folder (default: ``assignments/``
of the repository). Every nbgrader call runs with ``cwd`` set to the course and the course root
given explicitly.

The instructor's files are never modified: ``submitted/`` is only read; autograde grades
pre-checked copies in ``staged/`` (see :mod:`dlcourse._grading_precheck`), backs the gradebook up
into ``backups/`` first, and writes its report to ``reports/<assignment>/``.
"""

from __future__ import annotations

import argparse
import csv
import html
import os
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path

from ._grading_course import (DEFAULT_COURSE, CollectReport, Course, backup_gradebook, collect,
                              read_notebook_json, release_leaks)
from ._grading_preprocessors import hidden_test_lines
from ._grading_run import GradeJob, StudentResult, grade_all, read_result, stage

__all__ = ["Course", "GradeJob", "StudentResult", "release", "collect", "autograde", "feedback",
           "grades", "main"]


def release(course: Course, assignment: str | None = None, downloads: Path | None = None,
            quiet: bool = False) -> list[Path]:
    """Generate the student versions, check them for leaks, copy them to ``downloads``.

    ``downloads`` defaults to ``book/downloads`` beside the course folder. Raises ``RuntimeError``
    when a line of a solution or of a hidden test reached ``release/`` (the copy is then withheld).
    """
    downloads = Path(downloads) if downloads else course.root.parent / "book" / "downloads"
    copied = []
    for aid in course.resolve(assignment):
        course.run_nbgrader("generate_assignment", aid, "--force")
        released = course.notebook("release", aid)
        leaks = release_leaks(read_notebook_json(course.notebook("source", aid)), read_notebook_json(released))
        if leaks:
            raise RuntimeError(f"{aid}: solution or hidden-test text reached release/: {leaks[:5]}")
        downloads.mkdir(parents=True, exist_ok=True)
        shutil.copy2(released, downloads / released.name)
        copied.append(downloads / released.name)
        if not quiet:
                print(f"released {aid}: {released.relative_to(course.root)} -> {downloads / released.name}"
                  " (no solution or hidden-test text found)")
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


def autograde(course: Course, assignment: str | None = None, jobs: int | None = None,
              cell_timeout: int | None = None, timeout: float = 300.0, kernel_name: str | None = None,
              extra_args: tuple[str, ...] = (), wrapper: tuple[str, ...] = ()) -> list[StudentResult]:
    """Pre-check and grade every submission of ``assignment`` (all assignments when ``None``).

    Students are graded in ``jobs`` parallel processes (default: the number of cores); each has
    ``timeout`` seconds of wall time. Returns one :class:`StudentResult` per submission and
    writes them to ``reports/<assignment>/autograde-<time>.csv`` and ``.../latest.csv``.
    """
    jobs = jobs or os.cpu_count() or 1
    backup = backup_gradebook(course)
    if backup:
        print(f"gradebook backed up to {backup.relative_to(course.root)}")
    results: list[StudentResult] = []
    todo: list[GradeJob] = []
    pending: dict[tuple[str, str], StudentResult] = {}
    for aid in course.resolve(assignment):
        students = sorted(p.parent.name for p in course.submitted.glob(f"*/{aid}") if p.is_dir())
        if not students:
            continue
        _ensure_gradebook(course, aid, students)
        for sid in students:
            check = stage(course, aid, sid)
            res = StudentResult(sid, aid, repairs=check.repairs, flags=list(check.problems))
            results.append(res)
            if check.gradable:
                pending[(aid, sid)] = res
                todo.append(GradeJob(course, aid, sid, kernel_name=kernel_name, cell_timeout=cell_timeout,
                                     timeout=timeout, extra_args=extra_args, wrapper=wrapper))
            else:
                res.status = "not graded"
    for job, status, seconds, log in grade_all(todo, jobs):
        res = pending[(job.assignment, job.student)]
        res.status, res.seconds, res.log = status, seconds, log
        if status == "timeout":
            res.flags.append(f"grading stopped at the {timeout:.0f} s limit")
        elif status == "error":
            res.flags.append("nbgrader failed: see reports/%s/logs/%s.log" % (job.assignment, job.student))
        read_result(course, job.assignment, job.student, res)
    _write_report(course, results)
    print_table(results)
    return results


_REPORT_FIELDS = ["assignment", "student", "status", "score", "max_score", "manual_max", "failures",
                  "timeouts", "repairs", "flags", "seconds"]


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
        print(f"{r.assignment:<20} {r.student:<16} {r.status:<10} {score:>11} {r.seconds:>5.1f}s  "
              + " | ".join(notes))
    done = sum(r.processed for r in results)
    print(f"{done} of {len(results)} submissions processed")


def feedback(course: Course, assignment: str | None = None) -> list[Path]:
    """HTML feedback per student; raises ``RuntimeError`` if a page would show hidden-test text."""
    pages = []
    for aid in course.resolve(assignment):
        if not any(course.autograded.glob(f"*/{aid}")):
            continue
        course.run_nbgrader("generate_feedback", aid, "--force")
        source = read_notebook_json(course.notebook("source", aid))
        hidden = [line for c in source["cells"] for line in hidden_test_lines("".join(c["source"]), 12)]
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
        for student in sorted(gb.students, key=lambda s: s.id):
            row = {"student_id": student.id, **{c: 0.0 for c in columns}}
            for a in assignments:
                try:
                    sub = gb.find_submission(a.name, student.id)
                except MissingEntry:
                    continue
                for nb in sub.notebooks:
                    for grade in nb.grades:
                        row[f"{a.name}:{_task(grade.name)}"] += grade.score
                row[f"{a.name}:total"] = sub.score
            row["total"] = sum(row[f"{a.name}:total"] for a in assignments)
            rows[student.id] = row
    fields = ["student_id", *columns, "total", "max_total"]
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fields)
        writer.writeheader()
        max_total = sum(maxima[f"{a.name}:total"] for a in assignments)
        writer.writerow({"student_id": "(max)", **maxima, "total": max_total, "max_total": max_total})
        for row in rows.values():
            writer.writerow({**row, "max_total": max_total})
    print(f"grades of {len(rows)} students in {len(assignments)} assignments written to {output}")
    return output


def _print_collect(report: CollectReport) -> None:
    for sid, name in report.collected.items():
        print(f"collected {sid:<16} <- {name}")
    for sid in report.unchanged:
        print(f"unchanged {sid:<16} (already collected, same file)")
    for sid in report.kept_existing:
        print(f"KEPT      {sid:<16} a different file was collected before; rerun with --replace to use the new one")
    for name in report.duplicates:
        print(f"older     {name} (the student's newest file was used)")
    for name in report.unknown:
        print(f"UNKNOWN   {name} (no student id recognised; not collected)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlcourse.grading", description=__doc__.split("\n")[0])
    parser.add_argument("--course", type=Path, default=DEFAULT_COURSE, help="course folder (default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="generate student versions and copy them to book/downloads")
    p.add_argument("--assignment", "-a")
    p.add_argument("--downloads", type=Path, help="where the student notebooks are copied")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing unless something fails")
    p = sub.add_parser("collect", help="put an LMS export into submitted/")
    p.add_argument("--source", required=True, type=Path)
    p.add_argument("--assignment", "-a", required=True)
    p.add_argument("--replace", action="store_true", help="replace a different earlier submission")
    p = sub.add_parser("autograde", help="pre-check and grade every submission")
    p.add_argument("--assignment", "-a")
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel students (default: cores)")
    p.add_argument("--cell-timeout", type=int, default=None, help="seconds per cell (default: config)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per student (default: 300)")
    p.add_argument("--kernel", default=None, help="kernel name (default: the notebook's)")
    p = sub.add_parser("feedback", help="HTML feedback per student")
    p.add_argument("--assignment", "-a")
    p = sub.add_parser("grades", help="the gradebook as CSV")
    p.add_argument("--output", "-o", type=Path)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        course = Course(args.course)
        if args.command == "release":
            release(course, args.assignment, args.downloads, args.quiet)
        elif args.command == "collect":
            (aid,) = course.resolve(args.assignment)
            _print_collect(collect(course, args.source, aid, replace=args.replace))
        elif args.command == "autograde":
            results = autograde(course, args.assignment, args.jobs, args.cell_timeout, args.timeout, args.kernel)
            print(f"autograde took {time.perf_counter() - start:.1f} s")
            return 0 if all(r.processed for r in results) else 1
        elif args.command == "feedback":
            feedback(course, args.assignment)
        elif args.command == "grades":
            grades(course, args.output)
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
