"""The chapters' markdown in the form that both renderers show: Jupyter Book 1.x (the website) and
``jupyterlab-myst`` (JupyterLab, ``make lab``).

    python book/myst_compat.py check   [NOTEBOOK ...]   # list what JupyterLab would show raw; exit 1
    python book/myst_compat.py rewrite [NOTEBOOK ...]   # apply the rewrites in place, then check

Without notebooks, both act on ``chapters/*.ipynb``. jupyterlab-myst 2.7 renders roles and
directives in the notebook alone: it reads no ``references.bib``, knows no other page and runs no
Sphinx directive it was not written for. The rewrites (each verified in both renderers):

* ``{cite}`key``` and ``{cite:p}`k1,k2``` become ``[[Author, year]](#key)``: a link whose text is
  the label sphinxcontrib-bibtex prints (computed here from ``book/references.bib`` with its
  author-year style). Sphinx resolves ``#key`` through the bibtex domain to the same citation as
  ``{cite:p}``; JupyterLab shows the text.
* ``{doc}`page``` becomes ``[Title of page](page.ipynb)`` (a ``.md`` page keeps ``.md``): Sphinx
  links the page as before, JupyterLab shows the title and opens the file.
* ``{ref}`label``` to a heading on another page becomes ``{ref}`Heading <label>```.
* ``{literalinclude}`` becomes a ``% literalinclude PATH :option: value`` comment (hidden by both)
  over a fenced code block holding what the directive included; ``rewrite`` refreshes such blocks
  and ``check`` reports one that no longer matches its file.
* ``{solution}`` without ``:class: dropdown`` gets it (JupyterLab folds only dropdowns).

``check`` also reports what it cannot rewrite: other roles and directives (e.g. ``{cite:t}``,
``{glue}``, ``{only}``, ``{raw}``), ``{numref}``/``{eq}``/``{ref}`` without text to another page,
and a gated ``{exercise-start}``/``{solution-start}`` whose end is in another cell (JupyterLab
renders cell by cell, so the box would end at the cell).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BIB = ROOT / "book" / "references.bib"

__all__ = [
    "RENDERED_ROLES",
    "RENDERED_DIRECTIVES",
    "Problem",
    "citation_label",
    "rewrite_markdown",
    "problems_in_markdown",
    "rewrite_notebook",
    "check_notebook",
    "main",
]

# Roles and directives that jupyterlab-myst 2.7.0 was seen to render readably (book/how-to-use.md
# and tests/test_lab_browser.py); ref, numref and eq only to a label of the same notebook (or, for
# ref, with an explicit text).
RENDERED_ROLES = frozenset({"term", "ref", "numref", "eq", "math", "sub", "sup", "abbr", "kbd"})
RENDERED_DIRECTIVES = frozenset(
    {"exercise", "exercise-start", "exercise-end", "solution", "solution-start", "solution-end"}
    | {"admonition", "note", "tip", "hint", "important", "caution", "warning", "attention"}
    | {"danger", "error", "seealso", "math", "code-block", "code", "dropdown", "tab-set", "tab-item"}
    | {"figure", "image"}
)
LOCAL_ONLY = frozenset({"numref", "eq"})
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


@dataclass(frozen=True)
class Problem:
    """One construct JupyterLab would not render readably, with where it is and what to do."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


# ------------------------------------------------------------------------------ parsing ----
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


# --------------------------------------------------------------------------- citations ----
@cache
def _bibliography(bib: Path):
    import pybtex.plugin
    import pybtex_docutils
    import sphinxcontrib.bibtex  # noqa: F401  (registers its pybtex plugins)
    from pybtex.database import parse_file
    from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle

    data = parse_file(str(bib))
    formatted = {
        e.key: e
        for e in pybtex.plugin.find_plugin("pybtex.style.formatting", "alpha")().format_entries(
            data.entries.values()
        )
    }
    return data, formatted, AuthorYearReferenceStyle(), pybtex_docutils.Backend()


def citation_label(keys: str, bib: Path = BIB) -> str:
    """What ``{cite:p}`keys``` prints on the website with ``bibtex_reference_style: author_year``,
    e.g. ``[Kingma and Ba, 2015]``, formatted by sphinxcontrib-bibtex's own style classes."""
    from sphinxcontrib.bibtex.style.referencing import format_references
    from sphinxcontrib.bibtex.style.template import SphinxReferenceInfo

    data, formatted, style, backend = _bibliography(Path(bib))
    builder = SimpleNamespace(name="html", get_relative_uri=lambda a, b: "")
    refs = []
    for key in (k.strip() for k in keys.split(",")):
        if key not in data.entries:
            raise ValueError(f"citation key {key!r} is not in {bib}")
        info = SphinxReferenceInfo(builder, "", "", "", None, "", "")
        refs.append((data.entries[key], formatted[key], info))
    return "".join(node.astext() for node in format_references(style, "p", refs).render(backend))


# ---------------------------------------------------------------------------- listings ----
def listing(spec: str, base: Path) -> tuple[str, str]:
    """(language, code) that ``literalinclude`` with ``spec`` (``PATH :option: value ...``,
    relative to ``base``) includes, read by Sphinx's own reader."""
    from sphinx.directives.code import LiteralIncludeReader

    path, *rest = spec.split()
    options = dict(re.findall(r":([\w-]+):\s*(\S*)", " ".join(rest)))
    language = options.pop("language", "")
    options = {k: (v or True) for k, v in options.items()}
    file = (base / path).resolve()
    if not file.is_file():
        raise ValueError(f"literalinclude {path!r}: no such file {file}")
    text, _ = LiteralIncludeReader(str(file), options, SimpleNamespace(source_encoding="utf-8-sig")).read()
    return language, text.rstrip("\n")


def _fence_for(code: str) -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}", code)), default=2)
    return "`" * max(3, longest + 1)


def _listing_lines(spec: str, base: Path) -> list[str]:
    language, code = listing(spec, base)
    fence = _fence_for(code)
    return [f"% literalinclude {spec}", fence + language, *code.split("\n"), fence]


# ----------------------------------------------------------------------------- rewrite ----
@dataclass
class Context:
    """What a rewrite or check of one notebook needs to know about the book around it."""

    base: Path  # the notebook's folder
    local: set  # labels this notebook defines
    pages: list  # the other pages whose labels may be referenced
    bib: Path = BIB


def _rewrite_role(m: re.Match, ctx: Context) -> str:
    name, content = m["name"], m["content"]
    if name in ("cite", "cite:p") and not re.search(r"[{}]", content):
        keys = ",".join(k.strip() for k in content.split(","))
        return f"[{citation_label(keys, ctx.bib)}](#{keys})"
    explicit = EXPLICIT.match(content)
    if name == "doc":
        text, target = (explicit["text"], explicit["target"]) if explicit else (None, content)
        page = next(
            (ctx.base / (target + s) for s in (".ipynb", ".md") if (ctx.base / (target + s)).is_file()), None
        )
        if page is None:
            return m.group(0)  # check() reports it
        return f"[{text or title_of(page)}]({target}{page.suffix})"
    if name == "ref" and not explicit and content not in ctx.local:
        heading = heading_after(content, ctx.pages)
        return f"{{ref}}`{heading} <{content}>`" if heading else m.group(0)
    return m.group(0)


def rewrite_markdown(text: str, ctx: Context) -> str:
    """``text`` with every construct this module knows how to rewrite rewritten (see the module)."""
    lines = text.split("\n")
    for b in sorted(walk(lines), key=lambda b: -b.start):  # from the end: indices stay valid
        if b.name == "literalinclude":
            spec = " ".join([b.arg] + [f":{k}: {v}".rstrip() for k, v in b.options.items()])
            lines[b.start : b.end + 1] = _listing_lines(spec, ctx.base)
        elif b.name is None and b.start > 0 and LISTING.match(lines[b.start - 1]):
            lines[b.start - 1 : b.end + 1] = _listing_lines(
                LISTING.match(lines[b.start - 1])["spec"], ctx.base
            )
        elif (
            b.name in ("solution", "solution-start") and "dropdown" not in b.options.get("class", "").split()
        ):
            cls = (b.options.get("class", "") + " dropdown").strip()
            at = next((i for i in range(b.start + 1, b.body_start) if lines[i].startswith(":class:")), None)
            if at is None:
                lines.insert(b.start + 1, f":class: {cls}")
            else:
                lines[at] = f":class: {cls}"
    text = "\n".join(lines)
    return "".join(
        ROLE.sub(lambda m: _rewrite_role(m, ctx), piece) if roles else piece
        for roles, piece in outside_code(text)
    )


def problems_in_markdown(text: str, ctx: Context, where: str) -> list[Problem]:
    """What JupyterLab would show raw (or not at all) in the markdown ``text``."""
    found = []
    lines = text.split("\n")
    for b in walk(lines):
        if b.name is None:
            continue
        if b.name not in RENDERED_DIRECTIVES and b.name != "literalinclude":
            found.append(Problem(where, f"directive {{{b.name}}} renders raw or not at all in JupyterLab"))
        if b.name == "literalinclude":
            found.append(Problem(where, "{literalinclude} shows nothing in JupyterLab (rewrite: a listing)"))
        if b.name in ("solution", "solution-start") and "dropdown" not in b.options.get("class", "").split():
            found.append(Problem(where, f"{{{b.name}}} without ':class: dropdown' is not folded (rewrite)"))
        if b.name in ("exercise-start", "solution-start"):
            end = b.name.replace("start", "end")
            if not any(c.name == end and c.start > b.start for c in walk(lines)):
                found.append(Problem(where, f"{{{b.name}}} has no {{{end}}} in the same cell"))
    for b in walk(lines):
        if b.name is None and b.start > 0 and LISTING.match(lines[b.start - 1]):
            spec = LISTING.match(lines[b.start - 1])["spec"]
            try:
                language, code = listing(spec, ctx.base)
            except ValueError as err:
                found.append(Problem(where, str(err)))
                continue
            if "\n".join(b.body) != code or b.arg != language:
                found.append(Problem(where, f"listing '{spec}' differs from the file (rewrite refreshes it)"))
    for roles, piece in outside_code(text):
        if not roles:
            continue
        for m in ROLE.finditer(piece):
            name, content = m["name"], m["content"]
            explicit = EXPLICIT.match(content)
            target = explicit["target"] if explicit else content
            if name not in RENDERED_ROLES:
                hint = " (rewrite)" if name in ("cite", "cite:p", "doc") else ""
                found.append(Problem(where, f"role {m.group(0)} renders raw in JupyterLab{hint}"))
            elif name in LOCAL_ONLY and target not in ctx.local:
                found.append(
                    Problem(where, f"{m.group(0)}: JupyterLab resolves {{{name}}} only in its notebook")
                )
            elif name == "ref" and not explicit and target not in ctx.local:
                found.append(
                    Problem(where, f"{m.group(0)}: another page's label needs a text, {{ref}}`Text <label>`")
                )
        for m in CITE_LINK.finditer(piece):
            try:
                want = citation_label(m["keys"], ctx.bib)
            except ValueError:
                continue  # an ordinary link to an anchor, not a citation
            if m["text"] != want:
                found.append(Problem(where, f"citation {m.group(0)}: the website prints {want}"))
    return found


# --------------------------------------------------------------------------- notebooks ----
def context_for(path: Path, bib: Path = BIB) -> Context:
    path = Path(path).resolve()
    pages = sorted(p for p in path.parent.glob("*.ipynb") if p != path)
    pages += sorted((path.parent.parent / "book").glob("*.md"))
    return Context(path.parent, labels_in(markdown_of(path)), pages, bib)


def rewrite_notebook(path: Path, bib: Path = BIB) -> int:
    """Rewrite the markdown cells of the notebook at ``path`` in place; returns how many changed."""
    nb = nbformat.read(path, as_version=4)
    ctx = context_for(path, bib)
    changed = 0
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("check", "rewrite"))
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    if args.command == "rewrite":
        for path in paths:
            print(f"{path}: {rewrite_notebook(path)} markdown cells rewritten")
    found = [p for path in paths for p in check_notebook(path)]
    for p in found:
        print(p)
    print(f"{len(found)} constructs JupyterLab would not render readably in {len(paths)} notebooks")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
