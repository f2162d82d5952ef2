"""Solutions gated across cells, folded in a form that both renderers fold."""

from __future__ import annotations

from .parse import Block, blocks, fence_for

__all__ = ["HIDDEN", "HIDE_TAG", "CODE_HEADER", "fold_gated_solutions"]

HIDDEN = {"source_hidden": True, "outputs_hidden": True}  # JupyterLab's collapsed input and output
HIDE_TAG = "hide-cell"  # myst-nb: input and output behind a "Show code cell content" button
# JupyterLab's folded cell still shows its first line: this comment, so that no code shows.
CODE_HEADER = "# Solution: the code behind the answer below"


def _open_gate(text: str) -> Block | None:
    """The ``{solution-start}`` of ``text`` that no ``{solution-end}`` after it closes, if any."""
    top = blocks(text.split("\n"))
    starts = [b for b in top if b.name == "solution-start"]
    if not starts or any(b.name == "solution-end" and b.start > starts[-1].start for b in top):
        return None
    return starts[-1]


def _hide_code(cell) -> None:
    if not cell.source.startswith(CODE_HEADER):
        cell.source = f"{CODE_HEADER}\n{cell.source}"
    cell.metadata.setdefault("jupyter", {}).update(HIDDEN)
    tags = cell.metadata.setdefault("tags", [])
    if "remove-cell" not in tags:  # hide-input or hide-output alone would leave half of it open
        tags[:] = [t for t in tags if t not in ("hide-input", "hide-output", HIDE_TAG)] + [HIDE_TAG]


def fold_gated_solutions(cells: list) -> int:
    """Turn each solution gated across cells (a markdown cell ending in ``{solution-start}``, code
    cells, a markdown cell with the answer and ``{solution-end}``) into a form both renderers fold:
    the code cells collapsed (JupyterLab: ``jupyter.source_hidden``/``outputs_hidden``; the
    website: the ``hide-cell`` tag; each starts with the comment ``CODE_HEADER``, the line that
    JupyterLab's folded cell shows), then a ``{solution}`` dropdown with the answer, in the cell
    that held ``{solution-end}``. The code otherwise and the answer are kept as they are. ``cells`` (a
    notebook's, nbformat nodes) is changed in place; returns how many solutions were folded. A
    gate with markdown inside (a markdown cell, or text after ``{solution-start}`` in its cell) or
    with no end is left for ``check`` to report."""
    folded = 0
    for i, cell in enumerate(cells):
        gate = _open_gate(cell.source) if cell.cell_type == "markdown" else None
        if gate is None:
            continue
        j = next((j for j in range(i + 1, len(cells)) if cells[j].cell_type != "code"), len(cells))
        end = (
            next((b for b in blocks(cells[j].source.split("\n")) if b.name == "solution-end"), None)
            if j < len(cells) and cells[j].cell_type == "markdown"
            else None
        )
        if end is None or "\n".join(cell.source.split("\n")[gate.end + 1 :]).strip():
            continue  # no end, a markdown cell inside, or text after the gate in its own cell
        lines = cell.source.split("\n")
        cell.source = "\n".join(lines[: gate.start] + lines[gate.end + 1 :]).rstrip()
        for code in cells[i + 1 : j]:
            _hide_code(code)
        rest = cells[j].source.split("\n")
        answer = "\n".join(rest[: end.start]).strip("\n")
        after = "\n".join(rest[end.end + 1 :]).strip("\n")
        options = dict(gate.options)
        options["class"] = " ".join(dict.fromkeys(options.get("class", "").split() + ["dropdown"]))
        fence = fence_for(answer)
        head = [f"{fence}{{solution}} {gate.arg}".rstrip()] + [f":{k}: {v}" for k, v in options.items()]
        box = "\n".join(head + [""] + ([answer] if answer else []) + [fence])
        cells[j].source = box + ("\n\n" + after if after else "")
        folded += 1
    return folded
