"""The course folder, nbgrader invocations, the release check and ``collect``.

Part of :mod:`dlcourse.grading`; see that module for the workflow.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .preprocessors import BEGIN_HIDDEN, END_HIDDEN
from .proc import run_checked

__all__ = ["Course", "CollectReport", "collect", "release_leaks", "backup_gradebook", "DEFAULT_COURSE"]

DEFAULT_COURSE = Path(__file__).resolve().parents[2] / "assignments"
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
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


def _marked_regions(source: str, begin: str, end: str) -> list[list[str]]:
    regions, current = [], None
    for line in source.splitlines():
        if begin in line:
            current = []
        elif end in line and current is not None:
            regions.append(current)
            current = None
        elif current is not None:
            current.append(line.strip())
    return regions


def release_leaks(source_nb: dict, release_nb: dict, min_length: int = 12) -> list[str]:
    """Lines of solutions or hidden tests of ``source_nb`` that appear in ``release_nb``.

    A line counts when it is at least ``min_length`` characters long and does not also appear
    outside the marked regions of the source (a stub or an instruction may repeat it honestly).
    The markers themselves must not appear either.
    """
    secret, public = set(), []
    for cell in source_nb["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        regions = _marked_regions(src, BEGIN_SOLUTION, END_SOLUTION)
        regions += _marked_regions(src, BEGIN_HIDDEN, END_HIDDEN)
        for region in regions:
            secret.update(line for line in region if len(line) >= min_length)
        inside = False
        for line in src.splitlines():
            if BEGIN_SOLUTION in line or BEGIN_HIDDEN in line:
                inside = True
            elif END_SOLUTION in line or END_HIDDEN in line:
                inside = False
            elif not inside:
                public.append(line.strip())
    secret -= set(public)
    released = "\n".join(
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in release_nb["cells"]
    )
    leaks = [m for m in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN) if m in released]
    return leaks + sorted(line for line in secret if line in released)


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


@dataclass
class CollectReport:
    """What ``collect`` did: students collected, files it could not attribute, skipped files."""

    collected: dict[str, str] = field(default_factory=dict)  # student -> original file name
    unchanged: list[str] = field(default_factory=list)  # already collected, same bytes
    kept_existing: list[str] = field(default_factory=list)  # a different file was already there
    unknown: list[str] = field(default_factory=list)  # names carrying no (single) student id
    duplicates: list[str] = field(default_factory=list)  # older files of a student, not used


def _roster(course: Course) -> set[str]:
    """Student ids known to the course: ``students.csv`` (column ``id``) and the gradebook."""
    ids: set[str] = set()
    csv_path = course.root / "students.csv"
    if csv_path.exists():
        import csv

        with csv_path.open(newline="") as f:
            ids |= {row["id"].strip() for row in csv.DictReader(f) if row.get("id", "").strip()}
    if course.db.exists():
        with sqlite3.connect(course.db) as con:
            try:
                ids |= {row[0] for row in con.execute("SELECT id FROM student")}
            except sqlite3.OperationalError:
                pass
    return ids


def student_of(filename: str, assignment: str, roster: set[str]) -> str | None:
    """The student id a submitted file's name carries, or ``None`` when it carries none or several.

    With a roster, the id must appear in the name as a whole token (not inside a longer word).
    Without one, the id is what is left of the name once the assignment id (long or short form)
    and the ``.ipynb`` suffix are removed, e.g. ``ps1_backprop_alice.ipynb`` -> ``alice``.
    """
    stem = Path(filename).name
    if not stem.endswith(".ipynb"):
        return None
    stem = stem[: -len(".ipynb")]
    if roster:
        found = {s for s in roster if re.search(rf"(?<![A-Za-z0-9]){re.escape(s)}(?![A-Za-z0-9])", stem)}
        # the longest match wins when one id contains another ("ann" inside "ann-marie")
        found = {s for s in found if not any(s != t and s in t for t in found)}
        return found.pop() if len(found) == 1 else None
    for name in (assignment, assignment.split("_")[0]):
        stem = re.sub(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", "", stem)
    stem = stem.strip("_-. ")
    return stem if STUDENT_ID.match(stem) else None


def collect(course: Course, source: Path, assignment: str, replace: bool = False) -> CollectReport:
    """Copy an LMS export (a folder or a zip of notebooks) into ``submitted/<student>/<assignment>/``.

    Each student's file becomes ``<assignment>.ipynb`` with a ``timestamp.txt`` (the file's time),
    so that nbgrader finds it. Files already collected are never overwritten unless ``replace``
    is given, in which case the old copy is moved to ``backups/submitted-<time>/`` first.
    """
    source = Path(source)
    if not source.exists():
        raise ValueError(f"source must be a folder or a .zip file, got {source} (it does not exist)")
    report, roster = CollectReport(), _roster(course)
    with tempfile.TemporaryDirectory() as tmp:
        if source.is_file():
            if not zipfile.is_zipfile(source):
                raise ValueError(f"source must be a folder or a .zip file, got {source}")
            with zipfile.ZipFile(source) as zf:
                for info in zf.infolist():
                    if info.is_dir() or "__MACOSX" in info.filename:
                        continue
                    target = Path(tmp) / Path(info.filename).name
                    target.write_bytes(zf.read(info))
                    stamp = time.mktime(info.date_time + (0, 0, -1))
                    os.utime(target, (stamp, stamp))
            files = sorted(Path(tmp).iterdir())
        else:
            files = sorted(p for p in source.rglob("*") if p.is_file())
        chosen: dict[str, Path] = {}
        for path in files:
            student = student_of(path.name, assignment, roster)
            if student is None:
                report.unknown.append(path.name)
            elif student in chosen:
                older, newer = sorted([chosen[student], path], key=lambda p: p.stat().st_mtime)
                report.duplicates.append(older.name)
                chosen[student] = newer
            else:
                chosen[student] = path
        for student, path in sorted(chosen.items()):
            folder = course.submitted / student / assignment
            target = folder / f"{assignment}.ipynb"
            data = path.read_bytes()
            if target.exists():
                if target.read_bytes() == data:
                    report.unchanged.append(student)
                    continue
                if not replace:
                    report.kept_existing.append(student)
                    continue
                archive = course.backups / f"submitted-{datetime.now():%Y%m%d-%H%M%S}" / student
                archive.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(folder), str(archive))
            folder.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            stamp = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
            (folder / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
            report.collected[student] = path.name
    return report


def read_notebook_json(path: Path) -> dict:
    """The notebook at ``path`` as a plain dict (raises ``ValueError`` when it is not JSON)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path.name} is not valid JSON: {exc}") from exc
