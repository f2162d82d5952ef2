"""What the trusted harness is given for one submission: its cells, by kind, and the instructor's.

The instructor's cells (set-up cells and test cells, hidden tests included) come from the
gradebook, exactly as nbgrader's ``OverwriteCells`` restores them; the student's cells from the
pre-checked copy in ``staged/``. The working files are the student's (not notebooks) overlaid by
the instructor's (the non-notebook files of ``source/<assignment>/``), as nbgrader's autograde
copies them.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from . import markers
from .course import Course

__all__ = [
    "Assignment",
    "load_assignment",
    "cells_of",
    "working_files",
    "task_of",
    "MAX_FILES",
    "MAX_FILE_BYTES",
]

MAX_FILES, MAX_FILE_BYTES = 500, 200 * 2**20


def task_of(grade_id: str) -> str:
    """``task2_visible`` -> ``task2``: the task a graded cell belongs to (the key of ``BANNED``
    and of the task columns of the grades)."""
    return grade_id.split("_")[0]


@dataclass(frozen=True)
class Assignment:
    """What every submission of one assignment shares, read once before grading starts."""

    id: str
    sources: dict  # grade_id -> {"source", "cell_type", "locked"} (the gradebook's source cells)
    released: dict  # the released notebook (the pre-check compares submissions with it)
    files: dict  # relative path -> bytes: the instructor's working files


def _regular_files(folder: Path) -> dict[str, bytes]:
    """Regular files below ``folder`` (no notebooks, no symbolic links, within the limits)."""
    found: dict[str, bytes] = {}
    total = 0
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(
            d for d in dirs if d != ".ipynb_checkpoints" and not os.path.islink(os.path.join(root, d))
        )
        for name in sorted(names):
            path = os.path.join(root, name)
            info = os.lstat(path)
            if name.endswith(".ipynb") or not stat.S_ISREG(info.st_mode):
                continue
            if len(found) >= MAX_FILES or total + info.st_size > MAX_FILE_BYTES:
                continue
            total += info.st_size
            with open(path, "rb", opener=lambda p, f: os.open(p, f | os.O_NOFOLLOW)) as handle:
                found[os.path.relpath(path, folder)] = handle.read()
    return found


def load_assignment(course: Course, aid: str) -> Assignment:
    """Read the gradebook's source cells, the released notebook and the instructor's files."""
    from nbgrader.api import Gradebook

    from .course import read_notebook_json

    with Gradebook(course.db_url) as gb:
        notebook = gb.find_notebook(aid, aid)
        sources = {
            c.name: {"source": c.source or "", "cell_type": c.cell_type, "locked": bool(c.locked)}
            for c in notebook.source_cells
        }
    released = read_notebook_json(course.notebook("release", aid))
    return Assignment(aid, sources, released, _regular_files(course.source / aid))


def working_files(course: Course, assignment: Assignment, student: str) -> dict[str, bytes]:
    """The files of the student's working folder."""
    return {**_regular_files(course.staged / student / assignment.id), **assignment.files}


def cells_of(staged: dict, assignment: Assignment) -> list[dict]:
    """The harness's view of each cell: ``index``, ``kind`` (markdown, setup, answer, added, test),
    ``source``, ``grade_id``, ``hidden``."""
    cells = []
    for index, cell in enumerate(staged["cells"]):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        gid = meta.get("grade_id")
        source = markers.cell_source(cell)
        if cell.get("cell_type") != "code":
            kind = "markdown"
        elif gid is None or gid not in assignment.sources:
            kind = "added"
        elif meta.get("solution"):
            kind = "answer"
        elif meta.get("grade"):
            kind, source = "test", assignment.sources[gid]["source"]
        elif assignment.sources[gid]["locked"]:
            kind, source = "setup", assignment.sources[gid]["source"]
        else:
            kind = "added"
        cells.append(
            {
                "index": index,
                "kind": kind,
                "source": source,
                "grade_id": gid,
                "hidden": markers.has_hidden(source),
            }
        )
    return cells
