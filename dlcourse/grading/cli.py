"""The command line of the course: ``python -m dlcourse.grading <step> ...`` (``make`` runs it).

::

    python -m dlcourse.grading release    [--assignment A]             # make release
    python -m dlcourse.grading collect    --source DIR_OR_ZIP --assignment A
    python -m dlcourse.grading autograde  [--assignment A] [--student S] [settings ...]
    python -m dlcourse.grading feedback   [--assignment A] [--allow-pending]
    python -m dlcourse.grading grades     [--output PATH]
    python -m dlcourse.grading withheld   [--assignment A] [--release STUDENT]
    python -m dlcourse.grading formgrader [--port P] [--ip ADDRESS]   # JupyterLab with the Formgrader
    python -m dlcourse.grading settings                               # the grading settings, documented

``A`` is an assignment id (``ps1_backprop``) or its short form (``ps1``); without it a step runs
for every assignment. ``--course DIR`` selects another course folder (default: ``assignments/``
of the repository). The autograde settings and their help come from
:class:`dlcourse.grading.settings.DlcourseGrading`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from .collect import CollectReport, collect
from .course import DEFAULT_COURSE, Course, sync_roster
from .settings import DlcourseGrading, add_arguments, overrides_of, read_settings

__all__ = ["main", "formgrader_command"]


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
    for line in report.conflicts:
        print(f"CONFLICT  {line}")
    for name in report.unknown:
        print(f"UNKNOWN   {name} (no student id recognised; not collected)")
    for name in report.skipped:
        print(f"SKIPPED   {name}")


def _venv_tools_on_path() -> None:
    """nbgrader runs ``alembic`` by name: find it beside this interpreter even without activation."""
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")]).rstrip(os.pathsep)


def formgrader_command(course: Course, port: int | None = None, ip: str | None = None) -> list[str]:
    """JupyterLab at the course root, from this environment (``--allow-root`` only as root)."""
    cmd = [
        os.path.join(os.path.dirname(sys.executable), "jupyter-lab"),
        f"--ServerApp.root_dir={course.root}",
    ]
    cmd += ["--no-browser"] if port else []
    cmd += [f"--port={port}"] if port else []
    cmd += [f"--ip={ip}"] if ip else []
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd


def _parser() -> argparse.ArgumentParser:
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
    p = sub.add_parser("autograde", help="pre-check and grade every submission (settings: c.DlcourseGrading)")
    p.add_argument("--assignment", "-a")
    p.add_argument("--student", "-s", default=None, help="grade only this student")
    add_arguments(p)
    p = sub.add_parser("withheld", help="list withheld scores, or release one")
    p.add_argument("--assignment", "-a")
    p.add_argument("--release", metavar="STUDENT", help="release this student's score (the gradebook's)")
    p = sub.add_parser("feedback", help="HTML feedback per student")
    p.add_argument("--assignment", "-a")
    p.add_argument(
        "--allow-pending", action="store_true", help="make pages even with hand-graded cells not graded yet"
    )
    p = sub.add_parser("grades", help="the gradebook as CSV")
    p.add_argument("--output", "-o", type=Path)
    p = sub.add_parser("formgrader", help="JupyterLab at the course root, with the Formgrader")
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--ip", default=None)
    sub.add_parser("settings", help="print the grading settings in effect, with their documentation")
    return parser


def main(argv: list[str] | None = None) -> int:
    _venv_tools_on_path()
    args = _parser().parse_args(argv)
    start = time.perf_counter()
    try:
        course = Course(args.course)
        if args.command == "release":
            from .workflow import release

            release(course, args.assignment, args.downloads, args.quiet)
        elif args.command == "collect":
            (aid,) = course.resolve(args.assignment)
            _print_collect(collect(course, args.source, aid, replace=args.replace))
        elif args.command == "autograde":
            from .workflow import autograde

            settings = read_settings(course.root, **overrides_of(args))
            results = autograde(course, args.assignment, settings, student=args.student)
            if args.student and not results:
                raise ValueError(f"no submission of student {args.student!r} in submitted/")
            print(f"autograde took {time.perf_counter() - start:.1f} s")
            return 0 if all(r.processed for r in results) else 1
        elif args.command == "feedback":
            from .feedback import feedback

            report = feedback(course, args.assignment, args.allow_pending)
            return 1 if report.leaked else 0
        elif args.command == "grades":
            from .grades import grades

            grades(course, args.output)
        elif args.command == "withheld":
            from .workflow import withheld

            withheld(course, args.assignment, args.release)
        elif args.command == "formgrader":
            sync_roster(course)
            print(
                f"Formgrader: JupyterLab at {course.root}; open the Formgrader from its Nbgrader menu (book/instructors.md)"
            )
            return subprocess.call(formgrader_command(course, args.port, args.ip), cwd=course.root)
        elif args.command == "settings":
            settings = read_settings(course.root)
            for name in sorted(DlcourseGrading.class_own_traits(config=True)):
                print(f"{name:<17} {getattr(settings, name)!r}")
            print()
            print(DlcourseGrading.class_config_section())
            from .sandbox import probe

            print(probe().notice(settings))
    except (ValueError, TypeError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
