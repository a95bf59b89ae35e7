"""Typed hyperparameter editors, generated from the space: one per ``Param``, valid by construction.

Numbers are bounded to the parameter's range (log-scale ones on a log slider), categoricals are
dropdowns of the allowed choices, booleans checkboxes. "No limit" is one convention whatever the
library writes: a "none" box, for None (scikit-learn) and for the number a library reads as no
limit alike (LightGBM's max_depth -1, XGBoost's 0). Each editor shows its range beside it (and its
help in the name's tooltip), knows the recommended value, can reset to it and flags a change.
Rows wrap and inputs shrink, so a narrow notebook (a split view) hides no control.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

import ipywidgets as widgets
from ipywidgets.widgets.widget_bool import CheckboxStyle
from ipywidgets.widgets.widget_description import DescriptionStyle
from ipywidgets.widgets.widget_string import HTMLStyle, LabelStyle

from ..space import Param

# An input's layout: up to 260 px, down to 160 before the row wraps (a flex row wraps before it shrinks)
INPUT = {"flex": "1 1 160px", "max_width": "260px", "min_width": "8em"}
SIGNIFICANT = "{:.4g}"  # how floats are shown; the values keep every digit
MUTED = "color: var(--jp-ui-font-color2, #616161); font-size: var(--jp-ui-font-size0, 11px)"


class Looks:
    """Layouts and styles shared by the widgets of one panel. Every widget otherwise gets its own
    layout and style models, and a notebook stores each: sharing more than halves a panel's state."""

    def __init__(self):
        self.name = widgets.Layout(flex="0 1 150px", min_width="6em")
        self.input = widgets.Layout(**INPUT)
        self.none = widgets.Layout(width="70px")
        self.row = widgets.Layout()  # also for any widget whose layout never changes
        self.wrap = widgets.Layout(flex_flow="row wrap", align_items="center")  # a row that wraps when narrow
        self.grid = widgets.Layout(grid_template_columns="repeat(auto-fill, minmax(min(100%, 600px), 1fr))")
        self.count = DescriptionStyle(description_width="initial")  # a number beside a button: "K", "N"
        self.count_box = widgets.Layout(width="7em")
        self.label = LabelStyle()
        self.checkbox = CheckboxStyle()
        self.slider = widgets.SliderStyle()
        self.text = DescriptionStyle()
        self.html = HTMLStyle()
        self.button = widgets.ButtonStyle()


class ParamEditor:
    """An input for one hyperparameter, pre-filled with the recommended value.

    ``widget`` is the whole row; ``input`` (and ``none_box`` for nullable parameters) the controls;
    ``flag`` says in place when the value differs from the recommendation. Number boxes show
    floats to 4 significant digits and read the recommended value back whole while it is shown.
    """

    def __init__(self, param: Param, recommended: Any, looks: Looks | None = None):
        looks = looks or Looks()
        self.param = param
        self.recommended = recommended
        self.input = _input_for(param, looks)
        self.none_box = (
            widgets.Checkbox(False, description="none", indent=False, layout=looks.none, style=looks.checkbox)
            if _has_none(param)
            else None
        )
        self.flag = widgets.HTML(layout=looks.row, style=looks.html)
        self.range = _range(param)
        tooltip = "; ".join(t for t in (param.help, self.range) if t) or None
        name = widgets.Label(param.name, tooltip=tooltip, layout=looks.name, style=looks.label)
        inputs = [self.input] + ([self.none_box] if self.none_box else [])
        self.widget = widgets.HBox([name, *inputs, self.flag], layout=looks.wrap)
        self.value = recommended
        for control in inputs:
            control.observe(self._show_change, "value")
        self._show_change()

    @property
    def value(self) -> Any:
        if self.none_box is not None and self.none_box.value:
            if _unlimited(self.param, self.recommended):
                return self.recommended  # as recommended (LightGBM reads 0 as no limit too)
            return self.param.no_limit  # None, or the library's own number for "no limit"
        if self.param.type == "categorical":
            return self.param.choices[self.input.index]
        value = self.input.value
        if isinstance(self.input, widgets.FloatLogSlider):
            if math.isclose(value, self.recommended, rel_tol=1e-9):
                return self.recommended  # the browser's log/exp round trip writes back a noisy value
            return int(round(value)) if self.param.type == "int" else float(f"{value:.3g}")  # a drag
        if isinstance(self.recommended, float) and value == _shown(self.recommended):
            return self.recommended  # as shown, rounded
        return value

    @value.setter
    def value(self, value: Any) -> None:
        if self.none_box is not None:
            self.none_box.value = _unlimited(self.param, value)
            self._show_none()
            if self.none_box.value:
                return
        if self.param.type == "categorical":
            self.input.index = self.param.choices.index(value)
        else:
            self.input.value = value if isinstance(self.input, widgets.FloatLogSlider) else _shown(value)

    @property
    def changed(self) -> bool:
        return self.value != self.recommended

    def reset(self) -> None:
        self.value = self.recommended

    def _show_change(self, _change=None) -> None:
        self._show_none()
        shown = [f'<span style="{MUTED}">{escape(self.range)}</span>'] if self.range else []
        if self.changed:
            was = "none" if _unlimited(self.param, self.recommended) else _label(self.recommended)
            shown.insert(0, f'<span style="color: var(--jp-brand-color1, #1976d2)">edited (was {escape(was)})</span>')
        self.flag.value = " ".join(shown)

    def _show_none(self) -> None:
        """A ticked "none" leaves no number to see: the box is hidden (its place kept)."""
        if self.none_box is not None:
            self.input.layout.visibility = "hidden" if self.none_box.value else "visible"


def _has_none(param: Param) -> bool:
    return param.nullable or param.no_limit is not None


def _unlimited(param: Param, value: Any) -> bool:
    """Whether ``value`` means "no limit": None, or for a library's own number for it, any number
    below the smallest limit (LightGBM reads every depth below 1 so)."""
    return value is None or (param.no_limit is not None and value < _lowest(param))


def _lowest(param: Param):
    """The smallest number the box takes: with a number for "no limit" (the "none" box), a limit of 1."""
    return param.low if param.no_limit is None else max(param.no_limit, 0) + 1


def _range(param: Param) -> str:
    """What the editor accepts, in a few words: "10 to 2000, log scale", "none (no limit) or 1 to 64"."""
    if param.type not in ("int", "float"):
        return ""
    span = f"{_label(_lowest(param))} to {_label(param.high)}" + (", log scale" if param.log else "")
    return f"none (no limit) or {span}" if param.no_limit is not None else span


def _input_for(param: Param, looks: Looks) -> widgets.Widget:
    """The input widget whose every possible value is valid for ``param``."""
    layout = widgets.Layout(**INPUT) if _has_none(param) else looks.input  # its own: hidden while "none" is ticked
    if param.type == "bool":
        return widgets.Checkbox(False, indent=False, layout=layout, style=looks.checkbox)
    if param.type == "categorical":
        return widgets.Dropdown(options=[_label(c) for c in param.choices], layout=layout, style=looks.text)
    if param.log:
        return widgets.FloatLogSlider(  # continuous (step None): stops would move the recommended value
            base=10,
            min=math.log10(param.low),
            max=math.log10(param.high),
            step=None,
            value=param.low,
            readout_format=".0f" if param.type == "int" else ".3g",
            layout=layout,
            style=looks.slider,
        )
    box = widgets.BoundedIntText if param.type == "int" else widgets.BoundedFloatText
    low = _lowest(param)
    start = next((g for g in param.grid if g is not None and g != param.no_limit), low)  # when "none" is unticked
    return box(min=low, max=param.high, value=start, layout=layout, style=looks.text)


def _shown(value: Any) -> Any:
    """A number as its box shows it: floats to 4 significant digits."""
    return float(SIGNIFICANT.format(value)) if isinstance(value, float) else value


def _label(value: Any) -> str:
    """A value as Python writes it, floats shortened as boxes show them (1.0 stays 1.0: it is not 1)."""
    return "None" if value is None else str(_shown(value))
