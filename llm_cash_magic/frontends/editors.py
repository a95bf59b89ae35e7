"""Typed hyperparameter editors, generated from the space: one per ``Param``, valid by construction.

Numbers are bounded to the parameter's range (log-scale ones on a log slider), categoricals are
dropdowns of the allowed choices, booleans checkboxes, and nullable numbers get a "none" box.
Each editor knows the recommended value, so it can reset to it and flag in place when changed.
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
            if param.nullable
            else None
        )
        self.flag = widgets.HTML(layout=looks.row, style=looks.html)
        name = widgets.Label(param.name, tooltip=param.help or None, layout=looks.name, style=looks.label)
        inputs = [self.input] + ([self.none_box] if self.none_box else [])
        self.widget = widgets.HBox([name, *inputs, self.flag], layout=looks.wrap)
        self.value = recommended
        for control in inputs:
            control.observe(self._show_change, "value")

    @property
    def value(self) -> Any:
        if self.none_box is not None and self.none_box.value:
            return None
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
            self.none_box.value = value is None
            self._show_none()
            if value is None:
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
        if self.changed:
            self.flag.value = (
                f'<span style="color: var(--jp-brand-color1, #1976d2)">edited (was '
                f"{escape(_label(self.recommended))})</span>"
            )
        else:
            self.flag.value = ""

    def _show_none(self) -> None:
        """A ticked "none" leaves no number to see: the box is hidden (its place kept)."""
        if self.none_box is not None:
            self.input.layout.visibility = "hidden" if self.none_box.value else "visible"


def _input_for(param: Param, looks: Looks) -> widgets.Widget:
    """The input widget whose every possible value is valid for ``param``."""
    layout = widgets.Layout(**INPUT) if param.nullable else looks.input  # its own: hidden while "none" is ticked
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
    start = next((g for g in param.grid if g is not None), param.low)  # the number when "none" is unticked
    return box(min=param.low, max=param.high, value=start, layout=layout, style=looks.text)


def _shown(value: Any) -> Any:
    """A number as its box shows it: floats to 4 significant digits."""
    return float(SIGNIFICANT.format(value)) if isinstance(value, float) else value


def _label(value: Any) -> str:
    """A value as Python writes it, floats shortened as boxes show them (1.0 stays 1.0: it is not 1)."""
    return "None" if value is None else str(_shown(value))
