"""What the website prints for a citation and what a ``literalinclude`` includes, computed with
sphinxcontrib-bibtex's and Sphinx's own code."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from types import SimpleNamespace

from .parse import fence_for

__all__ = ["ROOT", "BIB", "citation_label", "listing", "listing_lines"]

ROOT = Path(__file__).resolve().parents[2]
BIB = ROOT / "book" / "references.bib"


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


def listing_lines(spec: str, base: Path) -> list[str]:
    language, code = listing(spec, base)
    fence = fence_for(code)
    return [f"% literalinclude {spec}", fence + language, *code.split("\n"), fence]
