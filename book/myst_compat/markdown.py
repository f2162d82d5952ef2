"""The rewrites of one markdown cell, and the constructs in it that JupyterLab would not render."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .parse import CITE_LINK, EXPLICIT, LISTING, ROLE, heading_after, outside_code, title_of, walk
from .sources import BIB, citation_label, listing, listing_lines

__all__ = [
    "RENDERED_ROLES",
    "RENDERED_DIRECTIVES",
    "Problem",
    "Context",
    "rewrite_markdown",
    "problems_in_markdown",
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


@dataclass(frozen=True)
class Problem:
    """One construct JupyterLab would not render readably, with where it is and what to do."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


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
            lines[b.start : b.end + 1] = listing_lines(spec, ctx.base)
        elif b.name is None and b.start > 0 and LISTING.match(lines[b.start - 1]):
            lines[b.start - 1 : b.end + 1] = listing_lines(
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
