"""Reading MyST markdown as jupyterlab-myst and Sphinx see it: fenced blocks (directives and
code), the pieces outside code where roles are roles, the labels and titles a page defines."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = [
    "Block",
    "blocks",
    "walk",
    "outside_code",
    "labels_in",
    "markdown_of",
    "title_of",
    "heading_after",
    "fence_for",
]

CODE = frozenset({"code-block", "code", "literalinclude"})

ROLE = re.compile(r"\{(?P<name>[a-z][a-z0-9:_-]*)\}`(?P<content>[^`]+)`")
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|:{3,})(?P<info>.*)$")
DIRECTIVE = re.compile(r"^\{(?P<name>[a-zA-Z][\w:-]*)\}\s*(?P<arg>.*)$")
OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
TARGET = re.compile(r"^\((?P<label>[^()\s]+)\)=\s*$", re.M)
EQ_LABEL = re.compile(r"\$\$\s*\((?P<label>[^()\s]+)\)\s*$", re.M)
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
LISTING = re.compile(r"^% literalinclude (?P<spec>.+)$")
CITE_LINK = re.compile(r"\[(?P<text>\[[^\]]*\])\]\(#(?P<keys>[^)\s]+)\)")


@dataclass
class Block:
    """A fenced block: a directive (``name``) or a code block (``name`` is None). Line numbers
    count from the start of the cell; ``body`` starts at line ``body_start``, after the options."""

    name: str | None
    arg: str
    options: dict
    start: int  # the opening fence's line
    end: int  # the closing fence's line (the cell's length when unclosed)
    body_start: int
    body: list


def _closes(line: str, fence: str) -> bool:
    s = line.strip()
    return s.startswith(fence) and not s.strip(fence[0])


def blocks(lines: list[str], offset: int = 0) -> list[Block]:
    """The outermost fenced blocks of ``lines`` (which start at line ``offset`` of the cell)."""
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or (m["fence"][0] == "`" and "`" in m["info"]):
            i += 1
            continue
        fence, info = m["fence"], m["info"].strip()
        end = next((j for j in range(i + 1, len(lines)) if _closes(lines[j], fence)), len(lines))
        d = DIRECTIVE.match(info)
        first, options = i + 1, {}
        while d and first < end and OPTION.match(lines[first]):
            o = OPTION.match(lines[first])
            options[o["key"]] = o["value"].strip()
            first += 1
        name, arg = (d["name"], d["arg"].strip()) if d else (None, info)
        out.append(Block(name, arg, options, offset + i, offset + end, offset + first, lines[first:end]))
        i = end + 1
    return out


def walk(lines: list[str], offset: int = 0) -> list[Block]:
    """Every fenced block of ``lines``, the ones nested in directives included."""
    found = []
    for b in blocks(lines, offset):
        found.append(b)
        if b.name is not None and b.name not in CODE:
            found.extend(walk(b.body, b.body_start))
    return found


def outside_code(text: str) -> list[tuple[bool, str]]:
    """``text`` cut into pieces, each marked False inside a code block (where roles are text);
    ``"".join`` of the pieces gives ``text`` back."""
    raw = text.split("\n")
    lines = [line + "\n" for line in raw[:-1]] + raw[-1:]
    code = sorted((b.start, b.end) for b in walk(raw) if b.name is None or b.name in CODE)
    pieces, last = [], 0
    for start, end in code:
        if start < last:
            continue  # inside a code block already cut out
        pieces += [(True, "".join(lines[last:start])), (False, "".join(lines[start : end + 1]))]
        last = end + 1
    return pieces + [(True, "".join(lines[last:]))]


def labels_in(texts: list[str]) -> set[str]:
    """The labels the markdown ``texts`` define: ``(label)=`` targets, ``:label:``/``:name:``
    options and ``$$ ... $$ (label)`` equations."""
    found = set()
    for text in texts:
        found |= set(TARGET.findall(text)) | set(EQ_LABEL.findall(text))
        for b in walk(text.split("\n")):
            found |= {b.options[k] for k in ("label", "name") if k in b.options and b.name}
    return found


def markdown_of(path: Path) -> list[str]:
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        return [c.source for c in nb.cells if c.cell_type == "markdown"]
    return [path.read_text(encoding="utf-8")]


def title_of(path: Path) -> str:
    """The page's first level-1 heading (what Sphinx shows for ``{doc}``)."""
    for text in markdown_of(path):
        m = re.search(r"^# +(.+?)\s*$", text, re.M)
        if m:
            return m.group(1)
    raise ValueError(f"{path}: no '# title' heading to name the link by")


def heading_after(label: str, pages: list[Path]) -> str | None:
    """The heading that ``(label)=`` names on one of ``pages``, if it names a heading."""
    for page in pages:
        for text in markdown_of(page):
            m = re.search(rf"^\({re.escape(label)}\)=\s*\n+#+ +(.+?)\s*$", text, re.M)
            if m:
                return m.group(1)
    return None


def fence_for(code: str) -> str:
    """A backtick fence longer than any inside ``code``."""
    longest = max((len(m) for m in re.findall(r"`{3,}", code)), default=2)
    return "`" * max(3, longest + 1)
