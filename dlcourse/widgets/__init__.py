r"""The book's interactive figures: ipywidgets controls driving a matplotlib figure.

* :func:`momentum_valley` (chapter 2): gradient descent and momentum in an ill-conditioned valley.
* :func:`batch_size_saddle` (chapter 2): mini-batch noise and escape from a saddle point.
* :func:`l1_vs_l2` (chapter 4): why an L1 budget gives exact zeros and an L2 budget does not.
* :func:`optimizer_race` (chapter 2): every optimizer on one surface, each at its best rate.
* :func:`activation_explorer` (chapter 3): an activation and an initialisation in a deep network.

Each returns a :class:`FigureWidget` (an ``ipywidgets.VBox``) with ``.controls`` (name ->
control) and ``.figure`` (a matplotlib ``Figure`` drawn by Agg, shown as a PNG). Setting a
control's ``.value`` recomputes (with the pure functions of :mod:`dlcourse.landscapes`) and
redraws synchronously, so the widgets also work in a plain Python process. Keyword arguments set
the initial values; out-of-range or ill-typed values raise ``ValueError``/``TypeError``.

The parts: :mod:`~dlcourse.widgets.controls` (each widget's one table of controls),
:mod:`~dlcourse.widgets.frame` (controls above an Agg figure shown as a PNG), one module per widget
(:mod:`~dlcourse.widgets.valley`, :mod:`~dlcourse.widgets.l1l2`, :mod:`~dlcourse.widgets.saddle`,
:mod:`~dlcourse.widgets.race`, :mod:`~dlcourse.widgets.explorer`),
and :mod:`~dlcourse.widgets.live` with ``static/``: the same widgets as anywidgets whose JavaScript
computes and draws in the page, so that they are live on the static website too.

In a chapter, a cell whose last line is the widget shows it live in Jupyter. The widget's display
bundle also carries ``image/png`` of its initial state, and ``widget.static_figure()`` returns that
image for the built page (which has no kernel)::

    from IPython.display import display
    from dlcourse.widgets import momentum_valley
    valley = momentum_valley()
    display(valley)                   # live in Jupyter
    display(valley.static_figure())   # the default state, on the built page and in print
"""

from __future__ import annotations

from .explorer import activation_explorer
from .frame import FigureWidget
from .l1l2 import l1_vs_l2
from .race import optimizer_race
from .saddle import batch_size_saddle
from .valley import momentum_valley

__all__ = [
    "FigureWidget",
    "momentum_valley",
    "l1_vs_l2",
    "batch_size_saddle",
    "optimizer_race",
    "activation_explorer",
]
