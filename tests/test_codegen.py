"""Generated code: it compiles, trains, predicts on new rows, and keeps hostile strings inert."""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import io
import re

import numpy as np
import pandas as pd
import pytest

from llm_cash_magic import CashError, generate_blend_code, generate_code, profile, validate
from llm_cash_magic.codegen import build, build_model, effective_cv
from llm_cash_magic.run.evaluation import cross_validate, training_data
from llm_cash_magic.space import FAMILIES, family

HOSTILE = "'\"); import os #"


def messy_frame(n: int = 160, seed: int = 3) -> pd.DataFrame:
    """Every column kind the profile knows, with missing values, infinities and pandas extension dtypes."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
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
        }
    )
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


@pytest.mark.parametrize("task", sorted(TARGETS))
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_generated_code_and_the_in_process_routine_give_the_same_scores_on_the_same_folds(name, task):
    """One cross-validation routine: what refinement, the benchmark and the knowledge base measure
    is what the cell prints."""
    df = frame_for(task, messy_frame())
    prof = profile(df, TARGETS[task])
    config = validate(name, {}, prof.task)
    ns, _ = run(generate_code(prof, config, data_name="df", cv=3, seed=4), df=df)
    X, y = training_data(df, prof)
    in_process = cross_validate(prof, build(prof, config, seed=4, cv=3), X, y, cv=3, seed=4)
    assert np.allclose(ns["cash_scores"], in_process, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("task", sorted(TARGETS))
def test_one_held_out_split_for_large_data_is_what_the_in_process_routine_scores(task):
    """cv=1, a large frame's validation: one split holding out a fifth of the rows, then the final fit."""
    df = frame_for(task, messy_frame())
    prof = profile(df, TARGETS[task])
    config = validate("lightgbm", {"early_stopping": True}, prof.task)
    code = generate_code(prof, config, data_name="df", cv=1, seed=4)
    ns, printed = run(code, df=df)
    assert "held-out split of 20% of the rows, seed 4" in code and "n_splits=1, test_size=0.2" in code
    assert re.search(rf"{prof.metric}: \d+\.\d{{4}} on the held-out rows", printed) and "over 1 folds" not in printed
    X, y = training_data(df, prof)
    in_process = cross_validate(prof, build(prof, config, seed=4, cv=1), X, y, cv=1, seed=4)
    assert ns["cash_scores"].shape == (1,) and np.allclose(ns["cash_scores"], in_process, rtol=1e-9, atol=1e-12)


def test_every_hyperparameter_is_spelled_out_with_the_seed():
    prof = profile(frame_for("binary", messy_frame()), "expensive")
    config = validate("lightgbm", {"num_leaves": 15}, prof.task)
    code = generate_code(prof, config, seed=7)
    for name, value in config.params.items():
        if family("lightgbm").param(name).estimator_arg:  # early stopping is the code's, not LightGBM's
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


def test_left_out_columns_are_named_with_their_reason_in_a_literal():
    df = frame_for("binary", messy_frame())
    code = generate_code(profile(df, "expensive"), validate("lightgbm", {}, "binary"))
    left_out = code[code.index("CASH_LEFT_OUT = {") : code.index("}  # not features, and why")]
    assert "'row_id': 'monotone integer, unique per row'," in left_out
    assert "'notes': 'free text'," in left_out and "'constant': 'a single value'," in left_out


def test_the_record_call_is_only_emitted_for_a_trial():
    prof = profile(frame_for("binary", messy_frame()), "expensive")
    config = validate("linear", {}, "binary")
    assert "record_result" not in generate_code(prof, config)
    assert "llm_cash_magic.record_result('abc-1', cash_model, cash_scores, cash_fit_seconds)" in generate_code(
        prof, config, trial_id="abc-1"
    )


class TestHostileStrings:
    def hostile_frame(self) -> pd.DataFrame:
        rng = np.random.default_rng(5)
        n = 120
        return pd.DataFrame(
            {
                HOSTILE: rng.normal(size=n),
                "x\nimport os": rng.choice(["a", "b"], n),
                'json"[chars]{}:,': rng.normal(size=n),
                "ok": rng.normal(size=n),
                "target ')\nimport os": rng.choice(["p", "q"], n),
            }
        )

    @pytest.mark.parametrize("name", ["lightgbm", "random_forest", "linear"])
    def test_column_names_stay_inert_string_literals(self, name):
        df = self.hostile_frame()
        prof = profile(df, "target ')\nimport os")
        code = generate_code(prof, validate(name, {}, prof.task), data_name="df", cv=3, source="x')\nimport os  #")
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
    df = pd.DataFrame({"country": rng.choice([f"c{i}" for i in range(90)], 600), "x": rng.normal(size=600)})
    df["y"] = rng.normal(size=600) + (df["country"].str[1:].astype(int) % 7)
    prof = profile(df, "y")
    config = validate("hist_gradient_boosting", {"max_bins": 31}, prof.task)
    code = generate_code(prof, config, data_name="df", cv=3)
    assert "# note: max_bins=31 raised to 90" in code and "max_bins=90," in code
    namespace = {"df": df}
    exec(compile(code, "<hgb>", "exec"), namespace)
    assert np.all(np.isfinite(namespace["cash_scores"]))


# names people give their own variables, and every name older generated code assigned
COMMON_NAMES = (
    "train",
    "test",
    "X",
    "y",
    "data",
    "model",
    "preprocess",
    "folds",
    "scorer",
    "fitted",
    "fold",
    "started",
    "fit_seconds",
    "predictions",
    "weights",
    "chosen",
    "blended",
    "name",
    "member",
    "scores",
    "score",
    "p",
    "w",
    "TARGET",
    "NUMERIC",
    "CATEGORICAL",
    "DATETIME",
    "CLASSES",
    "as_float",
    "as_strings",
    "as_category",
    "datetime_parts",
    "lightgbm_names",
    "blend_score",
    "select_weights",
    "numeric_steps",
    "categorical_steps",
    "datetime_steps",
    "lightgbm_preprocess",
    "tree_preprocess",
    "scaled_preprocess",
    "lightgbm_1",
    "random_forest_2",
    "linear_3",
)


@pytest.mark.parametrize("blend", [False, True])
def test_the_code_leaves_only_cash_names_in_the_users_namespace(blend):
    df = frame_for("binary", messy_frame()).rename(columns={"area": "area m²"})  # LightGBM renames it
    prof = profile(df, "expensive")
    configs = [validate(name, {}, prof.task) for name in ("lightgbm", "random_forest", "linear")]
    code = (
        generate_blend_code(prof, configs, data_name="df", cv=3)
        if blend
        else generate_code(prof, configs[0], data_name="df", cv=3)
    )
    sentinels = {name: object() for name in COMMON_NAMES}
    ns, _ = run(code, df=df, **sentinels)
    assert all(ns[name] is sentinel for name, sentinel in sentinels.items())
    tree = ast.parse(code)
    imported = {
        (alias.asname or alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    left = set(ns) - set(sentinels) - imported - {"df", "__builtins__"}
    assert {name for name in left if not name.lower().startswith("cash_")} == set()
    assert {"cash_model", "cash_scores", "cash_fit_seconds"} <= left


def test_lightgbm_gets_names_it_accepts_whatever_the_columns_are_called():
    rng = np.random.default_rng(4)
    n = 120
    df = pd.DataFrame(
        {
            "sale price": rng.normal(size=n),
            "sale_price": rng.normal(size=n),
            "": rng.normal(size=n),
            "two\nlines": rng.normal(size=n),
            "tab\there": rng.choice(["a", "b"], n),
            "bell\x07": rng.normal(size=n),
            "y": rng.normal(size=n),
        }
    )
    prof = profile(df, "y")
    ns, _ = run(generate_code(prof, validate("lightgbm", {"n_estimators": 20}, prof.task), data_name="df", cv=3), df=df)
    assert np.isfinite(ns["cash_scores"]).all() and len(ns["cash_model"].predict(df.head(3))) == 3
    names = ns["cash_model"].named_steps["model"].feature_name_
    assert len(set(names)) == 6 and "sale_price_2" in names


@pytest.mark.parametrize("name", ["lightgbm", "hist_gradient_boosting", "random_forest", "linear"])
def test_datetime_parts_never_take_the_name_of_another_column(name):
    rng = np.random.default_rng(6)
    n = 90
    df = pd.DataFrame(
        {
            "d": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
            "d_year": rng.normal(size=n),
            "d_year_": rng.normal(size=n),
            "y": rng.normal(size=n),
        }
    )
    prof = profile(df, "y")
    ns, _ = run(generate_code(prof, validate(name, {}, prof.task), data_name="df", cv=3), df=df)
    assert np.isfinite(ns["cash_scores"]).all()
    if name != "linear":  # the others see named columns
        assert list(ns["cash_model"][:-1].transform(df.head(2)).columns[:4]) == [
            "d_year",
            "d_year_",
            "d_year__",
            "d_month",
        ]


def test_folds_never_go_below_two():
    prof = profile(pd.DataFrame({"x": np.arange(30) % 7, "y": ["a"] * 27 + ["b"] * 3}), "y")
    lopsided = dataclasses.replace(prof, target_stats=prof.target_stats | {"class_counts": [29, 1]})
    with pytest.raises(CashError, match="needs at least 2 folds, but the smallest class has only 1 row$"):
        effective_cv(lopsided, 5)


def test_a_categorical_target_with_unused_categories_trains():
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {"x": rng.normal(size=60), "y": pd.Categorical(rng.choice(["lo", "hi"], 60), categories=["lo", "hi", "never"])}
    )
    prof = profile(df, "y")
    assert (prof.task, prof.target_stats["n_classes"]) == ("binary", 2)
    assert effective_cv(prof, 3) == (3, None)
    ns, _ = run(generate_code(prof, validate("linear", {}, prof.task), data_name="df", cv=3), df=df)
    assert np.isfinite(ns["cash_scores"]).all()


def classes_frame(n: int, rare: int = 0) -> pd.DataFrame:
    """``n`` rows, 5 classes; with ``rare`` rows of a sixth."""
    rng = np.random.default_rng(8)
    df = pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd"))
    df["y"] = np.where(df["a"] + rng.normal(size=n) > 0, "p", "q") + pd.Series(rng.integers(0, 3, n)).astype(str)
    df.loc[: rare - 1, "y"] = "rare"
    return df


def test_histogram_boosting_stops_early_as_its_parameter_says():
    auto = validate("hist_gradient_boosting", {"max_iter": 1000, "learning_rate": 0.3}, "multiclass")
    df = classes_frame(1500)
    prof = profile(df, "y")
    assert "    early_stopping='auto'," in generate_code(prof, auto, cv=3)  # the library's rule: above 10,000 rows
    stopping = validate(
        "hist_gradient_boosting", {"max_iter": 1000, "learning_rate": 0.3, "early_stopping": True}, "multiclass"
    )
    ns, _ = run(generate_code(prof, stopping, data_name="df", cv=3), df=df)
    assert ns["cash_model"].named_steps["model"].n_iter_ < 1000


def test_early_stopping_is_turned_off_where_too_few_rows_could_be_held_out():
    config = validate("hist_gradient_boosting", {"early_stopping": True}, "multiclass")
    rare = profile(classes_frame(1500, rare=2), "y")  # a class too rare for the stratified split
    code = generate_code(rare, config, cv=2)
    assert "    early_stopping=False," in code and "# note: early_stopping=True turned off" in code
    tiny = profile(classes_frame(60), "y")  # a tenth of a fold is a handful of rows
    lightgbm = validate("lightgbm", {"early_stopping": True, "n_estimators": 2000}, "multiclass")
    assert "cash_fit_stopping_early" not in generate_code(tiny, lightgbm, cv=3)


@pytest.mark.parametrize("name", ["lightgbm", "xgboost", "catboost"])
@pytest.mark.parametrize("task", sorted(TARGETS))
def test_boosting_stops_early_in_each_fold_and_the_final_fit_trains_what_the_folds_kept(name, task):
    df = frame_for(task, messy_frame(400))
    prof = profile(df, TARGETS[task])
    rounds = family(name).rounds
    config = validate(name, {"early_stopping": True, "learning_rate": 0.3, rounds: 2000}, prof.task)
    ns, printed = run(generate_code(prof, config, data_name="df", cv=3), df=df)
    kept = ns["cash_rounds"]
    assert kept["cap"] == 2000 and len(kept["kept"]) == 3 and min(kept["kept"]) < 2000
    assert kept["final"] == round(np.mean(kept["kept"]))
    assert ns["cash_model"].get_params()[f"model__{rounds}"] == kept["final"]
    assert "rounds kept by the folds" in printed
    assert printed.index("fold 3/3: ") < printed.index("final fit on all 400 rows, about ")  # said before the wait
    assert len(ns["cash_model"].predict(new_rows(df))) == 4


def test_a_blend_member_that_stops_early_does_so_in_each_fold():
    df = frame_for("binary", messy_frame(400))
    prof = profile(df, "expensive")
    configs = [
        validate("lightgbm", {"early_stopping": True, "n_estimators": 2000}, "binary"),
        validate("linear", {}, "binary"),
    ]
    ns, printed = run(generate_blend_code(prof, configs, data_name="df", cv=3), df=df)
    assert ns["CASH_ROUNDS"] == {"lightgbm_1": "model__n_estimators"}
    assert ns["cash_model"].named_estimators_["lightgbm_1"].get_params()["model__n_estimators"] < 2000
    assert len(ns["cash_model"].predict_proba(new_rows(df))) == 4


def test_knn_neighbours_are_capped_by_the_rows_of_a_training_fold():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"x": rng.normal(size=40), "y": rng.normal(size=40)})
    prof = profile(df, "y")
    config = validate("knn", {"n_neighbors": 50}, prof.task)
    code = generate_code(prof, config, data_name="df", cv=5)
    assert "# note: n_neighbors=50 exceeds the 32 training rows; capped" in code and "n_neighbors=32," in code
    assert np.isfinite(run(code, df=df)[0]["cash_scores"]).all()
    assert build_model(prof, config).named_steps["model"].n_neighbors == 50  # unchanged where no folds are known


class TestTextFromDataNeverBecomesCode:
    """Every piece of text in generated code that the project did not write — column names, dtype
    strings, category labels, a recommender's name — sits inside a ``repr`` literal, in code and in
    comments alike: the code of a hostile frame differs from that of a tame twin only inside literals."""

    PAYLOADS = ("a\nCANARY = 1", "b\rCANARY = 2", "c\u2028CANARY = 3", "d'\"#CANARY", "e\n# x\nCANARY = 4")

    def frames(self, payload):
        import pyarrow as pa

        rng = np.random.default_rng(1)
        n = 120

        def table(names, label, field):
            return pa.table(
                {
                    names[0]: rng.normal(size=n),
                    names[1]: pa.array([[label, "b"][i % 2] for i in range(n)]),
                    names[2]: pa.array([{field: i} for i in range(n)]),  # a struct: its dtype string holds field
                    names[3]: pd.date_range("2024-01-01", periods=n, freq="h"),
                    names[4]: rng.normal(size=n),
                }
            ).to_pandas(types_mapper=pd.ArrowDtype)

        hostile = table([payload + str(i) for i in range(5)], payload, payload)
        tame = table([f"col{i}" for i in range(5)], "label", "field")
        return (hostile, hostile.columns[4]), (tame, tame.columns[4])

    @staticmethod
    def outside_literals(code: str) -> list[str]:
        """Every token's text outside string literals (those inside a comment masked too)."""
        import tokenize

        literal = re.compile(r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")
        out = []
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            assert token.type != tokenize.ERRORTOKEN, token
            if token.type == tokenize.COMMENT:
                out.append(literal.sub("<str>", token.string))
            elif token.type != tokenize.STRING:
                out.append(token.string)
        return out

    @pytest.mark.parametrize("payload", PAYLOADS)
    @pytest.mark.parametrize("name", ["lightgbm", "catboost", "linear"])
    def test_the_text_outside_literals_is_the_projects_own(self, payload, name):
        (hostile, target), _ = self.frames(payload)
        prof = profile(hostile, target)
        configs = [validate(name, {}, prof.task), validate("xgboost", {}, prof.task)]
        for code in (
            generate_code(prof, configs[0], data_name="df", cv=3, trial_id="t-1", source=f"llm:{payload}"),
            generate_blend_code(prof, configs, data_name="df", cv=3, trial_id="t-2", source=f"llm:{payload}"),
        ):
            text = self.outside_literals(code)
            assert not any("CANARY" in t for t in text), [t for t in text if "CANARY" in t]
            assert "CASH_LEFT_OUT = {" in code  # the struct column is left out, named in a literal only

    @pytest.mark.parametrize("payload", PAYLOADS)
    def test_a_hostile_frame_trains_and_runs_none_of_its_text(self, payload):
        (hostile, target), _ = self.frames(payload)
        prof = profile(hostile, target)
        code = generate_code(prof, validate("lightgbm", {}, prof.task), data_name="df", cv=3)
        ast.parse(code)
        ns, _ = run(code, df=hostile)
        assert "CANARY" not in ns and len(ns["cash_scores"]) == 3


@pytest.mark.parametrize("levels", [300, 5_000])
@pytest.mark.parametrize("task", ["binary", "regression"])
def test_every_family_trains_on_a_categorical_of_hundreds_or_thousands_of_levels(levels, task):
    rng = np.random.default_rng(levels)
    n = 3_000
    job = pd.Series(rng.choice([f"title {i}" for i in range(levels)], n))
    job[rng.random(n) < 0.05] = None  # with missing values, as real job titles come
    df = pd.DataFrame({"job": job, "x": rng.normal(size=n)})
    df["y"] = df["x"] + rng.normal(size=n)
    if task == "binary":
        df["y"] = np.where(df["y"] > 0, "a", "b")
    prof = profile(df, "y")
    X, y = training_data(df, prof)
    for name in FAMILIES:
        scores = cross_validate(prof, build(prof, validate(name, {}, prof.task), 0, 3), X, y, cv=3, limit=1)
        assert np.isfinite(scores).all(), name
