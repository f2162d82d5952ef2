"""``grades``: the gradebook as one CSV, where an ungraded written answer is never a silent 0.

One row per student, one column per task (the ``task<N>`` prefix of the grade ids), a total per
assignment and overall. A hand-graded cell nobody has graded yet makes its task's column read
``pending`` and is listed in the ``pending`` column and, one line per cell, on the terminal; the
totals count only what is graded. A withheld score reads ``withheld`` (``grader error`` when the
grader failed) and is left out of the total.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .course import Course, sync_roster
from .plan import task_of
from .run import GRADER_ERROR
from .withheld import read_withheld

__all__ = ["grades", "PENDING"]

PENDING = "pending"


def grades(course: Course, output: Path | None = None) -> Path:
    """Write ``reports/grades.csv`` (or ``output``); print withheld scores and pending cells."""
    from nbgrader.api import Gradebook, MissingEntry

    sync_roster(course)
    output = Path(output) if output else course.reports / "grades.csv"
    rows, columns, maxima, lines = {}, [], {}, []
    with Gradebook(course.db_url) as gb:
        assignments = sorted(gb.assignments, key=lambda a: a.name)
        for a in assignments:
            for nb in a.notebooks:
                for cell in nb.grade_cells:
                    col = f"{a.name}:{task_of(cell.name)}"
                    if col not in maxima:
                        columns.append(col)
                        maxima[col] = 0.0
                    maxima[col] += cell.max_score
            columns.append(f"{a.name}:total")
            maxima[f"{a.name}:total"] = a.max_score
        held = {a.name: read_withheld(course, a.name) for a in assignments}
        for student in sorted(gb.students, key=lambda s: s.id):
            row = {"student_id": student.id, **{c: 0.0 for c in columns}, "withheld": "", PENDING: ""}
            pending = []
            for a in assignments:
                try:
                    sub = gb.find_submission(a.name, student.id)
                except MissingEntry:
                    continue
                for nb in sub.notebooks:
                    for grade in nb.grades:
                        col = f"{a.name}:{task_of(grade.name)}"
                        if grade.needs_manual_grade and grade.manual_score is None:
                            row[col] = PENDING
                            pending.append(f"{a.name}:{grade.name}")
                            lines.append(
                                f"PENDING   {student.id}: {a.name} {grade.name} ({grade.max_score:g} points) not graded yet"
                            )
                        elif row[col] != PENDING:
                            row[col] += grade.score
                row[f"{a.name}:total"] = sub.score
                if student.id in held[a.name]:
                    hold = held[a.name][student.id]
                    row[f"{a.name}:total"] = GRADER_ERROR if hold.grader_error else "withheld"
                    row["withheld"] += f"{a.name} ({hold.reason}) "
            row["total"] = sum(v for a in assignments if isinstance(v := row[f"{a.name}:total"], float))
            row["withheld"], row[PENDING] = row["withheld"].strip(), " ".join(pending)
            rows[student.id] = row
    fields = ["student_id", *columns, "total", "max_total", PENDING, "withheld"]
    output.parent.mkdir(parents=True, exist_ok=True)
    max_total = sum(maxima[f"{a.name}:total"] for a in assignments)
    with open(output, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fields)
        writer.writeheader()
        writer.writerow({"student_id": "(max)", **maxima, "total": max_total, "max_total": max_total})
        for row in rows.values():
            writer.writerow({**row, "max_total": max_total})
    print(f"grades of {len(rows)} students in {len(assignments)} assignments written to {output}")
    for row in rows.values():
        if row["withheld"]:
            label = "HELD" if GRADER_ERROR in row["withheld"] else "WITHHELD"
            print(f"{label:<9} {row['student_id']}: {row['withheld']} (not counted in total)")
    for line in lines:
        print(line)
    if lines:
        print(
            f"{len(lines)} hand-graded cell(s) not graded yet: grade them in the Formgrader (make formgrader)"
        )
    return output
