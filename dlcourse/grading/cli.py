"""The command line of the course: ``python -m dlcourse.grading <step> ...`` (``make`` runs it).

::

    python -m dlcourse.grading release   [--assignment A]           # make release
    python -m dlcourse.grading collect   --source DIR_OR_ZIP --assignment A
    python -m dlcourse.grading autograde [--assignment A] [--student S] [--jobs N] [limits ...]
    python -m dlcourse.grading feedback  [--assignment A]
    python -m dlcourse.grading grades    [--output PATH]
    python -m dlcourse.grading withheld  [--assignment A] [--release STUDENT [--use-recheck]]

``A`` is an assignment id (``ps1_backprop``) or its short form (``ps1``); without it a step runs
for every assignment. ``--course DIR`` selects another course folder (default: ``assignments/``
of the repository). Each step is a function of :mod:`dlcourse.grading.workflow`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .course import DEFAULT_COURSE, CollectReport, Course, collect
from .secure import read_settings
from .workflow import autograde, feedback, grades, release, withheld

__all__ = ["main"]


def _print_collect(report: CollectReport) -> None:
    for sid, name in report.collected.items():
        print(f"collected {sid:<16} <- {name}")
    for sid in report.unchanged:
        print(f"unchanged {sid:<16} (already collected, same file)")
    for sid in report.kept_existing:
        print(
            f"KEPT      {sid:<16} a different file was collected before; rerun with --replace to use the new one"
        )
    for name in report.duplicates:
        print(f"older     {name} (the student's newest file was used)")
    for name in report.unknown:
        print(f"UNKNOWN   {name} (no student id recognised; not collected)")


def _venv_tools_on_path() -> None:
    """nbgrader runs ``alembic`` by name: find it beside this interpreter even without activation."""
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")]).rstrip(os.pathsep)


def main(argv: list[str] | None = None) -> int:
    _venv_tools_on_path()
    parser = argparse.ArgumentParser(prog="python -m dlcourse.grading", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--course", type=Path, default=DEFAULT_COURSE, help="course folder (default: %(default)s)"
    )
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
    p.add_argument("--student", "-s", default=None, help="grade only this student")
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel students (default: cores)")
    p.add_argument(
        "--cell-timeout", type=int, default=None, help="seconds per cell (default: c.Execute.timeout)"
    )
    p.add_argument("--timeout", type=float, default=None, help="seconds per student (default: 300)")
    p.add_argument("--memory", default=None, help="address space per kernel process, e.g. 4G (default)")
    p.add_argument("--cpu-seconds", type=int, default=None, help="CPU seconds per process (default: 600)")
    p.add_argument("--nproc", type=int, default=None, help="processes and threads per kernel (default: 256)")
    p.add_argument("--file-size", default=None, help="largest file a kernel writes (default: 256M)")
    p.add_argument(
        "--no-review",
        action="store_true",
        help="skip the cheat review (static scan, trusted re-check); not for strangers' code",
    )
    p.add_argument(
        "--isolation",
        choices=("auto", "require", "off"),
        default=None,
        help="auto: isolate where possible (default); require: refuse without; off",
    )
    p = sub.add_parser("withheld", help="list withheld scores, or release one")
    p.add_argument("--assignment", "-a")
    p.add_argument("--release", metavar="STUDENT", help="release this student's score")
    p.add_argument(
        "--use-recheck",
        action="store_true",
        help="with --release: score the tests the trusted re-check failed as 0",
    )
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
            settings = read_settings(
                course,
                memory=args.memory,
                cpu_seconds=args.cpu_seconds,
                nproc=args.nproc,
                file_size=args.file_size,
                isolation=args.isolation,
                timeout=args.timeout,
                cell_timeout=args.cell_timeout,
                review=False if args.no_review else None,
            )
            results = autograde(course, args.assignment, args.jobs, settings, student=args.student)
            if args.student and not results:
                raise ValueError(f"no submission of student {args.student!r} in submitted/")
            print(f"autograde took {time.perf_counter() - start:.1f} s")
            return 0 if all(r.processed for r in results) else 1
        elif args.command == "feedback":
            feedback(course, args.assignment)
        elif args.command == "grades":
            grades(course, args.output)
        elif args.command == "withheld":
            withheld(course, args.assignment, args.release, args.use_recheck)
    except (ValueError, TypeError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
