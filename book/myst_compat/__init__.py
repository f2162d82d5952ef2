"""The chapters' markdown in the form that both renderers show: Jupyter Book 1.x (the website) and
``jupyterlab-myst`` (JupyterLab, ``make lab``).

    python book/myst_compat check   [NOTEBOOK ...]   # list what JupyterLab would show raw; exit 1
    python book/myst_compat rewrite [NOTEBOOK ...]   # apply the rewrites in place, then check

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
* A solution gated across cells (``{solution-start}`` at the end of a markdown cell, code cells
  that run at build time, the answer and ``{solution-end}`` in the next markdown cell) becomes the
  code cells folded (JupyterLab: ``jupyter.source_hidden``/``outputs_hidden``; the website: the
  ``hide-cell`` tag, a "Show code cell content" button) followed by a ``{solution}`` dropdown with
  the answer: jupyterlab-myst renders each cell alone and cannot fold a box that spans cells.

``check`` also reports what it cannot rewrite: other roles and directives (e.g. ``{cite:t}``,
``{glue}``, ``{only}``, ``{raw}``), ``{numref}``/``{eq}``/``{ref}`` without text to another page,
and a gated ``{exercise-start}``/``{solution-start}`` whose end is in another cell and that the
rewrite cannot fold (JupyterLab renders cell by cell, so the box would end at the cell).
"""

from __future__ import annotations

from .markdown import (
    RENDERED_DIRECTIVES,
    RENDERED_ROLES,
    Context,
    Problem,
    problems_in_markdown,
    rewrite_markdown,
)
from .notebooks import check_notebook, context_for, main, rewrite_notebook
from .parse import CITE_LINK
from .solutions import CODE_HEADER, HIDDEN, HIDE_TAG, fold_gated_solutions
from .sources import BIB, citation_label, listing

__all__ = [
    "RENDERED_ROLES",
    "RENDERED_DIRECTIVES",
    "CITE_LINK",
    "CODE_HEADER",
    "HIDDEN",
    "HIDE_TAG",
    "BIB",
    "Context",
    "Problem",
    "citation_label",
    "listing",
    "rewrite_markdown",
    "problems_in_markdown",
    "fold_gated_solutions",
    "context_for",
    "rewrite_notebook",
    "check_notebook",
    "main",
]
