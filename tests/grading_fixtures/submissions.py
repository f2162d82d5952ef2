"""Build test submissions from a course's released and source notebooks.

Used by ``tests/test_grading.py`` and ``bench/grading.py``. Every builder returns the notebook as
a dict (or bytes, for the one that is not JSON); the expected autograded score follows from the
source notebook's points, never from running the grader.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _src(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def gid(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def solution_text(source_nb: dict) -> dict[str, str]:
    """grade_id -> the instructor's answer with the solution markers removed."""
    return {
        gid(c): "\n".join(l for l in _src(c).splitlines() if not any(m in l for m in MARKERS))
        for c in source_nb["cells"]
        if c["metadata"].get("nbgrader", {}).get("solution")
    }


def test_points(source_nb: dict) -> dict[str, float]:
    """grade_id -> points of every autograded test cell."""
    return {
        gid(c): c["metadata"]["nbgrader"]["points"]
        for c in source_nb["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade") and not c["metadata"]["nbgrader"].get("solution")
    }


def tasks(source_nb: dict) -> list[str]:
    """Task prefixes ('task1', ...) in order, from the answer cells' grade_ids: the tasks whose code
    is graded automatically (an answer cell whose task has no test cell, such as an experiment whose
    analysis is graded by hand, is not one)."""
    tested = {g.split("_")[0] for g in test_points(source_nb)}
    out = []
    for c in source_nb["cells"]:
        nbg = c["metadata"].get("nbgrader", {})
        if nbg.get("solution") and c["cell_type"] == "code":
            prefix = gid(c).split("_")[0]
            if prefix not in out and prefix in tested:
                out.append(prefix)
    return out


def points_of(source_nb: dict, prefixes) -> float:
    return sum(p for g, p in test_points(source_nb).items() if g.split("_")[0] in prefixes)


def solved(released: dict, source_nb: dict, only=None) -> dict:
    """The released notebook with the instructor's answers filled in (``only``: task prefixes)."""
    nb, answers = copy.deepcopy(released), solution_text(source_nb)
    for c in nb["cells"]:
        g = gid(c)
        if g in answers and (only is None or g.split("_")[0] in only):
            c["source"] = answers[g]
    return nb


def replace_answer(nb: dict, prefix: str, code: str) -> dict:
    """Replace the first code answer cell of task ``prefix`` by ``code``."""
    nb = copy.deepcopy(nb)
    for c in nb["cells"]:
        if (
            gid(c)
            and gid(c).startswith(prefix + "_")
            and c["metadata"]["nbgrader"].get("solution")
            and c["cell_type"] == "code"
        ):
            c["source"] = code
            return nb
    raise KeyError(prefix)


def planted(nb: dict, replaces: str, source: str, prelude: str = "") -> dict:
    """``nb`` with the answer cell ``replaces`` holding ``source`` and, when ``prelude`` is given, a
    code cell the student added just before it (no nbgrader metadata).

    The arguments are the fields of a planted answer of ``tests/psets`` (``Variant.replaces``,
    ``.source``, ``.prelude``): ``planted(released, v.replaces, v.source, v.prelude)``.
    """
    nb = copy.deepcopy(nb)
    for i, c in enumerate(nb["cells"]):
        if gid(c) == replaces:
            if not c["metadata"].get("nbgrader", {}).get("solution"):
                raise ValueError(f"{replaces!r} is not an answer cell")
            c["source"] = source
            if prelude:
                added = {
                    "cell_type": "code",
                    "execution_count": None,
                    "id": f"added-before-{i}",
                    "metadata": {},
                    "outputs": [],
                    "source": prelude,
                }
                nb["cells"].insert(i, added)
            return nb
    raise KeyError(replaces)


def tests_edited_to_pass(nb: dict) -> dict:
    nb = copy.deepcopy(nb)
    for c in nb["cells"]:
        nbg = c["metadata"].get("nbgrader", {})
        if nbg.get("grade") and not nbg.get("solution"):
            c["source"] = "pass"
    return nb


def tests_deleted(nb: dict) -> dict:
    nb = copy.deepcopy(nb)
    nb["cells"] = [
        c
        for c in nb["cells"]
        if not (
            c["metadata"].get("nbgrader", {}).get("grade") and not c["metadata"]["nbgrader"].get("solution")
        )
    ]
    return nb


def duplicated_cells_wrong_kernel(nb: dict) -> dict:
    """A copy of the first answer cell and of the first test cell (same ids), and a foreign kernel."""
    nb = copy.deepcopy(nb)
    out = []
    done = set()
    for c in nb["cells"]:
        out.append(c)
        nbg = c["metadata"].get("nbgrader", {})
        kind = "answer" if nbg.get("solution") else "test" if nbg.get("grade") else None
        if kind and kind not in done:
            out.append(copy.deepcopy(c))
            done.add(kind)
    nb["cells"] = out
    nb["metadata"]["kernelspec"] = {"name": "julia-1.9", "display_name": "Julia 1.9", "language": "julia"}
    return nb


def loud(nb: dict, megabytes: int = 50) -> dict:
    """Prints ``megabytes`` MB before the first answer (in 1 MB lines)."""
    nb = copy.deepcopy(nb)
    for c in nb["cells"]:
        if c["metadata"].get("nbgrader", {}).get("solution") and c["cell_type"] == "code":
            c["source"] = f"for _i in range({megabytes}):\n    print('x' * 1_000_000)\n" + _src(c)
            return nb
    raise ValueError("no answer cell")


NOT_JSON = b'{"cells": [{"cell_type": "code", "source": "def forward(X'
INFINITE_LOOP = "while True:\n    pass\n"
RAISES = "raise RuntimeError('I could not finish this task')\n"


def write_submission(course: Path, student: str, assignment: str, nb) -> Path:
    folder = Path(course) / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment}.ipynb"
    path.write_bytes(nb if isinstance(nb, bytes) else json.dumps(nb, indent=1).encode())
    (folder / "timestamp.txt").write_text("2026-01-15 12:00:00.000000 UTC")
    return path
