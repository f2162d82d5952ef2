"""Scores held back until the instructor decides: ``reports/<assignment>/withheld.csv``.

A score is withheld when the grader failed (a *grader error*: not the student's doing, grade
again) or when the static scan found code that can reach the grader's in-process checks in a
submission that scored (:mod:`dlcourse.grading.cheats`). Rows are written as each student
finishes (an interrupted run keeps them), atomically, one writer at a time.
"""

from __future__ import annotations

import csv
import os
import threading
from dataclasses import dataclass

from .course import Course
from .run import GRADER_ERROR, StudentResult

__all__ = ["Withheld", "read_withheld", "record_withheld", "release_withheld", "FIELDS"]

FIELDS = ["student", "reason", "score", "max_score"]
_LOCK = threading.Lock()


@dataclass
class Withheld:
    """One row of ``withheld.csv``."""

    student: str
    reason: str
    score: float
    max_score: float

    @property
    def grader_error(self) -> bool:
        """Held because the grader failed, not because of anything the student did."""
        return self.reason.startswith(GRADER_ERROR)


def read_withheld(course: Course, assignment: str) -> dict[str, Withheld]:
    """Withheld scores of ``assignment`` by student."""
    path = course.reports / assignment / "withheld.csv"
    if not path.exists():
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        return {
            r["student"]: Withheld(
                r["student"], r["reason"], float(r["score"] or 0), float(r["max_score"] or 0)
            )
            for r in csv.DictReader(f)
        }


def _write(course: Course, assignment: str, rows: dict[str, Withheld]) -> None:
    folder = course.reports / assignment
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".withheld-{os.getpid()}-{threading.get_ident()}.csv"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, FIELDS)
        writer.writeheader()
        for sid in sorted(rows):
            writer.writerow(vars(rows[sid]))
    os.replace(tmp, folder / "withheld.csv")


def record_withheld(course: Course, result: StudentResult) -> None:
    """The student's row replaces the one of an earlier run (or is removed when nothing is withheld)."""
    with _LOCK:
        rows = read_withheld(course, result.assignment)
        rows.pop(result.student, None)
        if result.withheld:
            rows[result.student] = Withheld(result.student, result.withheld, result.score, result.max_score)
        _write(course, result.assignment, rows)


def release_withheld(course: Course, assignment: str, student: str) -> Withheld:
    """Release a withheld score as it stands in the gradebook (set a cell's score in the
    Formgrader first to change it); returns the row that was removed."""
    with _LOCK:
        rows = read_withheld(course, assignment)
        if student not in rows:
            raise ValueError(
                f"student {student!r} has no withheld score in {assignment}; withheld: {sorted(rows) or 'none'}"
            )
        row = rows.pop(student)
        _write(course, assignment, rows)
    return row
