"""The solution and hidden-test markers of a source notebook, and the one way they are read.

A source notebook marks an answer between lines holding ``BEGIN SOLUTION``/``END SOLUTION`` and
hidden tests between lines holding ``BEGIN HIDDEN TESTS``/``END HIDDEN TESTS`` (written as
``### BEGIN SOLUTION`` in code). ``assignments/nbgrader_config.py`` gives these constants to
nbgrader, so that nbgrader and the grader agree on them. Everything that looks for secret text
(the release check, the scrubbing of messages and outputs, the feedback check) uses
:func:`secret_lines` / :func:`hidden_lines` with one rule: a stripped line of at least
:data:`MIN_LEAK_LENGTH` characters that does not also appear outside the marked regions (a stub
or an instruction may repeat it honestly) counts as a leak.
"""

from __future__ import annotations

__all__ = [
    "BEGIN_SOLUTION",
    "END_SOLUTION",
    "BEGIN_HIDDEN",
    "END_HIDDEN",
    "MIN_LEAK_LENGTH",
    "REDACTED",
    "cell_source",
    "regions",
    "has_hidden",
    "strip_hidden",
    "hidden_lines",
    "secret_lines",
    "leaks",
    "scrub",
]

BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
MIN_LEAK_LENGTH = 12  # shorter stripped lines (")", "else:", "return x") are too generic to count
REDACTED = "[hidden test text removed]"
_MARKERS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN)


def cell_source(cell: dict) -> str:
    """A cell's source as one string (nbformat stores it as a string or a list of lines)."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def regions(source: str, begin: str, end: str) -> list[list[str]]:
    """The lines (stripped) between each ``begin`` line and the next ``end`` line of ``source``."""
    found, current = [], None
    for line in source.splitlines():
        if begin in line:
            current = []
        elif end in line and current is not None:
            found.append(current)
            current = None
        elif current is not None:
            current.append(line.strip())
    if current is not None:  # an unterminated region runs to the end, as nbgrader treats it
        found.append(current)
    return found


def has_hidden(source: str) -> bool:
    """Whether ``source`` holds a hidden-test region."""
    return BEGIN_HIDDEN in source


def strip_hidden(source: str) -> str:
    """``source`` without its hidden-test regions (what the student's copy shows)."""
    kept, inside = [], False
    for line in source.splitlines():
        if BEGIN_HIDDEN in line:
            inside = True
        elif END_HIDDEN in line:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def _long(lines) -> list[str]:
    return [line for line in lines if len(line) >= MIN_LEAK_LENGTH]


def _sources(notebook) -> list[str]:
    if isinstance(notebook, str):
        return [notebook]
    cells = notebook["cells"] if isinstance(notebook, dict) else notebook.cells
    return [cell_source(c) for c in cells]


def hidden_lines(notebook) -> list[str]:
    """The long lines of the hidden tests of a notebook (a dict, a NotebookNode or one source)."""
    out: list[str] = []
    for src in _sources(notebook):
        for region in regions(src, BEGIN_HIDDEN, END_HIDDEN):
            out += [line for line in _long(region) if line not in out]
    return out


def secret_lines(notebook) -> set[str]:
    """Long lines of solutions and hidden tests that do not also appear outside the regions."""
    secret, public = set(), set()
    for src in _sources(notebook):
        for begin, end in ((BEGIN_SOLUTION, END_SOLUTION), (BEGIN_HIDDEN, END_HIDDEN)):
            for region in regions(src, begin, end):
                secret.update(_long(region))
        inside = False
        for line in src.splitlines():
            if BEGIN_SOLUTION in line or BEGIN_HIDDEN in line:
                inside = True
            elif END_SOLUTION in line or END_HIDDEN in line:
                inside = False
            elif not inside:
                public.add(line.strip())
    return secret - public


def leaks(text: str, lines) -> list[str]:
    """The markers and the ``lines`` that occur in ``text``."""
    found = [m for m in _MARKERS if m in text]
    return found + sorted(line for line in lines if line in text)


def scrub(text: str, lines) -> tuple[str, int]:
    """``text`` with every line that quotes one of ``lines`` (or a marker) replaced by :data:`REDACTED`;
    and how many lines were replaced."""
    kept, hits = [], 0
    for line in text.split("\n"):
        if any(m in line for m in _MARKERS) or any(s in line for s in lines):
            kept.append(REDACTED)
            hits += 1
        else:
            kept.append(line)
    return "\n".join(kept), hits
