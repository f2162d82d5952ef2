"""Bibliography markup that passes an accessibility audit (axe-core, WCAG 2 A/AA).

docutils writes a citation list as ``<div role="list">`` of ``<div role="doc-biblioentry">``:
``doc-biblioentry`` is deprecated (DPUB-ARIA 1.1) and, not being a list item, leaves the list
without the children its role requires. Each citation is written with ``role="listitem"``
instead; the markup is otherwise docutils' own. The translator of the current builder (the
theme's, wrapped around Sphinx's) is extended at ``builder-inited``, after the theme set it up.
"""

from __future__ import annotations

import types

from sphinx.application import Sphinx


class AccessibleCitationsMixin:
    """``visit_citation`` of docutils' HTML writer, with ``role="listitem"``."""

    def visit_citation(self, node):
        if not isinstance(node.previous_sibling(), type(node)):
            self.body.append('<div role="list" class="citation-list">\n')
        self.body.append(self.starttag(node, "div", classes=[node.tagname], role="listitem"))


def _extend_translator(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    base = app.registry.translators.get(app.builder.name) or app.builder.default_translator_class
    if issubclass(base, AccessibleCitationsMixin):
        return
    translator = types.new_class(base.__name__, (AccessibleCitationsMixin, base), {})
    app.set_translator(app.builder.name, translator, override=True)


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", _extend_translator, priority=900)  # after the theme's (500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
