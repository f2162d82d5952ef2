"""The one table of a widget's controls: names, labels, ranges, steps, scales and defaults.

Each widget module declares its controls once, as a tuple of :class:`Control`. From that table

* the matplotlib widget (:mod:`dlcourse.widgets`) builds its ipywidgets sliders
  (:meth:`Control.widget`) and checks its keyword arguments (:meth:`Control.check`);
* the live widget (:mod:`dlcourse.widgets.live`) builds its synced traits (:func:`traits`) and
  sends :func:`specs` to its JavaScript view as the ``controls`` trait, from which the page builds
  its sliders: the JavaScript holds no range, step or label of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import ipywidgets as widgets
import traitlets as t

from ..validate import check_bool, check_choice, check_int, check_real

__all__ = ["Control", "resolve", "by_name", "traits", "specs", "widgets_for", "link_enabled"]

KINDS = ("float", "int", "bool", "choice")


@dataclass(frozen=True)
class Control:
    """One control. ``kind``: ``float`` (``scale`` ``linear`` or ``log``, base 10), ``int``,
    ``bool`` or ``choice`` (one of ``choices``, shown as a slider over them, with optional
    ``choice_labels``). ``digits``: decimals shown (``fixed``) or significant digits
    (``precision``), as ``format`` says. ``enabled_by``: ``(name, values)`` for a control that acts
    only while control ``name`` has one of ``values`` (it is disabled otherwise, in Jupyter and
    on the page)."""

    name: str
    label: str
    kind: str
    default: object
    low: float | None = None
    high: float | None = None
    step: float | None = None
    scale: str = "linear"
    digits: int = 2
    format: str = "fixed"
    choices: tuple = ()
    choice_labels: tuple = field(default=())
    enabled_by: tuple = ()

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, KINDS)
        check_choice("scale", self.scale, ("linear", "log"))
        check_choice("format", self.format, ("fixed", "precision"))
        if self.kind in ("float", "int") and (self.low is None or self.high is None or not self.step):
            raise ValueError(f"control {self.name!r}: a {self.kind} control needs low, high and step")
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"control {self.name!r}: a choice control needs choices")
        self.check(self.default)

    def check(self, value: object) -> object:
        """``value`` checked against this control (``TypeError``/``ValueError`` naming it)."""
        if self.kind == "float":
            return check_real(self.name, value, low=self.low, high=self.high)
        if self.kind == "int":
            return check_int(self.name, value, low=self.low, high=self.high)
        if self.kind == "bool":
            return check_bool(self.name, value)
        if all(isinstance(c, int) for c in self.choices):  # a choice of integers: an int first
            value = check_int(self.name, value)
        return check_choice(self.name, value, self.choices)

    def widget(self, value: object, style: dict | None = None) -> widgets.Widget:
        """The ipywidgets control for this row of the table, set to ``value``."""
        common = dict(description=self.label, style=style or {}, continuous_update=True)
        if self.kind == "bool":
            return widgets.Checkbox(value=value, description=self.label, indent=False)
        if self.kind == "choice":
            labels = self.choice_labels or tuple(str(c) for c in self.choices)
            return widgets.SelectionSlider(options=list(zip(labels, self.choices)), value=value, **common)
        if self.kind == "int":
            return widgets.IntSlider(value=value, min=self.low, max=self.high, step=self.step, **common)
        if self.scale == "log":
            return widgets.FloatLogSlider(
                value=value,
                base=10,
                min=math.log10(self.low),
                max=math.log10(self.high),
                step=self.step,
                **common,
            )
        return widgets.FloatSlider(value=value, min=self.low, max=self.high, step=self.step, **common)

    def trait(self) -> t.TraitType:
        """A synced trait with this control's default and range."""
        if self.kind == "float":
            return t.Float(self.default, min=self.low, max=self.high).tag(sync=True)
        if self.kind == "int":
            return t.Int(self.default, min=self.low, max=self.high).tag(sync=True)
        if self.kind == "bool":
            return t.Bool(self.default).tag(sync=True)
        return t.Enum(list(self.choices), default_value=self.default).tag(sync=True)

    def spec(self) -> dict:
        """What the JavaScript view needs to build and label the slider (JSON)."""
        out = {
            "name": self.name,
            "label": self.label,
            "kind": self.kind,
            "scale": self.scale,
            "digits": self.digits,
            "format": self.format,
        }
        if self.kind in ("float", "int"):
            log = self.scale == "log"
            out.update(
                min=math.log10(self.low) if log else self.low,
                max=math.log10(self.high) if log else self.high,
                step=self.step,
            )
        if self.kind == "choice":
            out.update(
                choices=list(self.choices), labels=list(self.choice_labels or (str(c) for c in self.choices))
            )
        if self.enabled_by:
            out["enabled_by"] = {"name": self.enabled_by[0], "values": list(self.enabled_by[1])}
        return out


def resolve(table: tuple[Control, ...], values: dict) -> dict:
    """A widget's keyword arguments completed with the table's defaults and checked, in table
    order; ``TypeError`` for a name the table does not have (as for any unknown argument)."""
    names = [c.name for c in table]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise TypeError(f"unexpected argument(s) {unknown}; the controls are {names}")
    return {c.name: c.check(values.get(c.name, c.default)) for c in table}


def by_name(table: tuple[Control, ...]) -> dict[str, Control]:
    """The table as ``{name: Control}``."""
    return {c.name: c for c in table}


def traits(table: tuple[Control, ...]) -> dict[str, t.TraitType]:
    """Synced traits, one per control, to put in an anywidget class body."""
    return {c.name: c.trait() for c in table}


def specs(table: tuple[Control, ...]) -> list[dict]:
    """The table as JSON for the live widget's ``controls`` trait."""
    return [c.spec() for c in table]


def widgets_for(table: tuple[Control, ...], values: dict, style: dict | None = None) -> dict:
    """``{name: ipywidgets control}`` for the matplotlib widget, set to ``values``."""
    return {c.name: c.widget(values[c.name], style) for c in table}


def link_enabled(table: tuple[Control, ...], controls: dict) -> None:
    """Disable each ipywidgets control of ``controls`` whose table row has ``enabled_by`` while its
    governing control holds none of the values, now and whenever that control moves."""
    for c in table:
        if not c.enabled_by:
            continue
        name, values = c.enabled_by
        target, source = controls[c.name], controls[name]

        def sync(_change=None, target=target, source=source, values=tuple(values)) -> None:
            target.disabled = source.value not in values

        source.observe(sync, names="value")
        sync()
