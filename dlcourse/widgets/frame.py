"""The frame every widget of :mod:`dlcourse.widgets` shares: controls, an Agg figure, a PNG view."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image as PILImage

__all__ = ["FigureWidget", "join_curves", "nice_bound"]


def nice_bound(value: float, top: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is >= ``value`` (at most ``top``).

    Axis limits that move in such steps leave the cached background valid for most slider moves.
    """
    scale = 10.0 ** math.floor(math.log10(max(value, 1e-12)))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * scale >= value:
            return min(m * scale, top)
    return top


def join_curves(curves) -> tuple[np.ndarray, np.ndarray]:
    """Curves ``(k, n, 2)`` as one polyline with NaN breaks, for a single ``Line2D.set_data``."""
    curves = np.asarray(curves, dtype=float)
    k, n, _ = curves.shape
    joined = np.full((k, n + 1, 2), np.nan)
    joined[:, :n] = curves
    joined = joined.reshape(-1, 2)
    return joined[:, 0], joined[:, 1]


class FigureWidget(widgets.VBox):
    """Controls above a matplotlib figure rendered by Agg and shown as a PNG ``Image`` widget.

    ``update(values, changed)`` recomputes and updates the figure's artists in place;
    ``values`` maps each control's name to its value and ``changed`` is the name of the control
    that moved (``None`` for the first drawing). Setting any control's ``.value`` redraws
    synchronously, with or without a Jupyter front end.

    Attributes: ``controls`` (name -> ipywidgets control), ``figure`` (the matplotlib Figure),
    ``canvas`` (its Agg canvas). :meth:`static_figure` is the PNG of the state the widget was
    built in; the widget's display bundle carries that PNG too (``image/png``), so a renderer
    without widget support shows the figure rather than nothing.
    """

    def __init__(self, figure: Figure, controls: dict, update: Callable, *, columns: int = 3):
        self._image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        grid = widgets.GridBox(
            list(controls.values()),
            layout=widgets.Layout(grid_template_columns=f"repeat({columns}, minmax(0, 1fr))"),
        )
        super().__init__(children=[grid, self._image])
        self.figure = figure
        self.canvas = FigureCanvasAgg(figure)
        self.controls = dict(controls)
        self._update = update
        for name, control in self.controls.items():
            control.observe(self._on_change(name), names="value")
        # Lay the figure out once (constrained layout, if set), then freeze the axes' positions:
        # re-running the layout engine on every redraw would cost as much as the drawing itself.
        self._update(self.values(), None)
        self.canvas.draw()
        figure.set_layout_engine("none")
        self.redraw(None)
        self._default_png = self.png()

    def _on_change(self, name: str) -> Callable:
        def handler(change) -> None:
            self.redraw(name)

        return handler

    def values(self) -> dict:
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def _limits(self) -> tuple:
        return tuple((ax.get_xlim(), ax.get_ylim()) for ax in self.figure.axes)

    def redraw(self, changed: str | None = None) -> None:
        """Recompute what depends on ``changed``, draw with Agg, refresh the PNG shown.

        Artists marked ``animated`` (the ones the update changes) are drawn over a cached
        background (blitting); the whole figure, with its ticks, labels and legends (most of
        the drawing time), is drawn again only when an axis' limits changed.
        """
        self._update(self.values(), changed)
        if changed is None or self._limits() != self._drawn_limits:
            self.canvas.draw()  # skips the animated artists
            self._background = self.canvas.copy_from_bbox(self.figure.bbox)
            self._drawn_limits = self._limits()
            self._animated = self.figure.findobj(lambda a: a.get_animated())
        else:
            self.canvas.restore_region(self._background)
        for artist in self._animated:
            artist.axes.draw_artist(artist) if artist.axes else self.figure.draw_artist(artist)
        self._image.value = self.png(draw=False)

    def png(self, draw: bool = False) -> bytes:
        """The figure as currently drawn, as PNG bytes (fast compression) from the Agg buffer."""
        if draw:
            self.redraw(None)
        width, height = self.canvas.get_width_height()
        image = PILImage.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        out = io.BytesIO()
        image.save(out, format="png", compress_level=1)
        return out.getvalue()

    def static_figure(self):
        """An ``IPython.display.Image`` of the widget's initial (default) state."""
        from IPython.display import Image

        return Image(data=self._default_png, format="png")

    def _repr_png_(self) -> bytes:
        return self._default_png

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs) or {"text/plain": repr(self)[:110]}
        data["image/png"] = base64.b64encode(self._default_png).decode("ascii")
        return data
