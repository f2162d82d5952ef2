"""The autograde report: ``reports/<assignment>/latest.csv`` (rewritten as each student finishes,
so an interrupted run keeps what it graded), a time-stamped copy at the end, and the table printed
on the terminal."""

from __future__ import annotations

import csv
import os
import threading
from datetime import datetime

from .course import Course
from .run import GRADER_ERROR, StudentResult

__all__ = ["Report", "print_table", "FIELDS"]

FIELDS = [
    "assignment",
    "student",
    "status",
    "score",
    "max_score",
    "manual_max",
    "failures",
    "timeouts",
    "violations",
    "repairs",
    "flags",
    "findings",
    "seconds",
    "phases",
    "withheld",
]


def _row(r: StudentResult) -> dict:
    row = {k: getattr(r, k) for k in FIELDS}
    for k in ("failures", "timeouts", "violations", "repairs", "flags", "findings"):
        row[k] = "; ".join(row[k])
    row["seconds"] = f"{r.seconds:.1f}"
    row["phases"] = " ".join(f"{k} {v:.2f}" for k, v in r.phases.items() if k != "total")
    row["withheld"] = f"withheld: {r.withheld}" if r.withheld else ""
    return row


class Report:
    """The rows of one autograde run, kept on disk as they come."""

    def __init__(self, course: Course):
        self.course, self.rows = course, {}
        self._lock = threading.Lock()
        self.stamp = datetime.now().strftime("%Y%m%d-%H%M%S")

    def add(self, result: StudentResult) -> None:
        with self._lock:
            self.rows[(result.assignment, result.student)] = result
            self._write(result.assignment, "latest.csv")

    def _write(self, aid: str, name: str) -> None:
        folder = self.course.reports / aid
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.{os.getpid()}"
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, FIELDS)
            writer.writeheader()
            for (a, _), r in sorted(self.rows.items()):
                if a == aid:
                    writer.writerow(_row(r))
        os.replace(tmp, folder / name)

    def finish(self) -> None:
        with self._lock:
            for aid in sorted({a for a, _ in self.rows}):
                self._write(aid, "latest.csv")
                self._write(aid, f"autograde-{self.stamp}.csv")
                print(f"report: {(self.course.reports / aid / 'latest.csv').relative_to(self.course.root)}")


def print_table(results: list[StudentResult]) -> None:
    """Print the autograde report as a fixed-width table."""
    head = f"{'assignment':<20} {'student':<16} {'status':<12} {'score':>11} {'time':>6}  notes"
    print(head)
    print("-" * len(head))
    for r in results:
        notes = [f"failed: {', '.join(r.failures)}"] if r.failures else []
        notes += [f"time limit: {', '.join(r.timeouts)}"] if r.timeouts else []
        notes += r.repairs + r.flags
        score = f"{r.score:g}/{r.max_score:g}"
        if r.status == GRADER_ERROR:
            notes.insert(0, r.withheld)
            score = "held"
        elif r.withheld:
            notes.insert(0, f"withheld: {r.withheld} (score {score})")
            score = "withheld"
        print(
            f"{r.assignment:<20} {r.student:<16} {r.status:<12} {score:>11} {r.seconds:>5.1f}s  "
            + " | ".join(notes)
        )
    done = sum(r.processed for r in results)
    held = sum(bool(r.withheld) and r.status != GRADER_ERROR for r in results)
    print(
        f"{done} of {len(results)} submissions processed"
        + (f"; {held} score(s) withheld for review: python -m dlcourse.grading withheld" if held else "")
    )
    for r in results:
        if r.status == GRADER_ERROR:
            print(
                f"GRADER ERROR {r.assignment} {r.student}: the grader failed, not the student; grade again "
                f"with `make autograde A={r.assignment} STUDENT={r.student}`"
            )
