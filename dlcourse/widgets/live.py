r"""The book's interactive figures, live in the browser: no kernel, no network.

The widgets of :mod:`dlcourse.widgets` redraw from Python callbacks, so on the static website
(where no Python runs) their sliders move nothing. The widgets here are `anywidget
<https://anywidget.dev>`_ widgets: their behaviour is a JavaScript module, embedded in the
page with the widget's state, that recomputes and redraws in the page itself.

* :func:`live_momentum_valley` (chapter 2): gradient descent and momentum in a valley.
* :func:`live_batch_size_saddle` (chapter 2): mini-batch noise and escape from a saddle.
* :func:`live_l1_vs_l2` (chapter 4): the L1 diamond's corners give exact zeros.

One computation, two languages: ``dlcourse/static/live_compute.js`` repeats the pure functions
of :mod:`dlcourse.landscapes` operation for operation (the saddle's ``xorshift32`` included), and
``tests/test_live_widgets.py`` checks it against them under Node. What does not depend on a
control (the lasso and ridge paths, the saddle's contour lines) is computed here, in Python, and
travels as a trait.

Every control is a synced trait, so in Jupyter the same widget is live, Python can set it
(``w.lr = 0.5``), and ordinary ipywidgets controls can drive it::

    import ipywidgets
    w = live_momentum_valley()
    slider = ipywidgets.FloatSlider(min=0.01, max=4.0, step=0.01, description="α")
    ipywidgets.jslink((slider, "value"), (w, "lr"))    # works on the static page too

``w.static_figure()`` is the matplotlib figure of the widget's initial state, shown where no
JavaScript runs (it sits in ``<noscript>`` on the website; printed books take its PNG).
"""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path

import anywidget
import numpy as np
import traitlets as t

from .. import landscapes as ls
from . import l1l2 as wl
from . import saddle as ws
from . import valley as wv
from .controls import resolve, specs, traits

__all__ = [
    "LiveMomentumValley",
    "LiveL1vsL2",
    "LiveBatchSizeSaddle",
    "live_momentum_valley",
    "live_l1_vs_l2",
    "live_batch_size_saddle",
    "StaticFallback",
    "module_source",
]

STATIC = Path(__file__).with_name("static")


def module_source(view: str) -> str:
    """The ES module of one widget: the shared compute and drawing code, then its view."""
    return "\n".join(
        (STATIC / name).read_text(encoding="utf-8") for name in ("live_compute.js", "live_draw.js", view)
    )


class StaticFallback:
    """A PNG for readers without JavaScript: ``<noscript><img></noscript>`` in HTML (hidden where
    the live widget runs), the plain PNG for other renderers (LaTeX/PDF, text consoles)."""

    def __init__(self, png: bytes, alt: str):
        self.png, self.alt = png, alt

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = base64.b64encode(self.png).decode("ascii")
        html = (
            f'<noscript><img src="data:image/png;base64,{data}" alt="{self.alt}" '
            f'style="max-width:100%"></noscript>'
        )
        return {"text/html": html, "image/png": data, "text/plain": f"<figure: {self.alt}>"}


class _Live(anywidget.AnyWidget):
    _css = (STATIC / "live.css").read_text(encoding="utf-8")
    _alt = "the figure"
    controls = t.List(t.Dict()).tag(sync=True)  # the control table (controls.specs), for the view

    def __init__(self, _static=None, **kwargs):
        super().__init__(**kwargs)
        self._static = _static

    def static_figure(self, noscript: bool = True):
        """The initial state drawn by the matplotlib widget of :mod:`dlcourse.widgets`."""
        png = self._static().static_figure().data
        if noscript:
            return StaticFallback(png, self._alt)
        from IPython.display import Image

        return Image(data=png, format="png")


def _live_class(name: str, view: str, alt: str, table: tuple, doc: str, **data: t.TraitType) -> type:
    """An anywidget class: one synced trait per control of ``table``, plus ``data`` traits."""
    return type(
        name,
        (_Live,),
        {
            "__doc__": doc,
            "__module__": __name__,
            "_esm": module_source(view),
            "_alt": alt,
            **traits(table),
            **data,
        },
    )


# ---------------------------------------------------------------- momentum valley ----------
LiveMomentumValley = _live_class(
    "LiveMomentumValley",
    "live_valley.js",
    "gradient descent and momentum in a valley",
    wv.CONTROLS,
    "Traits: the controls of :data:`dlcourse.widgets.valley.CONTROLS`.",
    map_lr=t.List(t.Float()).tag(sync=True),
    map_beta=t.List(t.Float()).tag(sync=True),
)


def live_momentum_valley(**values) -> LiveMomentumValley:
    """The live twin of :func:`dlcourse.widgets.momentum_valley` (same arguments and checks)."""
    values = resolve(wv.CONTROLS, values)
    return LiveMomentumValley(
        _static=lambda: wv.momentum_valley(**values),
        controls=specs(wv.CONTROLS),
        map_lr=wv.MAP_LR.tolist(),
        map_beta=wv.MAP_BETA.tolist(),
        **values,
    )


# ---------------------------------------------------------------- L1 versus L2 --------------
@lru_cache(maxsize=1)
def _regression_paths() -> dict:
    """The 20-feature regression's Gram matrix, step and both paths (no control changes them)."""
    X, y, w_true = ls.sparse_regression()
    n = X.shape[0]
    G, c = X.T @ X / n, X.T @ y / n
    v = np.ones(G.shape[0])
    for _ in range(200):  # the power iteration of landscapes.lasso_path
        v = G @ v
        v = v / np.sqrt(float(v @ v))
    return dict(
        gram=G.tolist(),
        corr=c.tolist(),
        eta=1.0 / float(v @ (G @ v)),
        lams=wl.LAMS.tolist(),
        lasso=ls.lasso_path(X, y, wl.LAMS).tolist(),
        ridge=ls.ridge_path(X, y, wl.LAMS).tolist(),
        relevant=int(np.count_nonzero(w_true)),
    )


LiveL1vsL2 = _live_class(
    "LiveL1vsL2",
    "live_l1l2.js",
    "L1 and L2 budgets and the lasso and ridge paths",
    wl.CONTROLS,
    "Traits: the controls of :data:`dlcourse.widgets.l1l2.CONTROLS`.",
    gram=t.List().tag(sync=True),
    corr=t.List(t.Float()).tag(sync=True),
    eta=t.Float(1.0).tag(sync=True),
    lams=t.List(t.Float()).tag(sync=True),
    lasso=t.List().tag(sync=True),
    ridge=t.List().tag(sync=True),
    relevant=t.Int(4).tag(sync=True),
    levels=t.List(t.Float()).tag(sync=True),
)


def live_l1_vs_l2(**values) -> LiveL1vsL2:
    """The live twin of :func:`dlcourse.widgets.l1_vs_l2` (same arguments and checks)."""
    values = resolve(wl.CONTROLS, values)
    return LiveL1vsL2(
        _static=lambda: wl.l1_vs_l2(**values),
        controls=specs(wl.CONTROLS),
        levels=wl.LEVELS.tolist(),
        **_regression_paths(),
        **values,
    )


# ---------------------------------------------------------------- batch size at a saddle ----
@lru_cache(maxsize=1)
def _saddle_contours() -> list:
    """The saddle's contour lines (matplotlib's contour generator on the widget's grid)."""
    import contourpy

    gx, gy = np.meshgrid(np.linspace(-2.0, 2.0, 81), np.linspace(-1.6, 1.6, 65))
    gen = contourpy.contour_generator(gx, gy, ls.saddle_loss(gx, gy))
    return [np.round(line, 4).tolist() for level in np.linspace(-0.25, 2.0, 13) for line in gen.lines(level)]


LiveBatchSizeSaddle = _live_class(
    "LiveBatchSizeSaddle",
    "live_saddle.js",
    "mini-batch SGD escaping a saddle point",
    ws.CONTROLS,
    "Traits: the controls of :data:`dlcourse.widgets.saddle.CONTROLS`.",
    contours=t.List().tag(sync=True),
    n_examples=t.Int(ls.SADDLE_EXAMPLES).tag(sync=True),
    start=t.List(t.Float()).tag(sync=True),
    bins=t.Int(ws.BINS).tag(sync=True),
)


def live_batch_size_saddle(**values) -> LiveBatchSizeSaddle:
    """The live twin of :func:`dlcourse.widgets.batch_size_saddle` (same arguments and checks)."""
    values = resolve(ws.CONTROLS, values)
    return LiveBatchSizeSaddle(
        _static=lambda: ws.batch_size_saddle(**values),
        controls=specs(ws.CONTROLS),
        contours=_saddle_contours(),
        n_examples=ls.SADDLE_EXAMPLES,
        start=list(ws.START),
        bins=ws.BINS,
        **values,
    )
