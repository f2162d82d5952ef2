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

from . import landscapes as ls
from ._widget_base import check_number

__all__ = ["LiveMomentumValley", "LiveL1vsL2", "LiveBatchSizeSaddle", "live_momentum_valley",
           "live_l1_vs_l2", "live_batch_size_saddle", "StaticFallback", "module_source"]

STATIC = Path(__file__).with_name("static")


def module_source(view: str) -> str:
    """The ES module of one widget: the shared compute and drawing code, then its view."""
    return "\n".join((STATIC / name).read_text(encoding="utf-8")
                     for name in ("live_compute.js", "live_draw.js", view))


class StaticFallback:
    """A PNG for readers without JavaScript: ``<noscript><img></noscript>`` in HTML (hidden where
    the live widget runs), the plain PNG for other renderers (LaTeX/PDF, text consoles)."""

    def __init__(self, png: bytes, alt: str):
        self.png, self.alt = png, alt

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = base64.b64encode(self.png).decode("ascii")
        html = (f'<noscript><img src="data:image/png;base64,{data}" alt="{self.alt}" '
                f'style="max-width:100%"></noscript>')
        return {"text/html": html, "image/png": data, "text/plain": f"<figure: {self.alt}>"}


class _Live(anywidget.AnyWidget):
    _css = (STATIC / "live.css").read_text(encoding="utf-8")
    _alt = "the figure"

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


# ---------------------------------------------------------------- momentum valley ----------
class LiveMomentumValley(_Live):
    """Traits: ``lr``, ``beta``, ``kappa``, ``steps``, ``start_x``, ``start_y``, ``nesterov``."""
    _esm = module_source("live_valley.js")
    _alt = "gradient descent and momentum in a valley"
    lr = t.Float(1.0, min=0.01, max=4.0).tag(sync=True)
    beta = t.Float(0.5, min=0.0, max=0.99).tag(sync=True)
    kappa = t.Float(50.0, min=1.0, max=1000.0).tag(sync=True)
    steps = t.Int(60, min=1, max=300).tag(sync=True)
    start_x = t.Float(-1.2, min=-1.5, max=1.5).tag(sync=True)
    start_y = t.Float(0.8, min=-1.0, max=1.0).tag(sync=True)
    nesterov = t.Bool(False).tag(sync=True)
    map_lr = t.List(t.Float()).tag(sync=True)       # the (alpha, beta) grid of the rate map
    map_beta = t.List(t.Float()).tag(sync=True)


def live_momentum_valley(
    *, lr: float = 1.0, beta: float = 0.5, kappa: float = 50.0, steps: int = 60,
    start_x: float = -1.2, start_y: float = 0.8, nesterov: bool = False,
) -> LiveMomentumValley:
    """The live twin of :func:`dlcourse.widgets.momentum_valley` (same arguments and checks)."""
    from . import _widget_valley as wv
    values = dict(
        lr=check_number("lr", lr, *wv._LR), beta=check_number("beta", beta, *wv._BETA),
        kappa=check_number("kappa", kappa, *wv._KAPPA),
        steps=check_number("steps", steps, *wv._STEPS, integer=True),
        start_x=check_number("start_x", start_x, *wv._START_X),
        start_y=check_number("start_y", start_y, *wv._START_Y))
    if not isinstance(nesterov, bool):
        raise TypeError(f"nesterov must be True or False, got {type(nesterov).__name__} {nesterov!r}")
    values["nesterov"] = nesterov
    return LiveMomentumValley(_static=lambda: wv.momentum_valley(**values), map_lr=list(wv._MAP_LR),
                              map_beta=list(wv._MAP_BETA), **values)


# ---------------------------------------------------------------- L1 versus L2 --------------
@lru_cache(maxsize=1)
def _regression_paths() -> dict:
    """The 20-feature regression's Gram matrix, step and both paths (no control changes them)."""
    from . import _widget_l1l2 as wl
    X, y, w_true = ls.sparse_regression()
    n = X.shape[0]
    G, c = X.T @ X / n, X.T @ y / n
    v = np.ones(G.shape[0])
    for _ in range(200):                       # the power iteration of landscapes.lasso_path
        v = G @ v
        v = v / np.sqrt(float(v @ v))
    return dict(gram=G.tolist(), corr=c.tolist(), eta=1.0 / float(v @ (G @ v)),
                lams=wl._LAMS.tolist(), lasso=ls.lasso_path(X, y, wl._LAMS).tolist(),
                ridge=ls.ridge_path(X, y, wl._LAMS).tolist(), relevant=int(np.count_nonzero(w_true)))


class LiveL1vsL2(_Live):
    """Traits: ``budget``, ``opt_x``, ``opt_y``, ``rho``, ``lam``."""
    _esm = module_source("live_l1l2.js")
    _alt = "L1 and L2 budgets and the lasso and ridge paths"
    budget = t.Float(1.0, min=0.1, max=3.0).tag(sync=True)
    opt_x = t.Float(2.0, min=-3.0, max=3.0).tag(sync=True)
    opt_y = t.Float(0.6, min=-3.0, max=3.0).tag(sync=True)
    rho = t.Float(0.3, min=-0.9, max=0.9).tag(sync=True)
    lam = t.Float(0.3, min=1e-3, max=5.0).tag(sync=True)
    gram = t.List().tag(sync=True)
    corr = t.List(t.Float()).tag(sync=True)
    eta = t.Float(1.0).tag(sync=True)
    lams = t.List(t.Float()).tag(sync=True)
    lasso = t.List().tag(sync=True)
    ridge = t.List().tag(sync=True)
    relevant = t.Int(4).tag(sync=True)


def live_l1_vs_l2(
    *, budget: float = 1.0, opt_x: float = 2.0, opt_y: float = 0.6, rho: float = 0.3,
    lam: float = 0.3,
) -> LiveL1vsL2:
    """The live twin of :func:`dlcourse.widgets.l1_vs_l2` (same arguments and checks)."""
    from . import _widget_l1l2 as wl
    values = dict(budget=check_number("budget", budget, *wl._BUDGET),
                  opt_x=check_number("opt_x", opt_x, *wl._OPT),
                  opt_y=check_number("opt_y", opt_y, *wl._OPT),
                  rho=check_number("rho", rho, *wl._RHO), lam=check_number("lam", lam, *wl._LAM))
    return LiveL1vsL2(_static=lambda: wl.l1_vs_l2(**values), **_regression_paths(), **values)


# ---------------------------------------------------------------- batch size at a saddle ----
@lru_cache(maxsize=1)
def _saddle_contours() -> list:
    """The saddle's contour lines (matplotlib's contour generator on the widget's grid)."""
    import contourpy
    gx, gy = np.meshgrid(np.linspace(-2.0, 2.0, 81), np.linspace(-1.6, 1.6, 65))
    gen = contourpy.contour_generator(gx, gy, ls.saddle_loss(gx, gy))
    return [np.round(line, 4).tolist() for level in np.linspace(-0.25, 2.0, 13)
            for line in gen.lines(level)]


class LiveBatchSizeSaddle(_Live):
    """Traits: ``batch_size`` (1, 2, 4, ..., 64), ``lr``, ``steps``, ``runs``."""
    _esm = module_source("live_saddle.js")
    _alt = "mini-batch SGD escaping a saddle point"
    batch_size = t.Int(4).tag(sync=True)
    lr = t.Float(0.1, min=0.01, max=0.3).tag(sync=True)
    steps = t.Int(150, min=10, max=300).tag(sync=True)
    runs = t.Int(20, min=1, max=30).tag(sync=True)
    batch_sizes = t.List(t.Int()).tag(sync=True)
    contours = t.List().tag(sync=True)

    @t.validate("batch_size")
    def _valid_batch(self, proposal):
        from . import _widget_saddle as ws
        if proposal["value"] not in ws._BATCHES:
            raise t.TraitError(f"batch_size must be one of {ws._BATCHES}, got {proposal['value']!r}")
        return proposal["value"]


def live_batch_size_saddle(
    *, batch_size: int = 4, lr: float = 0.1, steps: int = 150, runs: int = 20,
) -> LiveBatchSizeSaddle:
    """The live twin of :func:`dlcourse.widgets.batch_size_saddle` (same arguments and checks)."""
    from . import _widget_saddle as ws
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batch_size must be one of {ws._BATCHES}, got "
                        f"{type(batch_size).__name__} {batch_size!r}")
    if batch_size not in ws._BATCHES:
        raise ValueError(f"batch_size must be one of {ws._BATCHES}, got {batch_size!r}")
    values = dict(batch_size=int(batch_size), lr=check_number("lr", lr, *ws._LR),
                  steps=check_number("steps", steps, *ws._STEPS, integer=True),
                  runs=check_number("runs", runs, *ws._RUNS, integer=True))
    return LiveBatchSizeSaddle(_static=lambda: ws.batch_size_saddle(**values),
                               batch_sizes=list(ws._BATCHES), contours=_saddle_contours(), **values)
