"""The course folder, nbgrader invocations, the release check, gradebook backups and the roster.

Part of :mod:`dlcourse.grading`; see that module for the workflow (``collect`` is in :mod:`.collect`).
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from . import markers
from .proc import run_checked

__all__ = [
    "Course",
    "release_leaks",
    "backup_gradebook",
    "read_notebook_json",
    "read_roster",
    "sync_roster",
    "DEFAULT_COURSE",
    "STUDENT_ID",
]

DEFAULT_COURSE = Path(__file__).resolve().parents[2] / "assignments"
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Course:
    """An nbgrader course folder (the one holding ``nbgrader_config.py``)."""

    root: Path

    def __post_init__(self) -> None:
        root = Path(self.root).resolve()
        if not (root / "nbgrader_config.py").is_file():
            raise ValueError(f"course must be a folder holding nbgrader_config.py, got {root}")
        object.__setattr__(self, "root", root)

    # the folders nbgrader and this module use
    source = property(lambda self: self.root / "source")
    release = property(lambda self: self.root / "release")
    submitted = property(lambda self: self.root / "submitted")
    staged = property(lambda self: self.root / "staged")
    autograded = property(lambda self: self.root / "autograded")
    feedback = property(lambda self: self.root / "feedback")
    reports = property(lambda self: self.root / "reports")
    backups = property(lambda self: self.root / "backups")
    db = property(lambda self: self.root / "gradebook.db")
    db_url = property(lambda self: "sqlite:///" + str(self.root / "gradebook.db"))

    def assignments(self) -> list[str]:
        """Ids of the assignments with a source notebook, sorted."""
        return sorted(p.parent.name for p in self.source.glob("*/*.ipynb") if p.stem == p.parent.name)

    def resolve(self, name: str | None) -> list[str]:
        """``None`` -> all assignments; ``"ps1"`` or ``"ps1_backprop"`` -> ``["ps1_backprop"]``."""
        known = self.assignments()
        if name is None or name == "":
            return known
        matches = [a for a in known if a == name or a.split("_")[0] == name]
        if len(matches) != 1:
            raise ValueError(f"assignment must be one of {known} or its short form, got {name!r}")
        return matches

    def notebook(self, step: str, assignment: str, student: str | None = None) -> Path:
        """Path of the notebook of ``assignment`` in the folder of ``step`` (source, release, ...)."""
        base = self.root / step
        if student is not None:
            base = base / student
        return base / assignment / f"{assignment}.ipynb"

    def nbgrader(self, *args: str) -> list[str]:
        """The arguments of one nbgrader call on this course (root given explicitly)."""
        return [*args, f"--CourseDirectory.root={self.root}"]

    def run_nbgrader(self, *args: str) -> str:
        """Run nbgrader with ``cwd`` set to the course (so that it reads ``nbgrader_config.py``).

        Returns its log (also kept in ``reports/logs/``); raises ``RuntimeError`` when it fails.
        """
        log = self.reports / "logs" / f"{args[0]}-{'-'.join(a for a in args[1:2])}.log"
        return run_checked(self.nbgrader(*args), self.root, log)


def release_leaks(source_nb: dict, release_nb: dict) -> list[str]:
    """Markers, and lines of solutions or hidden tests of ``source_nb``, that appear in ``release_nb``
    (the rule of :func:`dlcourse.grading.markers.secret_lines`)."""
    released = "\n".join(markers.cell_source(c) for c in release_nb["cells"])
    return markers.leaks(released, markers.secret_lines(source_nb))


def backup_gradebook(course: Course) -> Path | None:
    """Copy ``gradebook.db`` (consistently, through SQLite's backup API) into ``backups/``."""
    if not course.db.exists():
        return None
    course.backups.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = course.backups / f"gradebook-{stamp}.db"
    with sqlite3.connect(course.db) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


def read_notebook_json(path: Path) -> dict:
    """The notebook at ``path`` as a plain dict (raises ``ValueError`` when it is not JSON)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path.name} is not valid JSON: {exc}") from exc


ROSTER_FIELDS = ("id", "first_name", "last_name", "email")


def read_roster(course: Course) -> dict[str, dict]:
    """``students.csv`` of the course (columns ``id`` and, optionally, ``first_name``, ``last_name``,
    ``email``) by student id; ``{}`` without the file. A bad row raises ``ValueError`` naming it."""
    import csv

    path = course.root / "students.csv"
    if not path.is_file():
        return {}
    rows: dict[str, dict] = {}
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if "id" not in (reader.fieldnames or []):
            raise ValueError(
                f"{path.name} must have a column 'id' (and may have {ROSTER_FIELDS[1:]}), got {reader.fieldnames}"
            )
        for line, row in enumerate(reader, start=2):
            sid = (row.get("id") or "").strip()
            if not STUDENT_ID.match(sid):
                raise ValueError(
                    f"{path.name} line {line}: id {sid!r} must be letters, digits, '.', '_' or '-'"
                )
            if sid in rows:
                raise ValueError(f"{path.name} line {line}: student {sid!r} is listed twice")
            rows[sid] = {k: (row.get(k) or "").strip() or None for k in ROSTER_FIELDS[1:]}
    return rows


def sync_roster(course: Course) -> int:
    """Copy names and e-mail addresses of ``students.csv`` into the gradebook (the Formgrader
    shows them); returns how many students the roster holds."""
    roster = read_roster(course)
    if not roster or not course.db.exists():
        return len(roster)
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        for sid, row in roster.items():
            gb.update_or_create_student(sid, **row)
    return len(roster)
