"""How every notebook is stored: valid nbformat 4, no outputs, no execution counts, a python3
kernel; and how every chapter is laid out (set-up cell, one title, exercises, results cell)."""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    p
    for folder in ("chapters", "assignments/source")
    for p in (ROOT / folder).rglob("*.ipynb")
    if ".ipynb_checkpoints" not in p.parts
)


def test_there_are_notebooks():
    chapters = [p for p in NOTEBOOKS if p.parent.name == "chapters"]
    assert len(chapters) == 6, [p.name for p in chapters]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert not cell.outputs, f"{path.name} cell {index} has stored outputs"
        assert cell.execution_count is None, f"{path.name} cell {index} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_python3_kernel(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


CHAPTERS = [p for p in NOTEBOOKS if p.parent.name == "chapters"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_layout(path):
    """A hidden set-up cell that picks the device first, a hidden results cell last, one title,
    at least five exercises each with a folded solution."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "remove-cell" in code[0].metadata.get("tags", [])
    assert "dlcourse.get_device()" in code[0].source
    assert set(nb.cells[-1].metadata.get("tags", [])) == {"remove-cell", "results"}
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    titles = [line for line in markdown.splitlines() if re.match(r"^# \S", line)]
    assert len(titles) == 1, titles
    assert "## Exercises" in markdown
    exercises = len(re.findall(r"`{3,}\{exercise\}|\{exercise-start\}", markdown))
    solutions = len(re.findall(r"`{3,}\{solution\}|\{solution-start\}", markdown))
    assert exercises >= 5
    assert len(re.findall(r":label: ch\d-ex\d+", markdown)) == exercises
    assert solutions == exercises
    assert markdown.count(":class: dropdown") >= solutions


PAGES = NOTEBOOKS + sorted((ROOT / "book").glob("*.md"))
# A control character in a page is almost always a TeX command eaten by a Python string escape
# (``"\frac"`` is a form feed and "rac", ``"\top"`` a tab and "op"): MathJax then shows
# "Math input error" where the formula should be.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]|(?<=[\^_{ ($])\t")


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_control_characters(path):
    if path.suffix == ".ipynb":
        cells = [(i, c.source) for i, c in enumerate(nbformat.read(path, as_version=4).cells)]
    else:
        cells = [(0, path.read_text(encoding="utf-8"))]
    found = [
        f"cell {i}: {source[max(0, m.start() - 20) : m.end() + 10]!r}"
        for i, source in cells
        for m in CONTROL.finditer(source)
    ]
    assert not found, f"{path.name}: control characters (an escaped TeX command?): {found}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_paragraph_twice(path):
    """A paragraph of prose appears once in its chapter (a merge or an edit can leave a copy)."""
    nb = nbformat.read(path, as_version=4)
    seen: dict[str, int] = {}
    repeated = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for paragraph in re.split(r"\n\s*\n", cell.source):
            text = " ".join(paragraph.split())
            if len(text) < 120 or text.startswith(("```", ":::")):
                continue
            if text in seen:
                repeated.append(f"cells {seen[text]} and {index}: {text[:80]}...")
            seen.setdefault(text, index)
    assert not repeated, f"{path.name}: {repeated}"
