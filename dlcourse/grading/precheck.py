"""Pre-check of one submission before nbgrader sees it.

nbgrader 0.9.6 stops a whole batch on a notebook with two cells of one ``grade_id``, exits 1 on a
file that is not JSON, and does not put back a deleted test cell unless told to. The pre-check
reads the student's file (never writing to it), compares it with the released notebook, and
writes a repaired copy for nbgrader to grade:

- not JSON, or not a notebook: reported, not graded (score 0);
- wrong kernel: the released kernelspec is restored;
- duplicated ``grade_id``: a copy of a read-only or test cell is dropped; a copy of an answer
  cell keeps its code but becomes an ordinary cell (the first copy stays the graded one);
- ``grade_id`` unknown to the assignment: the cell becomes an ordinary cell;
- read-only or test cell edited, or its metadata changed: restored from the release (nbgrader
  then restores the hidden tests from the gradebook);
- answer cell whose grading metadata (points, flags) was changed: metadata restored, answer kept;
- graded cell deleted: put back after the cell that precedes it in the release.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Precheck", "precheck_notebook", "precheck_file"]


@dataclass
class Precheck:
    """Outcome of the pre-check of one submission."""

    notebook: dict | None  # the repaired notebook, or None when it cannot be graded
    repairs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def gradable(self) -> bool:
        return self.notebook is not None


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _grade_id(cell: dict) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta.get("grade_id") if isinstance(meta, dict) else None


def _grading_meta(meta: dict) -> dict:
    keys = ("grade", "solution", "locked", "grade_id", "points", "task")
    return {k: meta.get(k) for k in keys}


def precheck_notebook(nb: dict, released: dict) -> Precheck:
    """Compare a submitted notebook (parsed JSON) with the released one; return a repaired copy."""
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return Precheck(None, problems=["not a Jupyter notebook (no list of cells)"])
    nb = copy.deepcopy(nb)
    out = Precheck(nb)
    ref_cells = {_grade_id(c): c for c in released["cells"] if _grade_id(c)}
    ref_order = [_grade_id(c) for c in released["cells"] if _grade_id(c)]

    meta = nb.setdefault("metadata", {})
    want = released.get("metadata", {}).get("kernelspec", {})
    have = meta.get("kernelspec", {}) if isinstance(meta.get("kernelspec"), dict) else {}
    if have.get("name") != want.get("name"):
        out.repairs.append(f"kernel {have.get('name')!r} replaced by {want.get('name')!r}")
        meta["kernelspec"] = copy.deepcopy(want)
    nb["nbformat"], nb["nbformat_minor"] = 4, max(int(nb.get("nbformat_minor", 5) or 5), 5)

    kept, seen, ids = [], set(), set()
    for cell in nb["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            out.repairs.append("dropped a malformed cell")
            continue
        cell.setdefault("metadata", {})
        cell["source"] = _source(cell)
        if cell["cell_type"] == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
        if not cell.get("id") or cell["id"] in ids:
            cell["id"] = uuid.uuid4().hex[:12]
        ids.add(cell["id"])
        gid = _grade_id(cell)
        if gid is None:
            cell["metadata"].pop("nbgrader", None)
            kept.append(cell)
            continue
        ref = ref_cells.get(gid)
        if ref is None:
            out.repairs.append(f"cell with unknown grade_id {gid!r} made an ordinary cell")
            cell["metadata"].pop("nbgrader")
            kept.append(cell)
            continue
        locked = ref["metadata"]["nbgrader"].get("locked", False) and not ref["metadata"]["nbgrader"].get(
            "solution"
        )
        if gid in seen:
            if locked:
                out.repairs.append(f"removed a duplicate of read-only cell {gid!r}")
                continue
            out.repairs.append(f"duplicate of answer cell {gid!r} made an ordinary cell (code kept)")
            cell["metadata"].pop("nbgrader")
            kept.append(cell)
            continue
        seen.add(gid)
        if locked:
            fresh = copy.deepcopy(ref)
            if (
                _source(cell) != _source(ref)
                or cell["cell_type"] != ref["cell_type"]
                or _grading_meta(cell["metadata"]["nbgrader"]) != _grading_meta(ref["metadata"]["nbgrader"])
            ):
                kind = "test" if ref["metadata"]["nbgrader"].get("grade") else "read-only"
                out.repairs.append(f"restored edited {kind} cell {gid!r}")
            fresh["id"] = cell["id"]
            kept.append(fresh)
        else:
            if _grading_meta(cell["metadata"]["nbgrader"]) != _grading_meta(ref["metadata"]["nbgrader"]):
                out.repairs.append(f"restored the grading metadata of answer cell {gid!r}")
                cell["metadata"]["nbgrader"] = copy.deepcopy(ref["metadata"]["nbgrader"])
            if cell["cell_type"] != ref["cell_type"]:
                out.repairs.append(f"answer cell {gid!r} turned back into a {ref['cell_type']} cell")
                cell["cell_type"] = ref["cell_type"]
                if ref["cell_type"] == "code":
                    cell.setdefault("outputs", [])
                    cell.setdefault("execution_count", None)
                else:
                    cell.pop("outputs", None)
                    cell.pop("execution_count", None)
            kept.append(cell)

    for pos, gid in enumerate(ref_order):
        if gid in seen:
            continue
        fresh = copy.deepcopy(ref_cells[gid])
        fresh["id"] = uuid.uuid4().hex[:12]
        before = [g for g in ref_order[:pos] if g in seen]
        index = 0
        if before:
            index = next(i for i, c in enumerate(kept) if _grade_id(c) == before[-1]) + 1
        kept.insert(index, fresh)
        seen.add(gid)
        out.repairs.append(f"restored deleted cell {gid!r}")
    nb["cells"] = kept
    return out


def precheck_file(path: Path, released: dict) -> Precheck:
    """Read a submitted file (never writing to it) and pre-check it."""
    try:
        nb = json.loads(Path(path).read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        return Precheck(None, problems=[f"not valid JSON (not UTF-8 text: {exc.reason})"])
    except json.JSONDecodeError as exc:
        return Precheck(None, problems=[f"not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})"])
    if isinstance(nb, dict) and nb.get("nbformat", 4) != 4:
        return Precheck(None, problems=[f"nbformat {nb.get('nbformat')} is not supported (need 4)"])
    return precheck_notebook(nb, released)
