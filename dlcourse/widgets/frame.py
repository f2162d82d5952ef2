"""The frame every widget of :mod:`dlcourse.widgets` shares: controls, an Agg figure, a PNG view."""

from __future__ import annotations

import base64
import math
import struct
import zlib
from collections import OrderedDict
from collections.abc import Callable

import ipywidgets as widgets
import numpy as np
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

__all__ = ["FigureWidget", "join_curves", "nice_bound", "encode_png"]

KEPT_STATES = 16  # the states of one text or axis whose pixels are kept (a slider's back and forth)


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


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def encode_png(rgba) -> bytes:
    """An RGBA image, ``(height, width, 4)`` bytes, as PNG: every row filtered by its difference
    from the row above (PNG's filter 2, "Up") and deflated at level 1.

    One fixed filter and the fastest deflate take about a third of the time of Pillow's encoder
    (which tries every filter on every row) for a plot's image of about the same size.
    """
    image = np.asarray(rgba, dtype=np.uint8)
    if image.ndim != 3 or image.shape[2] != 4:
        raise ValueError(f"rgba must have shape (height, width, 4), got {image.shape}")
    height, width, _ = image.shape
    rows = image.reshape(height, width * 4)
    filtered = np.empty((height, width * 4 + 1), dtype=np.uint8)
    filtered[:, 0] = 2
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])  # modulo 256, as PNG's filter
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(filtered.tobytes(), 1))
        + _chunk(b"IEND", b"")
    )


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
        # At most `columns` columns, none narrower than 14rem: one column on a 400 px page.
        width = f"max(14rem, calc({100 / columns:.4g}% - 1rem))"
        grid = widgets.GridBox(
            list(controls.values()),
            layout=widgets.Layout(grid_template_columns=f"repeat(auto-fill, minmax({width}, 1fr))"),
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
        self._keep_background()  # that drawing is the background: no second full drawing
        self._draw_animated()
        self._default_png = self._image.value

    def _on_change(self, name: str) -> Callable:
        def handler(change) -> None:
            self.redraw(name)

        return handler

    def values(self) -> dict:
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def _limits(self) -> tuple:
        """The limits the cached background depends on: an axis drawn as an animated artist
        (``ax.xaxis.set_animated(True)``: its ticks and labels are redrawn with the data) may
        change its limits without a full redraw."""
        return tuple(
            (
                None if ax.xaxis.get_animated() else ax.get_xlim(),
                None if ax.yaxis.get_animated() else ax.get_ylim(),
            )
            for ax in self.figure.axes
        )

    def redraw(self, changed: str | None = None) -> None:
        """Recompute what depends on ``changed``, draw with Agg, refresh the PNG shown.

        Artists marked ``animated`` (the ones the update changes) are drawn over a cached
        background (blitting); the whole figure, with its ticks, labels and legends (most of
        the drawing time), is drawn again only when the limits of an axis that is not itself
        animated changed. A widget whose axis follows a control (``steps``, ``runs``) animates
        that axis, so that no control forces a full redraw.
        """
        self._update(self.values(), changed)
        if changed is None or self._limits() != self._drawn_limits:
            self.canvas.draw()  # skips the animated artists
            self._keep_background()
        else:
            self.canvas.restore_region(self._background)
        self._draw_animated()

    def _keep_background(self) -> None:
        """Keep the figure as drawn without its animated artists, and find those artists."""
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self._drawn_limits = self._limits()
        animated = self.figure.findobj(lambda a: a.get_animated())
        # Texts and axes first (they overlap no other animated artist), so that their pixels
        # can be kept: rendering their glyphs is most of a redraw's cost.
        self._animated = [a for a in animated if isinstance(a, (Text, Axis))]
        self._animated += [a for a in animated if not isinstance(a, (Text, Axis))]
        self._kept: dict = {}

    def _draw_animated(self) -> None:
        """Draw the animated artists over the background and show the result."""
        for artist in self._animated:
            if isinstance(artist, (Text, Axis)):
                self._draw_kept(artist)
            else:
                artist.axes.draw_artist(artist) if artist.axes else self.figure.draw_artist(artist)
        self._image.value = self.png(draw=False)

    def prerender(self, axis: Axis, intervals) -> None:
        """Draw the animated ``axis`` once at each of ``intervals`` (``(low, high)`` view limits,
        at most :data:`KEPT_STATES`) and keep its pixels, so that a redraw at one of them puts
        them back instead of rendering the ticks: for an axis whose limits change in a few steps."""
        if axis not in self._animated:
            raise ValueError("prerender: the axis must be animated (axis.set_animated(True))")
        intervals = [tuple(map(float, pair)) for pair in intervals]
        if len(intervals) > KEPT_STATES:
            raise ValueError(f"prerender: at most {KEPT_STATES} intervals, got {len(intervals)}")
        shown = axis.get_view_interval()
        for low, high in intervals:
            self.canvas.restore_region(self._background)
            axis.set_view_interval(low, high, ignore=True)
            self._draw_kept(axis)
        axis.set_view_interval(*shown, ignore=True)
        self.canvas.restore_region(self._background)
        self._draw_animated()

    def _draw_kept(self, artist: Text | Axis) -> None:
        """Draw an animated text or axis, or put back its pixels from an earlier redraw in the
        same state (the same pixels either way): the last :data:`KEPT_STATES` states of each are
        kept, so that a slider moved back and forth renders each text once."""
        if isinstance(artist, Text):
            key = (artist.get_text(), artist.get_color(), artist.get_position(), artist.get_visible())
        else:
            key = (
                tuple(artist.get_view_interval()),
                artist.get_scale(),
                artist.label.get_text(),
                artist.get_visible(),
            )
        kept = self._kept.setdefault(id(artist), OrderedDict())
        if key in kept:
            kept.move_to_end(key)
            self.canvas.restore_region(kept[key])
            return
        artist.axes.draw_artist(artist) if artist.axes else self.figure.draw_artist(artist)
        if not key[-1] or (isinstance(artist, Text) and not key[0]):
            return
        renderer = self.canvas.get_renderer()
        if isinstance(artist, Text):
            box = artist.get_window_extent(renderer)
        else:  # the labels and the tick marks (which the axis' tight box leaves out)
            ticks = artist.get_major_ticks()
            marks = [t.tick1line.get_window_extent(renderer) for t in ticks]
            marks += [t.tick2line.get_window_extent(renderer) for t in ticks]
            box = Bbox.union([artist.get_tightbbox(renderer), *marks])
        kept[key] = self.canvas.copy_from_bbox(box.padded(2))
        if len(kept) > KEPT_STATES:
            kept.popitem(last=False)

    def png(self, draw: bool = False) -> bytes:
        """The figure as currently drawn, as PNG bytes (:func:`encode_png`) from the Agg buffer."""
        if draw:
            self.redraw(None)
        return encode_png(self.canvas.buffer_rgba())

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
