"""Generated code: it compiles, trains, predicts on new rows, and keeps hostile strings inert."""

from __future__ import annotations

import contextlib
import io
import re

import numpy as np
import pandas as pd
import pytest

from llm_cash_magic import CashError, generate_code, profile, validate
from llm_cash_magic.codegen import build_model, effective_cv
from llm_cash_magic.space import FAMILIES

HOSTILE = "'\"); import os #"


def messy_frame(n: int = 160, seed: int = 3) -> pd.DataFrame:
    """Every column kind the profile knows, with missing values, infinities and pandas extension dtypes."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "row_id": np.arange(n),
        "area": rng.lognormal(4, 0.5, n),
        "rooms": pd.array(rng.integers(1, 6, n), dtype="Int64"),
        "city": rng.choice(["Lyon", "Paris", "Nantes", None], n),
        "kind": pd.Series(rng.choice(["flat", "house"], n), dtype="string"),
        "mixed": rng.choice(["a", 1, 2.5], n),
        "garden": pd.array(rng.choice([True, False, None], n), dtype="boolean"),
        "listed": pd.date_range("2023-01-01", periods=n, freq="D", tz="Europe/Paris"),
        "constant": 1,
        "notes": [f"listing {i}: a sunny place with a view over the old town" for i in range(n)],
    })
    df.loc[2, "area"] = np.inf
    df.loc[[3, 4], "rooms"] = pd.NA
    value = 2 * np.nan_to_num(df["area"].to_numpy(dtype=float), posinf=50) + 10 * (df["city"] == "Paris")
    df["price"] = value + rng.normal(0, 5, n)
    df["expensive"] = np.where(df["price"] > df["price"].median(), "yes", "no")
    df["band"] = pd.qcut(df["price"], 3, labels=["low", "mid", "high"]).astype(str)
    return df


TARGETS = {"regression": "price", "binary": "expensive", "multiclass": "band"}


def frame_for(task: str, df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=[t for t in TARGETS.values() if t != TARGETS[task]])


def run(code: str, **namespace) -> tuple[dict, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<generated>", "exec"), namespace)
    return namespace, out.getvalue()


def new_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows the model never saw: an unseen city, missing values everywhere they can be."""
    rows = df.head(4).copy()
    rows["city"] = ["Marseille", None, "Lyon", "Atlantis"]
    rows.loc[rows.index[1], ["area", "rooms", "kind", "garden", "listed"]] = [np.nan, pd.NA, pd.NA, pd.NA, pd.NaT]
    return rows.drop(columns=list(TARGETS.values()), errors="ignore")


@pytest.mark.parametrize("task", sorted(TARGETS))
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_family_trains_and_predicts_new_rows(name, task):
    df = frame_for(task, messy_frame())
    prof = profile(df, TARGETS[task])
    code = generate_code(prof, validate(name, {}, prof.task), data_name="df", cv=3)
    ns, printed = run(code, df=df)
    assert re.search(rf"{prof.metric}: \d+\.\d{{4}} ± \d+\.\d{{4}} over 3 folds", printed)
    assert printed.count("fold ") == 3
    assert len(ns["cash_scores"]) == 3 and np.isfinite(ns["cash_scores"]).all()
    predictions = ns["cash_model"].predict(new_rows(df))
    assert len(predictions) == 4


def test_every_hyperparameter_is_spelled_out_with_the_seed():
    prof = profile(frame_for("binary", messy_frame()), "expensive")
    config = validate("lightgbm", {"num_leaves": 15}, prof.task)
    code = generate_code(prof, config, seed=7)
    for name, value in config.params.items():
        assert f"    {name}={value!r}," in code
    assert "random_state=7" in code and "shuffle=True, random_state=7" in code


def test_same_seed_same_scores():
    df = frame_for("regression", messy_frame())
    code = generate_code(profile(df, "price"), validate("random_forest", {"n_estimators": 20}, "regression"), cv=3)
    assert np.allclose(run(code, df=df)[0]["cash_scores"], run(code, df=df)[0]["cash_scores"], rtol=1e-12)


def test_losses_are_reported_as_positive_numbers():
    df = frame_for("regression", messy_frame())
    ns, _ = run(generate_code(profile(df, "price"), validate("linear", {}, "regression"), cv=3), df=df)
    assert (ns["cash_scores"] > 0).all()


def test_provenance_header():
    df = frame_for("binary", messy_frame())
    prof = profile(df, "expensive")
    code = generate_code(prof, validate("knn", {}, "binary"), data_name="df", cv=4, seed=3, source="defaults")
    header = "\n".join(code.splitlines()[:5])
    assert f"fingerprint {prof.fingerprint}" in header and "4-fold stratified CV, seed 3" in header
    assert "recommended by 'defaults'" in header and "scikit-learn " in header and "pandas " in header


def test_left_out_columns_are_named_in_comments():
    df = frame_for("binary", messy_frame())
    code = generate_code(profile(df, "expensive"), validate("lightgbm", {}, "binary"))
    assert "# not a feature: 'row_id' (monotone integer, unique per row)" in code
    assert "# not a feature: 'notes' (free text)" in code
    assert "# not a feature: 'constant' (a single value)" in code


def test_the_record_call_is_only_emitted_for_a_trial():
    prof = profile(frame_for("binary", messy_frame()), "expensive")
    config = validate("linear", {}, "binary")
    assert "record_result" not in generate_code(prof, config)
    assert "llm_cash_magic.record_result('abc-1', cash_model, cash_scores, fit_seconds)" in generate_code(
        prof, config, trial_id="abc-1")


class TestHostileStrings:
    def hostile_frame(self) -> pd.DataFrame:
        rng = np.random.default_rng(5)
        n = 120
        return pd.DataFrame({
            HOSTILE: rng.normal(size=n),
            "x\nimport os": rng.choice(["a", "b"], n),
            'json"[chars]{}:,': rng.normal(size=n),
            "ok": rng.normal(size=n),
            "target ')\nimport os": rng.choice(["p", "q"], n),
        })

    @pytest.mark.parametrize("name", ["lightgbm", "random_forest", "linear"])
    def test_column_names_stay_inert_string_literals(self, name):
        df = self.hostile_frame()
        prof = profile(df, "target ')\nimport os")
        code = generate_code(prof, validate(name, {}, prof.task), data_name="df", cv=3,
                             source="x')\nimport os  #")
        assert not any(line.lstrip().startswith("import os") for line in code.splitlines())
        ns, _ = run(code, df=df)
        assert "os" not in ns
        assert len(ns["cash_model"].predict(df.head(3))) == 3

    def test_a_data_name_that_is_not_a_name_is_refused(self):
        prof = profile(self.hostile_frame(), "ok")
        with pytest.raises(CashError, match="is not a variable name"):
            generate_code(prof, validate("linear", {}, prof.task), data_name="df; import os")

    def test_invalid_params_given_to_codegen_are_validated_again(self):
        from llm_cash_magic.space import Config

        prof = profile(self.hostile_frame(), "ok")
        code = generate_code(prof, Config("lightgbm", {"num_leaves": "__import__('os')", "n_estimators": 10**9}))
        assert "__import__" not in code and "n_estimators=2000," in code


def test_folds_are_reduced_to_what_the_smallest_class_allows():
    df = pd.DataFrame({"x": np.arange(30) % 7, "y": ["a"] * 27 + ["b"] * 3})
    assert effective_cv(profile(df, "y"), 5) == (3, "cv=5 reduced to 3: the smallest class has only 3 rows")
    assert effective_cv(profile(df, "y"), 3) == (3, None)


def test_build_model_is_the_pipeline_the_code_trains():
    df = frame_for("binary", messy_frame())
    prof = profile(df, "expensive")
    config = validate("hist_gradient_boosting", {"max_iter": 30}, prof.task)
    model = build_model(prof, config, seed=1)
    ns, _ = run(generate_code(prof, config, seed=1, cv=3), df=df)
    assert model.named_steps["model"].get_params() == ns["cash_model"].named_steps["model"].get_params()
    X, y = df.drop(columns="expensive"), df["expensive"]
    assert np.array_equal(model.fit(X, y).predict_proba(X), ns["cash_model"].predict_proba(X))


def test_histogram_boosting_gets_a_bin_for_every_category():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({
        "country": rng.choice([f"c{i}" for i in range(90)], 600), "x": rng.normal(size=600)})
    df["y"] = rng.normal(size=600) + (df["country"].str[1:].astype(int) % 7)
    prof = profile(df, "y")
    config = validate("hist_gradient_boosting", {"max_bins": 31}, prof.task)
    code = generate_code(prof, config, data_name="df", cv=3)
    assert "# note: max_bins=31 raised to 90" in code and "max_bins=90," in code
    namespace = {"df": df}
    exec(compile(code, "<hgb>", "exec"), namespace)
    assert np.all(np.isfinite(namespace["cash_scores"]))
