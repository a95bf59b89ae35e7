"""The hyperparameter space: defaults, coercion, projection, aliases, and lazy imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from llm_cash_magic import CashError, validate
from llm_cash_magic.space import (
    FAMILIES,
    describe,
    estimator_kwargs,
    families_for,
    family,
    family_of,
    params_from_estimator,
    require_installed,
)

TASKS = ("binary", "multiclass", "regression")


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_library_defaults_are_valid_and_accepted_by_the_estimator(name, task):
    fam = family(name)
    config = validate(name, {}, task)
    assert config.params == fam.defaults(task) and config.notes == ()
    estimator = fam.estimator(task)
    model = estimator.load()(**estimator_kwargs(config), **estimator.fixed)
    held = {k: v for k, v in config.params.items() if fam.param(k).estimator_arg}  # early stopping is the code's
    assert params_from_estimator(name, task, model) == held
    assert family_of(model) == name


@pytest.mark.parametrize(
    "alias, expected",
    [
        ("LGBMClassifier", "lightgbm"),
        ("lgbm", "lightgbm"),
        ("LightGBM", "lightgbm"),
        ("HistGradientBoostingRegressor", "hist_gradient_boosting"),
        ("RandomForestClassifier", "random_forest"),
        ("extra-trees", "extra_trees"),
        ("Ridge", "linear"),
        ("LogisticRegression", "linear"),
        ("KNeighborsClassifier", "knn"),
        ("skmlp", "mlp"),
    ],
)
def test_family_aliases(alias, expected):
    config = validate(alias, {}, "binary")
    assert config.family == expected


def test_unknown_family_is_rejected_with_the_known_ones():
    with pytest.raises(CashError, match=r"unknown model family 'xgboost_turbo'; known: lightgbm, "):
        validate("xgboost_turbo", {})


def test_params_must_be_a_mapping():
    with pytest.raises(CashError, match="must be a mapping, got list"):
        validate("lightgbm", [1, 2])


class TestCoercion:
    def check(self, family_name, params, task="binary"):
        return validate(family_name, params, task)

    def test_numbers_from_strings_and_floats(self):
        config = self.check("lightgbm", {"n_estimators": "300", "num_leaves": 62.6, "learning_rate": ".05"})
        assert (config.params["n_estimators"], config.params["num_leaves"]) == (300, 63)
        assert config.params["learning_rate"] == 0.05
        assert "num_leaves=62.6 rounded to 63" in config.notes

    def test_out_of_range_values_are_projected_into_range(self):
        config = self.check("lightgbm", {"learning_rate": 5, "num_leaves": 100_000, "subsample": -3})
        assert (config.params["learning_rate"], config.params["num_leaves"], config.params["subsample"]) == (
            1.0,
            1024,
            0.1,
        )
        assert any("outside [0.001, 1]; projected to 1" in n for n in config.notes)

    def test_integers_too_large_for_a_float_are_projected_like_any_far_value(self):
        huge = int("9" * 400)  # JSON allows it; float() does not
        config = self.check("lightgbm", {"n_estimators": huge, "reg_alpha": -huge, "max_bin": str(huge)})
        params = config.params
        assert (params["n_estimators"], params["reg_alpha"], params["max_bin"]) == (2000, 0.0, 1023)
        assert sum("projected to" in note for note in config.notes) == 3

    def test_numeric_choices_project_to_the_nearest(self):
        config = self.check("random_forest", {"max_features": 0.6})
        assert config.params["max_features"] == 0.5
        assert self.check("knn", {"p": 2.0}).params["p"] == 2

    def test_categories_match_case_insensitively(self):
        config = self.check("linear", {"class_weight": "Balanced"})
        assert config.params["class_weight"] == "balanced"

    def test_booleans(self):
        assert self.check("random_forest", {"bootstrap": "false"}).params["bootstrap"] is False
        assert self.check("mlp", {"early_stopping": 1}).params["early_stopping"] is True

    def test_null_is_valid_only_where_it_means_something(self):
        assert self.check("random_forest", {"max_depth": None}).params["max_depth"] is None
        config = self.check("lightgbm", {"learning_rate": None})
        assert config.params["learning_rate"] == 0.1
        assert "learning_rate=None may not be null; used the default 0.1" in config.notes

    def test_garbage_values_fall_back_to_the_default(self):
        config = self.check("lightgbm", {"num_leaves": "lots", "max_bin": float("nan"), "learning_rate": True})
        assert config.params["num_leaves"] == 31 and config.params["max_bin"] == 255
        assert config.params["learning_rate"] == 0.1
        assert len(config.notes) == 3

    def test_layer_lists_become_the_layer_string(self):
        config = self.check("mlp", {"hidden_layer_sizes": [128, 64]})
        assert config.params["hidden_layer_sizes"] == "128-64"
        assert estimator_kwargs(config)["hidden_layer_sizes"] == (128, 64)

    def test_unknown_names_are_dropped_and_aliases_renamed(self):
        config = self.check(
            "lightgbm", {"eta": 0.05, "feature_fraction": 0.8, "colour": "red", "random_state": 3, "n_jobs": 8}
        )
        assert config.params["learning_rate"] == 0.05 and config.params["colsample_bytree"] == 0.8
        assert "colour" not in config.params and "random_state" not in config.params
        assert "renamed 'eta' to 'learning_rate'" in config.notes
        assert "dropped unknown hyperparameter 'colour' for lightgbm" in config.notes
        assert "dropped 'random_state': seeds and threads are set by the run" in config.notes

    def test_an_explicit_name_wins_over_its_alias(self):
        for params in ({"eta": 0.05, "learning_rate": 0.2}, {"learning_rate": 0.2, "eta": 0.05}):
            config = self.check("lightgbm", params)
            assert config.params["learning_rate"] == 0.2
            assert config.notes == ("dropped 'eta': 'learning_rate' is given too",)

    def test_names_match_in_any_case(self):
        config = self.check("lightgbm", {"Learning_Rate": 0.2, "NUM_LEAVES": 15, "Random_State": 1})
        assert (config.params["learning_rate"], config.params["num_leaves"]) == (0.2, 15)
        assert "renamed 'Learning_Rate' to 'learning_rate'" in config.notes
        assert "dropped 'random_state': seeds and threads are set by the run" in config.notes

    @pytest.mark.parametrize(
        "layers, nearest",
        [
            ((50,), "64"),
            ([512, 256], "256-128"),
            ("512-256", "256-128"),
            ("(50,)", "64"),
            (40, "32"),
            ([512, 256, 128], "256-128"),
        ],
    )
    def test_layers_that_are_not_a_choice_project_to_the_nearest(self, layers, nearest):
        config = self.check("mlp", {"hidden_layer_sizes": layers})
        assert config.params["hidden_layer_sizes"] == nearest
        assert config.notes == (f"hidden_layer_sizes={layers!r} is not a choice; projected to {nearest!r}",)

    def test_parameters_of_another_task_are_dropped(self):
        config = self.check("linear", {"C": 10}, task="regression")
        assert config.params == {"alpha": 1.0}
        assert "dropped 'C': it does not apply to regression tasks" in config.notes

    def test_n_neighbors_is_capped_by_the_rows(self):
        config = validate("knn", {"n_neighbors": 150}, "binary", n_rows=40)
        assert config.params["n_neighbors"] == 40

    def test_a_valid_config_has_no_notes(self):
        params = validate("hist_gradient_boosting", {"learning_rate": 0.05, "max_depth": 6}, "regression").params
        assert validate("hist_gradient_boosting", params, "regression").notes == ()


def test_describe_lists_types_ranges_and_grids():
    spec = describe("binary")
    lr = spec["lightgbm"]["params"]["learning_rate"]
    assert lr["type"] == "float" and lr["log"] is True and lr["low"] == 0.001 and 0.05 in lr["grid"]
    assert spec["linear"]["estimator"] == "LogisticRegression" and "alpha" not in spec["linear"]["params"]
    assert spec["random_forest"]["params"]["max_features"]["default"] == "sqrt"
    assert describe("regression")["random_forest"]["params"]["max_features"]["default"] == 1.0


def test_estimators_are_imported_lazily():
    code = "import llm_cash_magic, sys; print(sorted(m for m in ('lightgbm', 'sklearn.ensemble') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_family_whose_library_is_missing_says_what_to_install(monkeypatch):
    import dataclasses

    monkeypatch.setitem(FAMILIES, "catboost", dataclasses.replace(FAMILIES["catboost"], requires="no_such_package"))
    assert validate("catboost", {"depth": 8}, "binary").params["depth"] == 8  # still a valid configuration
    with pytest.raises(CashError, match=r'CatBoost is not installed here: pip install "llm_cash_magic\[no_such'):
        require_installed("catboost")
    assert "catboost" not in [f.name for f in families_for("binary")]
    assert "catboost" not in describe("binary")  # nor in what prompts and editors show


@pytest.mark.parametrize("name", ["xgboost", "catboost"])
def test_the_optional_families_are_among_the_families_when_installed(name):
    assert family(name).installed and name in [f.name for f in families_for("regression")]
    assert family(name).rounds and validate(name, {"early_stopping": True}, "binary").params["early_stopping"]
