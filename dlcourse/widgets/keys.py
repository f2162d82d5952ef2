"""Keys pressed on a widget's controls go to the controls, in JupyterLab as in any web page.

JupyterLab reads every key pressed in a notebook as a possible shortcut before the focused element
sees it: after a click on a slider, the arrow keys moved the notebook's cursor, not the slider.
Its command registry (Lumino) leaves alone the keys pressed on an element that carries the
attribute :data:`OWN_KEYS` (the focused element itself: the shortcuts' selectors are matched
against it before its ancestors). The live widgets (:mod:`dlcourse.widgets.live`) put it on each of
their inputs; a :class:`FigureWidget <dlcourse.widgets.frame.FigureWidget>`, built of ipywidgets
whose elements Python cannot mark, carries an invisible :class:`KeyScope` that puts it on whatever
takes the focus in the box it sits in. Outside JupyterLab the attribute changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import traitlets as t

__all__ = ["OWN_KEYS", "KeyScope"]

OWN_KEYS = "data-lm-suppress-shortcuts"

try:
    import anywidget
except ImportError:  # the "widgets" extra is not installed: FigureWidget goes without
    KeyScope = None
else:

    class KeyScope(anywidget.AnyWidget):
        """An invisible widget that gives the keys pressed in the box around it to that box's
        controls (the element that takes the focus there gets the attribute ``attribute``)."""

        _esm = (Path(__file__).parent / "static" / "own_keys.js").read_text(encoding="utf-8")
        attribute = t.Unicode(OWN_KEYS).tag(sync=True)
