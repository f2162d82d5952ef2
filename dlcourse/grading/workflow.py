"""The steps of a term: release, autograde and withheld (feedback and grades have modules of their own).

(``collect`` is in :mod:`dlcourse.grading.collect`; the command line in :mod:`dlcourse.grading.cli`.)
Every nbgrader call runs with ``cwd`` set to the course and the course root given explicitly.

The instructor's files are never modified: ``submitted/`` is only read; autograde grades
pre-checked copies in ``staged/`` (:mod:`.precheck`), backs the gradebook up into ``backups/``
first, and writes its report to ``reports/<assignment>/`` as each student finishes.

Student code is untrusted: it runs only in the sandbox (:mod:`.sandbox`), executed once per
submission under the trusted harness (:mod:`.harness`), which decides every test outside the
student's reach. Settings: :mod:`.settings` (``c.DlcourseGrading`` in ``nbgrader_config.py``).
"""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .course import Course, backup_gradebook, read_notebook_json, release_leaks, sync_roster
from .plan import load_assignment
from .report import Report, print_table
from .run import GRADER_ERROR, StudentResult, grade_student, stage
from .settings import DlcourseGrading, read_settings
from .withheld import Withheld, read_withheld, record_withheld, release_withheld

__all__ = ["release", "autograde", "withheld"]


def release(
    course: Course, assignment: str | None = None, downloads: Path | None = None, quiet: bool = False
) -> list[Path]:
    """Generate the student versions, check them for leaks, copy them to ``downloads``.

    ``downloads`` defaults to ``book/downloads`` beside the course folder. Raises ``RuntimeError``
    when a line of a solution or of a hidden test reached ``release/``.
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
                f"released {aid}: {released.relative_to(course.root)} -> {downloads / released.name} "
                "(no solution or hidden-test text found)"
            )
    sync_roster(course)
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
    sync_roster(course)


def _isolation_line(settings: DlcourseGrading, support) -> str:
    if settings.isolation == "off":
        return f"sandbox: isolation OFF (asked for); still applied: {settings.summary()}, kill of the student's processes"
    return support.notice(settings)


def autograde(
    course: Course,
    assignment: str | None = None,
    settings: DlcourseGrading | None = None,
    support=None,
    student: str | None = None,
) -> list[StudentResult]:
    """Pre-check, execute once in the sandbox under the trusted harness, and book every submission
    of ``assignment`` (all when None; only ``student``'s when given).

    Prints one line saying whether isolation is on; raises ``RuntimeError`` when
    ``settings.isolation == "require"`` and this machine cannot isolate. Students are graded
    ``settings.workers`` at a time; each result (report row, withholding) is written as soon as
    that student is done. Returns one :class:`StudentResult` per submission.
    """
    from .proc import preload, start_server
    from .sandbox import Sandbox, probe

    settings = read_settings(course.root) if settings is None else settings
    support = probe() if support is None else support
    print(_isolation_line(settings, support))
    if settings.isolation == "require" and not support.isolated:
        raise RuntimeError("isolation required (--isolation require) but unavailable: " + support.reason)
    backup = backup_gradebook(course)
    if backup:
        print(f"gradebook backed up to {backup.relative_to(course.root)}")
    preload(settings.preload)
    box = Sandbox(settings, support, hide=[course.root], log=course.reports / "sandbox.log")
    course.reports.mkdir(parents=True, exist_ok=True)
    for warm in (box.start, start_server):  # seconds of imports, meanwhile the pre-check runs
        threading.Thread(target=warm, daemon=True).start()
    report, results, todo = Report(course), [], []
    with box:
        for aid in course.resolve(assignment):
            students = sorted(
                p.parent.name
                for p in course.submitted.glob(f"*/{aid}")
                if p.is_dir() and not p.is_symlink() and (student is None or p.parent.name == student)
            )
            if not students:
                continue
            _ensure_gradebook(course, aid, students)
            info = load_assignment(course, aid)
            for sid in students:
                check = stage(course, info, sid, settings)
                res = StudentResult(sid, aid, repairs=check.repairs, flags=list(check.problems))
                results.append(res)
                if check.gradable:
                    todo.append((info, res))
                else:
                    res.status = "not graded"
                    report.add(res)
                    record_withheld(course, res)

        def one(item):
            info, res = item
            try:
                grade_student(course, info, res.student, settings, box, res)
            except Exception as err:  # noqa: BLE001  one broken submission never stops the others
                res.status, res.withheld = GRADER_ERROR, f"{GRADER_ERROR}: {type(err).__name__}: {err}"
            report.add(res)
            record_withheld(course, res)

        with ThreadPoolExecutor(max_workers=settings.workers) as pool:
            list(pool.map(one, todo))
    report.finish()
    print_table(results)
    return results


def withheld(course: Course, assignment: str | None = None, release: str | None = None) -> list[Withheld]:
    """List withheld scores; with ``release`` (a student id), release that student's score as it
    stands in the gradebook (set a score in the Formgrader first to change it)."""
    aids = course.resolve(assignment)
    if release:
        if len(aids) != 1:
            raise ValueError("--release needs --assignment")
        row = release_withheld(course, aids[0], release)
        print(f"released {release} in {aids[0]} with the gradebook's score (was withheld: {row.reason})")
        return [row]
    rows = []
    for aid in aids:
        for w in read_withheld(course, aid).values():
            rows.append(w)
            print(f"{aid:<20} {w.student:<16} score {w.score:g}/{w.max_score:g}  {w.reason}")
    if not rows:
        print("no withheld scores")
    return rows
