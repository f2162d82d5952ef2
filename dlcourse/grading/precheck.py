"""Pre-check of one submission before anything else reads it: structure, repairs, cleaning.

nbgrader 0.9.6 stops a whole batch on a notebook with two cells of one ``grade_id`` or a cell
whose metadata is ``null``, exits 1 on a file that is not JSON, and does not put back a deleted
test cell unless told to. The pre-check reads the student's file (never writing to it), checks
its structure strictly, compares it with the released notebook and returns a repaired, cleaned
copy for grading (written to ``staged/``):

- larger than ``submission_bytes``, not JSON, not a notebook, or a notebook whose structure is
  broken (a cell that is not an object, ``metadata`` that is not an object, a source that is not
  text, ``nbformat_minor`` that is not a number ...): reported, not graded (score 0);
- wrong kernel, foreign notebook metadata: the released metadata is restored;
- duplicated ``grade_id``: a copy of a read-only or test cell is dropped; a copy of an answer cell
  keeps its code but becomes an ordinary cell (the first copy stays the graded one);
- ``grade_id`` unknown to the assignment: the cell becomes an ordinary cell;
- read-only or test cell edited, or its metadata changed: restored from the release;
- answer cell whose grading metadata was changed: metadata restored, answer kept;
- graded cell deleted: put back after the cell that precedes it in the release;
- what the student wrote that a browser would render is cleaned (:mod:`.sanitize`): markdown
  and raw cells the student changed or added, attachments within ``media_bytes``; outputs and
  other cell metadata stored in the file are dropped (grading makes its own).
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from . import sanitize

__all__ = ["Precheck", "precheck_notebook", "precheck_file", "structure_problems"]

_GRADING_KEYS = ("grade", "solution", "locked", "grade_id", "points", "task")


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


def structure_problems(nb) -> list[str]:
    """What makes ``nb`` (parsed JSON) not a notebook that can be graded ([] when it is one)."""
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return ["not a Jupyter notebook (no list of cells)"]
    problems = []
    if type(nb.get("nbformat", 4)) is not int or nb.get("nbformat", 4) != 4:
        problems.append(f"nbformat {nb.get('nbformat')!r} is not supported (need 4)")
    if type(nb.get("nbformat_minor", 5)) is not int:
        problems.append(f"nbformat_minor {nb.get('nbformat_minor')!r} is not a number")
    if not isinstance(nb.get("metadata", {}), dict):
        problems.append("the notebook's metadata is not an object")
    for i, cell in enumerate(nb["cells"]):
        where = f"cell {i + 1}"
        if not isinstance(cell, dict):
            problems.append(f"{where} is not an object")
            continue
        if cell.get("cell_type") not in ("code", "markdown", "raw"):
            problems.append(f"{where}: cell_type {cell.get('cell_type')!r} is not code, markdown or raw")
        if not isinstance(cell.get("metadata", {}), dict):
            problems.append(f"{where}: metadata is {json.dumps(cell.get('metadata'))[:40]}, not an object")
        elif not isinstance(cell.get("metadata", {}).get("nbgrader", {}), dict):
            problems.append(f"{where}: its nbgrader metadata is not an object")
        src = cell.get("source", "")
        if not (isinstance(src, str) or (isinstance(src, list) and all(isinstance(s, str) for s in src))):
            problems.append(f"{where}: source is not text")
        if "id" in cell and not isinstance(cell["id"], str):
            problems.append(f"{where}: id is not text")
    return problems[:10]


def _clean(cell: dict, ref: dict | None, budget: list[int], out: Precheck) -> dict:
    """The cell as grading keeps it: no stored outputs, no metadata but nbgrader's, a student's
    markdown or raw text cleaned unless it is the released text itself."""
    kind = cell["cell_type"]
    cleaned = {"cell_type": kind, "id": cell["id"], "metadata": {}, "source": cell["source"]}
    if "nbgrader" in cell["metadata"]:
        cleaned["metadata"]["nbgrader"] = cell["metadata"]["nbgrader"]
    if kind == "code":
        cleaned.update(outputs=[], execution_count=None)
        return cleaned
    if ref is not None and _source(ref) == cleaned["source"] and not cell.get("attachments"):
        return cleaned
    if kind == "markdown":
        before = budget[0]
        cleaned["source"] = sanitize.markdown_cell(cell, budget)
        attached = cell.get("attachments")
        if isinstance(attached, dict) and attached and budget[0] == before:
            out.repairs.append(
                f"attachments of {_grade_id(cell) or 'a markdown cell'} removed (over the size limit)"
            )
    else:
        cleaned["source"] = sanitize.raw_cell(cleaned["source"])
    return cleaned


def precheck_notebook(nb: dict, released: dict, media_bytes: int = 4_000_000) -> Precheck:
    """Compare a submitted notebook (parsed JSON) with the released one; return a repaired copy."""
    problems = structure_problems(nb)
    if problems:
        return Precheck(None, problems=problems)
    nb = copy.deepcopy(nb)
    out = Precheck(nb)
    ref_cells = {_grade_id(c): c for c in released["cells"] if _grade_id(c)}
    ref_order = [_grade_id(c) for c in released["cells"] if _grade_id(c)]
    meta = nb.get("metadata") or {}
    want = released.get("metadata", {}).get("kernelspec", {})
    have = meta.get("kernelspec", {}) if isinstance(meta.get("kernelspec"), dict) else {}
    if have.get("name") != want.get("name"):
        out.repairs.append(f"kernel {have.get('name')!r} replaced by {want.get('name')!r}")
    nb["metadata"] = copy.deepcopy(released.get("metadata", {}))
    nb["nbformat"], nb["nbformat_minor"] = 4, max(nb.get("nbformat_minor", 5), 5)
    budget = [media_bytes]

    kept, seen, ids = [], set(), set()
    for cell in nb["cells"]:
        cell.setdefault("metadata", {})
        cell["source"] = _source(cell)
        if not cell.get("id") or cell["id"] in ids or len(cell["id"]) > 64:
            cell["id"] = uuid.uuid4().hex[:12]
        ids.add(cell["id"])
        gid = _grade_id(cell)
        if gid is None:
            cell["metadata"].pop("nbgrader", None)
            kept.append(_clean(cell, None, budget, out))
            continue
        ref = ref_cells.get(gid)
        if ref is None:
            out.repairs.append(f"cell with unknown grade_id {str(gid)[:40]!r} made an ordinary cell")
            cell["metadata"].pop("nbgrader")
            kept.append(_clean(cell, None, budget, out))
            continue
        ref_meta = ref["metadata"]["nbgrader"]
        locked = ref_meta.get("locked", False) and not ref_meta.get("solution")
        if gid in seen:
            if locked:
                out.repairs.append(f"removed a duplicate of read-only cell {gid!r}")
                continue
            out.repairs.append(f"duplicate of answer cell {gid!r} made an ordinary cell (code kept)")
            cell["metadata"].pop("nbgrader")
            kept.append(_clean(cell, None, budget, out))
            continue
        seen.add(gid)
        if locked:
            fresh = copy.deepcopy(ref)
            mine = cell["metadata"]["nbgrader"]
            if (
                cell["source"] != _source(ref)
                or cell["cell_type"] != ref["cell_type"]
                or {k: mine.get(k) for k in _GRADING_KEYS} != {k: ref_meta.get(k) for k in _GRADING_KEYS}
            ):
                kind = "test" if ref_meta.get("grade") else "read-only"
                out.repairs.append(f"restored edited {kind} cell {gid!r}")
            fresh["id"] = cell["id"]
            fresh["source"] = _source(fresh)
            kept.append(fresh)
            continue
        mine = cell["metadata"]["nbgrader"]
        if {k: mine.get(k) for k in _GRADING_KEYS} != {k: ref_meta.get(k) for k in _GRADING_KEYS}:
            out.repairs.append(f"restored the grading metadata of answer cell {gid!r}")
        cell["metadata"]["nbgrader"] = copy.deepcopy(ref_meta)
        if cell["cell_type"] != ref["cell_type"]:
            out.repairs.append(f"answer cell {gid!r} turned back into a {ref['cell_type']} cell")
            cell["cell_type"] = ref["cell_type"]
        kept.append(_clean(cell, ref, budget, out))

    for pos, gid in enumerate(ref_order):
        if gid in seen:
            continue
        fresh = copy.deepcopy(ref_cells[gid])
        fresh["id"] = uuid.uuid4().hex[:12]
        fresh["source"] = _source(fresh)
        before = [g for g in ref_order[:pos] if g in seen]
        index = 0
        if before:
            index = next(i for i, c in enumerate(kept) if _grade_id(c) == before[-1]) + 1
        kept.insert(index, fresh)
        seen.add(gid)
        out.repairs.append(f"restored deleted cell {gid!r}")
    nb["cells"] = kept
    return out


def precheck_file(
    path: Path, released: dict, max_bytes: int = 50_000_000, media_bytes: int = 4_000_000
) -> Precheck:
    """Read a submitted file (never writing to it) and pre-check it."""
    size = Path(path).stat().st_size
    if size > max_bytes:
        return Precheck(
            None,
            problems=[
                f"the file is {size / 2**20:.0f} MiB, over the {max_bytes / 2**20:.0f} MiB limit (submission_bytes)"
            ],
        )
    try:
        nb = json.loads(Path(path).read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        return Precheck(None, problems=[f"not valid JSON (not UTF-8 text: {exc.reason})"])
    except (json.JSONDecodeError, RecursionError) as exc:
        detail = (
            f"{exc.msg}, line {exc.lineno} column {exc.colno}"
            if isinstance(exc, json.JSONDecodeError)
            else "nested too deeply"
        )
        return Precheck(None, problems=[f"not valid JSON ({detail})"])
    return precheck_notebook(nb, released, media_bytes)
