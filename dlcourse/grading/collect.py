"""``collect``: an LMS export (a folder or a zip of notebooks) into ``submitted/<student>/<assignment>/``.

A file is attributed to a student by its name (``ps1_backprop_alice.ipynb``) and, where the
export has a folder per student, by that folder, with the roster's ids when there is one
(``students.csv``). Nothing is trusted that the file's owner could choose to hurt someone else:

- a member's path is never used to write anything (no zip-slip): each file is read into memory and
  written to a path made from the student id;
- a file whose folder names one student and whose name another is not collected (reported);
- two files that name one student from different folders are both reported and neither collected
  (the same student's older copies in one folder are reported as older);
- symbolic links, devices and other special files are never followed nor read, in a folder export
  or in a zip; a file over the size limit is not read;
- a file already collected is never overwritten unless ``replace`` is given (the old copy is moved
  to ``backups/`` first).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import stat
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from .course import STUDENT_ID, Course, read_roster

__all__ = ["CollectReport", "collect", "student_of", "MAX_FILE_BYTES"]

MAX_FILE_BYTES = 50 * 2**20


@dataclass
class CollectReport:
    """What ``collect`` did, file by file."""

    collected: dict[str, str] = field(default_factory=dict)  # student -> original file
    unchanged: list[str] = field(default_factory=list)  # already collected, same bytes
    kept_existing: list[str] = field(default_factory=list)  # a different file was already there
    unknown: list[str] = field(default_factory=list)  # names carrying no (single) student id
    duplicates: list[str] = field(default_factory=list)  # older files of a student, not used
    conflicts: list[str] = field(default_factory=list)  # files that claim one student, not collected
    skipped: list[str] = field(default_factory=list)  # links, special or too large files


@dataclass
class _File:
    path: str  # as shown in the report
    folder: str
    data: bytes
    mtime: float


def _ids_in(text: str, roster: set[str]) -> set[str]:
    found = {s for s in roster if re.search(rf"(?<![A-Za-z0-9]){re.escape(s)}(?![A-Za-z0-9])", text)}
    return {s for s in found if not any(s != t and s in t for t in found)}  # "ann" inside "ann-marie"


def student_of(filename: str, assignment: str, roster: set[str]) -> str | None:
    """The student id a submitted file's name carries, or ``None`` when it carries none or several.

    With a roster, the id must appear in the name as a whole token (not inside a longer word).
    Without one, the id is what is left of the name once the assignment id (long or short form)
    and the ``.ipynb`` suffix are removed, e.g. ``ps1_backprop_alice.ipynb`` -> ``alice``.
    """
    stem = PurePosixPath(filename).name
    if not stem.endswith(".ipynb"):
        return None
    stem = stem[: -len(".ipynb")]
    if roster:
        found = _ids_in(stem, roster)
        return found.pop() if len(found) == 1 else None
    for name in (assignment, assignment.split("_")[0]):
        stem = re.sub(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", "", stem)
    stem = stem.strip("_-. ")
    return stem if STUDENT_ID.match(stem) else None


def _from_zip(source: Path, report: CollectReport) -> list[_File]:
    files = []
    with zipfile.ZipFile(source) as zf:
        for info in zf.infolist():
            name = info.filename
            if info.is_dir() or "__MACOSX" in name:
                continue
            kind = stat.S_IFMT(info.external_attr >> 16)  # 0: an archiver that records no type
            if kind and kind != stat.S_IFREG:
                report.skipped.append(f"{name} (not a regular file)")
                continue
            if info.file_size > MAX_FILE_BYTES:
                report.skipped.append(f"{name} (larger than {MAX_FILE_BYTES // 2**20} MiB)")
                continue
            with zf.open(info) as member:
                data = member.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                report.skipped.append(f"{name} (larger than {MAX_FILE_BYTES // 2**20} MiB)")
                continue
            parts = PurePosixPath(name.replace("\\", "/")).parts
            folder = parts[-2] if len(parts) > 1 else ""
            files.append(_File(name, folder, data, time.mktime(info.date_time + (0, 0, -1))))
    return files


def _from_folder(source: Path, report: CollectReport) -> list[_File]:
    files = []
    for root, dirs, names in os.walk(source, followlinks=False):
        for d in list(dirs):
            if os.path.islink(os.path.join(root, d)):
                report.skipped.append(f"{os.path.relpath(os.path.join(root, d), source)}/ (symbolic link)")
                dirs.remove(d)
        for name in sorted(names):
            path = os.path.join(root, name)
            shown = os.path.relpath(path, source)
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode):
                report.skipped.append(
                    f"{shown} ({'symbolic link' if stat.S_ISLNK(info.st_mode) else 'not a regular file'})"
                )
                continue
            if info.st_size > MAX_FILE_BYTES:
                report.skipped.append(f"{shown} (larger than {MAX_FILE_BYTES // 2**20} MiB)")
                continue
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                report.skipped.append(f"{shown} (could not be read)")
                continue
            with os.fdopen(fd, "rb") as f:
                data = f.read(MAX_FILE_BYTES + 1)
            folder = os.path.basename(root) if os.path.abspath(root) != os.path.abspath(source) else ""
            files.append(_File(shown, folder, data, info.st_mtime))
    return files


def _attribute(
    files: list[_File], assignment: str, roster: set[str], report: CollectReport
) -> dict[str, _File]:
    per_student_folders = len({f.folder for f in files if f.path.endswith(".ipynb")}) > 1
    claims: dict[str, list[_File]] = {}
    for f in files:
        by_name = student_of(f.path, assignment, roster)
        by_folder = None
        if f.folder and f.path.endswith(".ipynb"):
            ids = (
                _ids_in(f.folder, roster)
                if roster
                else ({f.folder} if per_student_folders and STUDENT_ID.match(f.folder) else set())
            )
            by_folder = ids.pop() if len(ids) == 1 else None
        if by_name and by_folder and by_name != by_folder:
            report.conflicts.append(
                f"{f.path}: its folder names {by_folder}, its name {by_name}: not collected"
            )
            continue
        student = by_folder or by_name
        if student is None:
            report.unknown.append(f.path)
        else:
            claims.setdefault(student, []).append(f)
    chosen = {}
    for student, found in claims.items():
        if len({f.folder for f in found}) > 1:
            names = ", ".join(f.path for f in found)
            report.conflicts.append(
                f"{student}: {names} all name this student: none collected, decide by hand"
            )
            continue
        found.sort(key=lambda f: f.mtime)
        report.duplicates += [f.path for f in found[:-1]]
        chosen[student] = found[-1]
    return chosen


def collect(course: Course, source: Path, assignment: str, replace: bool = False) -> CollectReport:
    """Copy an LMS export into ``submitted/``; see the module docstring for the rules."""
    source = Path(source)
    if not source.exists() or source.is_symlink():
        raise ValueError(f"source must be a folder or a .zip file, got {source} (it does not exist)")
    report, roster = CollectReport(), set(read_roster(course))
    if course.db.exists():
        with contextlib.closing(sqlite3.connect(course.db)) as con:
            try:
                roster |= {row[0] for row in con.execute("SELECT id FROM student")}
            except sqlite3.DatabaseError:
                pass
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise ValueError(f"source must be a folder or a .zip file, got {source}")
        files = _from_zip(source, report)
    else:
        files = _from_folder(source, report)
    for student, f in sorted(_attribute(files, assignment, roster, report).items()):
        folder = course.submitted / student / assignment
        target = folder / f"{assignment}.ipynb"
        if target.exists():
            if target.read_bytes() == f.data:
                report.unchanged.append(student)
                continue
            if not replace:
                report.kept_existing.append(student)
                continue
            archive = course.backups / f"submitted-{datetime.now():%Y%m%d-%H%M%S}" / student / assignment
            archive.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(folder), str(archive))
        folder.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.data)
        stamp = datetime.fromtimestamp(f.mtime, tz=timezone.utc)
        (folder / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
        report.collected[student] = f.path
    return report
