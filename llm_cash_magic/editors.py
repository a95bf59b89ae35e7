"""Typed hyperparameter editors, generated from the space: one per ``Param``, valid by construction.

Numbers are bounded to the parameter's range (log-scale ones on a log slider), categoricals are
dropdowns of the allowed choices, booleans checkboxes, and nullable numbers get a "none" box.
Each editor knows the recommended value, so it can reset to it and flag in place when changed.
"""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as widgets
from ipywidgets.widgets.widget_bool import CheckboxStyle
from ipywidgets.widgets.widget_description import DescriptionStyle
from ipywidgets.widgets.widget_string import HTMLStyle, LabelStyle

from .space import Param


class Looks:
    """Layouts and styles shared by the widgets of one panel. Every widget otherwise gets its own
    layout and style models, and a notebook stores each: sharing more than halves a panel's state."""

    def __init__(self):
        self.name = widgets.Layout(width="150px")
        self.input = widgets.Layout(width="260px")
        self.none = widgets.Layout(width="70px")
        self.flag = widgets.Layout(min_width="120px")
        self.row = widgets.Layout()  # also for any widget whose layout never changes
        self.grid = widgets.Layout(grid_template_columns="repeat(auto-fill, minmax(600px, 1fr))")  # of rows
        self.label = LabelStyle()
        self.checkbox = CheckboxStyle()
        self.slider = widgets.SliderStyle()
        self.text = DescriptionStyle()
        self.html = HTMLStyle()
        self.button = widgets.ButtonStyle()


class ParamEditor:
    """An input for one hyperparameter, pre-filled with the recommended value.

    ``widget`` is the whole row; ``input`` (and ``none_box`` for nullable parameters) the controls;
    ``flag`` says in place when the value differs from the recommendation.
    """

    def __init__(self, param: Param, recommended: Any, looks: Looks | None = None):
        looks = looks or Looks()
        self.param = param
        self.recommended = recommended
        self.input = _input_for(param, looks)
        self.none_box = widgets.Checkbox(False, description="none", indent=False, layout=looks.none,
                                         style=looks.checkbox) if param.nullable else None
        self.flag = widgets.Label(layout=looks.flag, style=looks.label)
        name = widgets.Label(param.name, tooltip=param.help or None, layout=looks.name, style=looks.label)
        inputs = [self.input] + ([self.none_box] if self.none_box else [])
        self.widget = widgets.HBox([name, *inputs, self.flag], layout=looks.row)
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
        return value

    @value.setter
    def value(self, value: Any) -> None:
        if self.none_box is not None:
            self.none_box.value = value is None
            self.input.disabled = value is None
            if value is None:
                return
        if self.param.type == "categorical":
            self.input.index = self.param.choices.index(value)
        else:
            self.input.value = value

    @property
    def changed(self) -> bool:
        return self.value != self.recommended

    def reset(self) -> None:
        self.value = self.recommended

    def _show_change(self, _change=None) -> None:
        if self.none_box is not None:
            self.input.disabled = self.none_box.value
        self.flag.value = f"edited (was {_label(self.recommended)})" if self.changed else ""


def _input_for(param: Param, looks: Looks) -> widgets.Widget:
    """The input widget whose every possible value is valid for ``param``."""
    if param.type == "bool":
        return widgets.Checkbox(False, indent=False, layout=looks.input, style=looks.checkbox)
    if param.type == "categorical":
        return widgets.Dropdown(options=[_label(c) for c in param.choices], layout=looks.input, style=looks.text)
    if param.log:
        return widgets.FloatLogSlider(  # continuous (step None): stops would move the recommended value
            base=10, min=math.log10(param.low), max=math.log10(param.high), step=None, value=param.low,
            readout_format=".0f" if param.type == "int" else ".3g", layout=looks.input, style=looks.slider,
        )
    box = widgets.BoundedIntText if param.type == "int" else widgets.BoundedFloatText
    start = next((g for g in param.grid if g is not None), param.low)  # shown while "none" is ticked
    return box(min=param.low, max=param.high, value=start, layout=looks.input, style=looks.text)


def _label(value: Any) -> str:
    return "None" if value is None else str(value)
