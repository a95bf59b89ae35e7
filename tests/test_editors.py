"""Hyperparameter editors are generated from the space's types and cannot hold an invalid value."""

from __future__ import annotations

import ipywidgets as widgets
import pytest

from llm_cash_magic.frontends.editors import Looks, ParamEditor
from llm_cash_magic.space import FAMILIES, family


def test_log_scale_parameters_get_a_log_slider_over_their_range():
    param = family("lightgbm").param("learning_rate")
    editor = ParamEditor(param, 0.05)
    assert isinstance(editor.input, widgets.FloatLogSlider)
    assert (editor.input.min, editor.input.max) == pytest.approx((-3.0, 0.0))
    assert editor.value == 0.05


def test_a_log_slider_for_an_integer_gives_integers():
    editor = ParamEditor(family("lightgbm").param("n_estimators"), 300)
    editor.input.value = 412.7  # where a drag stops
    assert editor.value == 413


def test_the_browsers_log_round_trip_does_not_count_as_an_edit():
    editor = ParamEditor(family("hist_gradient_boosting").param("learning_rate"), 0.1)
    editor.input.value = 0.10000000000000002  # what 10 ** log10(0.1) gives in the browser, written back
    assert editor.value == 0.1 and not editor.changed
    assert "edited" not in editor.flag.value
    assert editor.input.step is None  # no slider stops to snap the recommended value to


def test_a_dragged_float_is_rounded_to_three_significant_digits_but_the_recommended_value_is_kept_exactly():
    editor = ParamEditor(family("lightgbm").param("learning_rate"), 0.0123456)
    assert editor.value == 0.0123456
    editor.input.value = 0.050118723
    assert editor.value == 0.0501


def test_linear_numbers_are_bounded_inputs_that_clamp_to_the_valid_range():
    param = family("lightgbm").param("subsample")
    editor = ParamEditor(param, 0.8)
    assert isinstance(editor.input, widgets.BoundedFloatText)
    editor.input.value = 7.0
    assert editor.value == param.high
    editor.input.value = -3.0
    assert editor.value == param.low


def test_categoricals_are_dropdowns_of_the_allowed_choices_whatever_their_type():
    param = family("random_forest").param("max_features")  # strings and floats
    editor = ParamEditor(param, 0.5)
    assert isinstance(editor.input, widgets.Dropdown)
    assert editor.input.options == ("sqrt", "log2", "0.25", "0.5", "0.75", "1.0")
    assert editor.value == 0.5
    editor.input.index = 0
    assert editor.value == "sqrt"


def test_a_none_choice_is_selectable_and_read_back_as_none():
    editor = ParamEditor(family("random_forest").param("class_weight"), "balanced")
    editor.input.label = "None"
    assert editor.value is None


def test_booleans_are_checkboxes():
    editor = ParamEditor(family("random_forest").param("bootstrap"), True)
    assert isinstance(editor.input, widgets.Checkbox)
    editor.input.value = False
    assert editor.value is False


def test_nullable_numbers_have_a_none_box_that_hides_the_number():
    editor = ParamEditor(family("random_forest").param("max_depth"), None)
    assert editor.value is None
    assert editor.input.layout.visibility == "hidden"  # "none" shows no number, not a greyed one
    editor.none_box.value = False
    assert editor.input.layout.visibility == "visible"
    assert isinstance(editor.value, int)
    editor.value = 12
    assert (editor.none_box.value, editor.value) == (False, 12)


def test_a_ticked_none_hides_its_own_number_only_among_editors_sharing_one_panels_looks():
    looks = Looks()  # one panel's shared layouts: a slider's layout must not be one of them when it can hide
    forest = [ParamEditor(p, p.default, looks) for p in family("random_forest").params]
    linear = ParamEditor(family("linear").param("alpha"), 1.0, looks)
    hidden = [e.param.name for e in [*forest, linear] if e.input.layout.visibility == "hidden"]
    assert hidden == ["max_depth", "max_leaf_nodes"]  # the two whose "none" is ticked, and no other


def test_a_changed_value_is_flagged_in_place_and_reset_restores_the_recommendation():
    editor = ParamEditor(family("lightgbm").param("num_leaves"), 63)
    assert "edited" not in editor.flag.value and not editor.changed
    assert "2 to 1024, log scale" in editor.flag.value  # its range, always in view
    editor.value = 127
    assert editor.changed
    assert "edited (was 63)" in editor.flag.value and "var(--jp-brand-color1" in editor.flag.value
    editor.reset()
    assert editor.value == 63 and "edited" not in editor.flag.value and not editor.changed


def test_no_limit_is_one_none_box_whatever_number_the_library_writes_for_it():
    lightgbm = ParamEditor(family("lightgbm").param("max_depth"), -1)
    forest = ParamEditor(family("random_forest").param("max_depth"), None)
    for editor, unlimited in ((lightgbm, -1), (forest, None)):
        assert editor.none_box.value and editor.input.layout.visibility == "hidden"
        assert editor.value == unlimited and not editor.changed
        editor.none_box.value = False
        assert editor.value >= 1 and editor.input.min == 1  # a limit of one's own: 1 at least
        assert "edited (was none)" in editor.flag.value
        editor.reset()
        assert editor.value == unlimited
    lightgbm.value = 8
    assert (lightgbm.none_box.value, lightgbm.value) == (False, 8)
    assert "none (no limit) or 1 to 64" in lightgbm.flag.value
    xgboost_leaves = ParamEditor(family("xgboost").param("max_leaves"), 0)
    assert xgboost_leaves.none_box.value and xgboost_leaves.value == 0
    zero = ParamEditor(family("lightgbm").param("max_depth"), 0)  # valid, and no limit to LightGBM too
    assert zero.none_box.value and zero.value == 0 and not zero.changed  # not a depth of 1


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_every_parameter_of_every_family_gets_an_editor_that_reads_back_its_default(task):
    for fam in FAMILIES.values():
        for param in fam.params_for(task):
            editor = ParamEditor(param, param.default_for(task))
            assert editor.value == param.default_for(task), (fam.name, param.name)
            assert not editor.changed


def test_floats_show_four_significant_digits_but_keep_every_digit_until_edited():
    editor = ParamEditor(family("lightgbm").param("colsample_bytree"), 0.7385038460573171)
    assert editor.input.value == 0.7385
    assert editor.value == 0.7385038460573171 and not editor.changed
    editor.input.value = 0.5  # typed
    assert editor.value == 0.5 and "edited (was 0.7385)" in editor.flag.value
    editor.input.value = 0.123456789  # typed with every digit: kept
    assert editor.value == 0.123456789
    whole = ParamEditor(family("lightgbm").param("subsample"), 1.0)
    whole.value = 0.5
    assert "edited (was 1.0)" in whole.flag.value  # a float stays a float: 1.0 is not 1 to scikit-learn
