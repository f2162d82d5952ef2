"""The widgets, headless: built with Agg, every control redraws the image, bad kwargs are refused."""

import hashlib

import ipywidgets
import matplotlib.figure
import numpy as np
import pytest

from dlcourse import widgets as W

FACTORIES = [W.momentum_valley, W.l1_vs_l2, W.batch_size_saddle]


def image(w) -> str:
    return hashlib.sha1(bytes(w.canvas.buffer_rgba())).hexdigest()


def across_range(control):
    if isinstance(control, ipywidgets.Checkbox):
        return [not control.value, control.value]
    if isinstance(control, ipywidgets.SelectionSlider):
        values = [o[1] if isinstance(o, tuple) else o for o in control.options]
        return [v for v in values if v != control.value]
    if isinstance(control, ipywidgets.FloatLogSlider):
        return [control.base**e for e in np.linspace(control.min, control.max, 3)]
    return list(np.linspace(control.min, control.max, 3).astype(type(control.value)))


@pytest.mark.parametrize("factory", FACTORIES)
def test_every_control_redraws_the_image(factory):
    w = factory()
    assert isinstance(w, ipywidgets.Widget)
    assert isinstance(w.figure, matplotlib.figure.Figure)
    assert w.static_figure().data[:8] == b"\x89PNG\r\n\x1a\n"
    assert "image/png" in w._repr_mimebundle_()
    for name, control in w.controls.items():
        for value in across_range(control):
            if value == control.value:
                continue
            before = image(w)
            control.value = value
            assert image(w) != before, f"{factory.__name__}: moving {name} to {value} drew nothing"
        assert w._image.value[:4] == b"\x89PNG"


def test_blitted_redraw_equals_a_full_redraw():
    w = W.momentum_valley()
    w.controls["beta"].value = 0.8  # blitted over the cached background
    blitted = bytes(w.canvas.buffer_rgba())
    w.redraw(None)  # everything drawn again
    assert bytes(w.canvas.buffer_rgba()) == blitted


def test_initial_values_are_used():
    w = W.momentum_valley(lr=2.0, beta=0.0, kappa=10.0, steps=30, nesterov=True)
    assert w.controls["lr"].value == 2.0 and w.controls["nesterov"].value is True
    assert W.l1_vs_l2(budget=2.0).controls["budget"].value == 2.0
    saddle = W.batch_size_saddle(batch_size=64, y0=1e-4)
    assert saddle.controls["batch_size"].value == 64 and saddle.controls["y0"].value == 1e-4


@pytest.mark.parametrize(
    "factory,kwargs,error,words",
    [
        (W.momentum_valley, {"lr": -1.0}, ValueError, r"lr must be a real number in \[0.01, 4\]"),
        (W.momentum_valley, {"beta": 1.0}, ValueError, "beta"),
        (W.momentum_valley, {"steps": 2.5}, TypeError, "steps must be an integer"),
        (W.momentum_valley, {"nesterov": "yes"}, TypeError, "nesterov"),
        (W.momentum_valley, {"speed": 1}, TypeError, "speed"),
        (W.l1_vs_l2, {"rho": 1.0}, ValueError, "rho"),
        (W.l1_vs_l2, {"budget": "big"}, TypeError, "budget"),
        (W.batch_size_saddle, {"batch_size": 3}, ValueError, r"batch_size must be one of"),
        (W.batch_size_saddle, {"runs": 0}, ValueError, "runs"),
        (W.batch_size_saddle, {"y0": 0.5}, ValueError, r"y0 must be one of"),
        (W.optimizer_race, {"surface": "everest"}, ValueError, "surface must be one of"),
        (
            W.optimizer_race,
            {"lr_adam": 100.0},
            ValueError,
            r"lr_adam must be a real number in \[0.0001, 10\]",
        ),
        (W.optimizer_race, {"tune": 1}, TypeError, "tune"),
        (W.activation_explorer, {"depth": 0}, ValueError, "depth"),
        (W.activation_explorer, {"init": "lecun"}, ValueError, "init must be one of"),
    ],
)
def test_bad_keyword_arguments_raise_clear_errors(factory, kwargs, error, words):
    with pytest.raises(error, match=words):
        factory(**kwargs)


def test_saddle_widget_shows_the_sweep_of_landscapes():
    """The escape steps drawn for every batch size are dlcourse.landscapes.saddle_sweep's, and
    the full batch from y0 = 0 (drawn in the top band) never escapes while from 1e-4 it does."""
    from dlcourse import landscapes as ls
    from dlcourse.widgets import saddle as ws

    batches = ws.CONTROLS[0].choices
    for y0 in (0.0, 1e-4):
        _, esc = ws.sweep(0.1, y0, 200, 12)
        np.testing.assert_array_equal(esc, ls.saddle_sweep(batches, 0.1, 200, 12, y0=y0))
        assert np.isinf(esc[-1]).all() == (y0 == 0.0)
    w = W.batch_size_saddle(batch_size=63, runs=12, steps=200)
    assert w.figure.axes[0].get_title().startswith("B = 63: 12/12 runs escaped, median step ")
    assert w.figure.axes[1].get_title() == "y₀ = 0: full batch never escapes (stays on the saddle)"
    w.controls["y0"].value = 1e-4
    assert w.figure.axes[1].get_title() == "y₀ = 1e-4: full batch escapes at step 91 (≈ 89)"


def test_encode_png_decodes_to_the_same_pixels():
    import io

    from PIL import Image

    from dlcourse.widgets.frame import encode_png

    rgba = np.random.default_rng(0).integers(0, 256, size=(37, 53, 4), dtype=np.uint8)
    rgba[5:9] = rgba[4]  # repeated rows: the filter's differences are zero there
    decoded = np.asarray(Image.open(io.BytesIO(encode_png(rgba))).convert("RGBA"))
    np.testing.assert_array_equal(decoded, rgba)
    with pytest.raises(ValueError, match="rgba"):
        encode_png(np.zeros((4, 4, 3), dtype=np.uint8))
