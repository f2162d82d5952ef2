"""The rewrite and the check of whole notebooks, and the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat

from .markdown import Context, Problem, problems_in_markdown, rewrite_markdown
from .parse import labels_in, markdown_of
from .solutions import fold_gated_solutions
from .sources import BIB, ROOT

__all__ = ["context_for", "rewrite_notebook", "check_notebook", "main"]


def context_for(path: Path, bib: Path = BIB) -> Context:
    path = Path(path).resolve()
    pages = sorted(p for p in path.parent.glob("*.ipynb") if p != path)
    pages += sorted((path.parent.parent / "book").glob("*.md"))
    return Context(path.parent, labels_in(markdown_of(path)), pages, bib)


def rewrite_notebook(path: Path, bib: Path = BIB) -> int:
    """Rewrite the notebook at ``path`` in place (gated solutions folded, then each markdown cell
    rewritten); returns how many solutions and markdown cells changed."""
    nb = nbformat.read(path, as_version=4)
    ctx = context_for(path, bib)
    changed = fold_gated_solutions(nb.cells)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            new = rewrite_markdown(cell.source, ctx)
            if new != cell.source:
                cell.source, changed = new, changed + 1
    if changed:
        nbformat.write(nb, path)
    return changed


def check_notebook(path: Path, bib: Path = BIB) -> list[Problem]:
    """Every construct of the notebook at ``path`` that JupyterLab would not render readably."""
    nb = nbformat.read(path, as_version=4)
    ctx = context_for(path, bib)
    return [
        p
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "markdown"
        for p in problems_in_markdown(cell.source, ctx, f"{Path(path).name} cell {i}")
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="The chapters' MyST in the form that both the website and JupyterLab render."
    )
    parser.add_argument("command", choices=("check", "rewrite"))
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    if args.command == "rewrite":
        for path in paths:
            print(f"{path}: {rewrite_notebook(path)} gated solutions folded or markdown cells rewritten")
    found = [p for path in paths for p in check_notebook(path)]
    for p in found:
        print(p)
    print(f"{len(found)} constructs JupyterLab would not render readably in {len(paths)} notebooks")
    return 1 if found else 0
