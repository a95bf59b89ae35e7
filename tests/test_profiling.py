"""The profile: hand-computed values, column kinds, task inference, and one-line errors."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from llm_cash_magic import CashError, TaskProfile, profile
from llm_cash_magic.profiling.frames import SAMPLE_ROWS


def small_regression() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0],  # range 5, one missing
            "z": [10, 30, 20, 50, 40, 60],  # range 50 (integers, but not an id: gaps)
            "c": ["a", "b", "a", "c", None, "a"],  # 3 levels, one missing
            "d": ["u", "v", "u", "v", "u", "v"],  # 2 levels
            "y": [1.0, 2.0, 3.0, 4.0, 5.0, 9.0],
        }
    )


def kinds(prof: TaskProfile) -> dict[str, str]:
    return {c.name: c.kind for c in prof.columns}


class TestHandComputedValues:
    def test_sizes_counts_and_ranges(self):
        p = profile(small_regression(), "y")
        assert p.n_rows == 6
        assert p.n_features == 4
        assert (p.count("numeric"), p.count("categorical")) == (2, 2)
        assert p.numeric_range_avg == pytest.approx((5 + 50) / 2)

    def test_cardinality_statistics(self):
        assert profile(small_regression(), "y").cardinality == {"min": 2, "max": 3, "median": 2.5, "mode": 3}

    def test_missing_values_and_density(self):
        p = profile(small_regression(), "y")
        assert p.n_missing_values == 2
        assert p.density == pytest.approx(1 - 2 / 24)

    def test_regression_target_statistics(self):
        y = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 9.0])
        stats = profile(small_regression(), "y").target_stats
        z = (y - y.mean()) / y.std()
        assert stats["target_min"] == 1.0 and stats["target_max"] == 9.0
        assert stats["target_mean"] == pytest.approx(4.0)
        assert stats["target_median"] == pytest.approx(3.5)
        assert stats["target_std"] == pytest.approx(y.std())
        assert stats["skewness"] == pytest.approx(np.mean(z**3))
        assert stats["kurtosis"] == pytest.approx(np.mean(z**4) - 3)

    def test_class_balance(self):
        df = pd.DataFrame({"x": [3, 1, 2] * 3 + [1], "y": ["a"] * 6 + ["b"] * 4})
        p = profile(df, "y")
        assert p.task == "binary"
        assert p.target_stats == {
            "n_classes": 2,
            "class_counts": [6, 4],
            "minority_share": 0.4,
            "imbalance_ratio": 1.5,
            "numeric_labels": False,
        }

    def test_an_integer_target_with_few_values_says_how_it_was_read(self, capsys):
        from llm_cash_magic.frontends import terminal

        df = pd.DataFrame({"x": np.arange(40) % 6, "rating": [1, 2, 3, 4, 5] * 8})
        p = profile(df, "rating")
        assert p.task == "multiclass" and p.target_stats["numeric_labels"] is True and p.numbers_as_classes
        terminal.show(terminal.profile_summary(p, "df"))
        assert "its 5 numeric values are read as classes; task=regression reads them as a number" in (
            capsys.readouterr().out
        )
        # a 0/1 target is no rating, and named classes are no numbers
        for target in ([0, 1] * 20, ["low", "mid", "high", "top", "max"] * 8):
            other = profile(df.assign(rating=target), "rating")
            assert not other.numbers_as_classes
            terminal.show(terminal.profile_summary(other, "df"))
            assert "read as classes" not in capsys.readouterr().out

    def test_skewness_summary(self):
        rng = np.random.default_rng(0)
        df = pd.DataFrame(
            {"sym": rng.normal(size=2000), "skewed": rng.lognormal(sigma=1.0, size=2000), "y": rng.normal(size=2000)}
        )
        p = profile(df, "y")
        assert p.n_skewed == 1
        assert p.numeric_skew_mean_abs > 1


class TestColumnKinds:
    def test_id_like_columns_are_excluded(self):
        n = 50
        rng = np.random.default_rng(1)
        df = pd.DataFrame(
            {
                "row": np.arange(n),  # monotone
                "shuffled": rng.permutation(np.arange(100, 100 + n)),  # consecutive, any order
                "customer_id": rng.choice(10**6, n, replace=False),  # named like an id
                "code": [f"K{i:04d}" for i in rng.permutation(n)],  # unique strings
                "few": [5, 1, 9, 3] + [np.nan] * (n - 4),  # unique, but too few to tell
                "area": rng.choice(10**6, n, replace=False),  # unique but a measurement
                "value": rng.normal(size=n),  # unique floats: a measurement
                "y": rng.normal(size=n),
            }
        )
        k = kinds(profile(df, "y"))
        assert [k[c] for c in ("row", "shuffled", "customer_id", "code")] == ["id"] * 4
        assert (k["area"], k["value"], k["few"]) == ("numeric", "numeric", "numeric")

    def test_constant_and_all_missing_columns_are_excluded(self):
        df = pd.DataFrame(
            {"const": [3] * 5, "empty": [np.nan] * 5, "one": ["a"] * 5, "x": [1, 2, 3, 4, 6], "y": [1.0, 2, 3, 4, 5.5]}
        )
        k = kinds(profile(df, "y"))
        assert (k["const"], k["empty"], k["one"], k["x"]) == ("constant", "constant", "constant", "numeric")

    def test_datetime_boolean_and_text(self):
        n = 40
        df = pd.DataFrame(
            {
                "naive": pd.date_range("2024-01-01", periods=n, freq="D"),
                "aware": pd.date_range("2024-01-01", periods=n, freq="h", tz="Europe/Paris"),
                "flag": [True, False] * (n // 2),
                "nullable_flag": pd.array([True, None, False, True] * (n // 4), dtype="boolean"),
                "review": [f"the product number {i} arrived late and the box was damaged" for i in range(n)],
                "y": np.arange(n) % 3 == 0,
            }
        )
        k = kinds(profile(df, "y"))
        assert (k["naive"], k["aware"]) == ("datetime", "datetime")
        assert (k["flag"], k["nullable_flag"]) == ("boolean", "boolean")
        assert k["review"] == "text"

    def test_high_cardinality_categoricals_are_counted(self):
        rng = np.random.default_rng(2)
        df = pd.DataFrame(
            {
                "zip": rng.choice([f"z{i}" for i in range(80)], 1000),
                "x": rng.normal(size=1000),
                "y": rng.normal(size=1000),
            }
        )
        assert profile(df, "y").n_high_cardinality == 1

    def test_pandas_extension_dtypes_infinities_and_mixed_objects(self):
        n = 30
        df = pd.DataFrame(
            {
                "nullable_int": pd.array([1, None, 3] * (n // 3), dtype="Int64"),
                "string": pd.array(["a", "b", None] * (n // 3), dtype="string"),
                "category": pd.Categorical(["x", "y", "z"] * (n // 3)),
                "mixed": ["a", 1, 2.5] * (n // 3),
                "with_inf": [1.0, np.inf, -np.inf, 2.0, 3.0, 4.0] * (n // 6),
                "y": np.arange(n, dtype=float),
            }
        )
        p = profile(df, "y")
        k = kinds(p)
        assert k["nullable_int"] == "numeric" and k["with_inf"] == "numeric"
        assert k["string"] == k["category"] == k["mixed"] == "categorical"
        assert math.isfinite(p.numeric_range_avg)


class TestTaskAndMetric:
    @pytest.mark.parametrize(
        "y, task, metric",
        [
            (["a", "b"] * 10, "binary", "roc_auc"),
            (["a", "b", "c", "d"] * 5, "multiclass", "log_loss"),
            ([0, 1] * 10, "binary", "roc_auc"),
            ([1, 2, 3, 4, 5] * 4, "multiclass", "log_loss"),
            (list(range(20)), "regression", "rmse"),
            ([0.5, 1.5, 2.25, 3.0] * 5, "regression", "rmse"),
            ([True, False] * 10, "binary", "roc_auc"),
        ],
    )
    def test_inferred(self, y, task, metric):
        p = profile(pd.DataFrame({"x": np.arange(20) % 7, "y": y}), "y")
        assert (p.task, p.metric) == (task, metric)

    def test_task_and_metric_overrides(self):
        df = pd.DataFrame({"x": np.arange(20) % 7, "y": [1, 2, 3, 4, 5] * 4})
        p = profile(df, "y", task="regression", metric="mae")
        assert (p.task, p.metric) == ("regression", "mae")

    def test_metric_not_valid_for_task(self):
        df = pd.DataFrame({"x": np.arange(20) % 7, "y": ["a", "b"] * 10})
        with pytest.raises(CashError, match=r"metric='rmse' is not available for binary tasks; use one of: roc_auc"):
            profile(df, "y", metric="rmse")


class TestErrors:
    @pytest.mark.parametrize(
        "df, target, message",
        [
            ([1, 2, 3], "y", "expected a pandas DataFrame, got list"),
            (pd.DataFrame({"x": [], "y": []}), "y", r"the DataFrame is empty \(0 rows\)"),
            (pd.DataFrame({"y": [1, 2, 3]}), "y", "has only the target column 'y'"),
            (pd.DataFrame([[1, 2, 3]], columns=["a", "a", "y"]), "y", "duplicate column names: 'a'"),
            (pd.DataFrame({0: [1, 2], "y": [1, 2]}), "y", "column names must be strings; found 0"),
            (pd.DataFrame({"price_usd": [1, 2], "x": [1, 2]}), "price", "did you mean 'price_usd'"),
            (pd.DataFrame({"x": [1, 2], "y": [np.nan, np.nan]}), "y", "every row is missing"),
            (pd.DataFrame({"x": [1, 2, 3], "y": [5, 5, 5]}), "y", "is constant"),
            (pd.DataFrame({"x": range(5), "y": ["a", "a", "b", "b", "c"]}), "y", "class 'c' .* has a single row"),
        ],
    )
    def test_bad_input_gets_one_line(self, df, target, message):
        with pytest.raises(CashError, match=message) as info:
            profile(df, target)
        assert "\n" not in str(info.value)

    def test_binary_needs_two_classes(self):
        df = pd.DataFrame({"x": range(6), "y": ["a", "b", "c"] * 2})
        with pytest.raises(CashError, match="task=binary needs exactly 2 classes; 'y' has 3"):
            profile(df, "y", task="binary")

    def test_regression_needs_numbers(self):
        df = pd.DataFrame({"x": range(6), "y": ["a", "b", "c"] * 2})
        with pytest.raises(CashError, match="task=regression needs a numeric target"):
            profile(df, "y", task="regression")

    def test_rmsle_needs_nonnegative_target(self):
        df = pd.DataFrame({"x": range(20), "y": np.linspace(-1, 1, 20)})
        with pytest.raises(CashError, match="rmsle needs a non-negative target"):
            profile(df, "y", metric="rmsle")

    def test_only_id_like_features(self):
        df = pd.DataFrame({"id": range(30), "y": np.linspace(0, 1, 30)})
        with pytest.raises(CashError, match=r"no usable feature columns besides the target: 'id' \(monotone"):
            profile(df, "y")


def test_rows_with_missing_target_are_dropped_and_counted():
    df = pd.DataFrame({"x": range(8), "y": [1.0, 2.0, np.nan, 4.0, np.inf, 6.0, 7.0, 8.5]})
    p = profile(df, "y")
    assert (p.n_rows, p.n_rows_dropped) == (6, 2)


class TestSerialisation:
    def test_to_dict_is_json_and_round_trips(self, houses):
        p = profile(houses, "price")
        data = json.loads(json.dumps(p.to_dict()))
        assert TaskProfile.from_dict(data) == p

    def test_no_cell_value_leaves_the_profile(self, churn):
        churn = churn.copy()
        churn["secret"] = ["SENTINEL-7731", "other"] * (len(churn) // 2)
        churn["amount"] = 123456.789
        churn.loc[0, "amount"] = 987654.321
        p = profile(churn, "churned")
        text = json.dumps(p.to_dict()) + p.to_markdown(column_names=True)
        assert "SENTINEL-7731" not in text and "987654" not in text
        assert "'yes'" not in text and '"yes"' not in text  # class labels are values too

    def test_markdown_follows_the_papers_layout(self, houses):
        md = profile(houses, "price").to_markdown()
        assert md.splitlines()[:3] == ["# Task profile", "## dataset", "**prediction_type**: regression"]
        for line in (
            "**score_name**: rmse",
            "**n_train**: 300",
            "### features",
            "**numeric_features**: 2",
            "### missing_data",
            "### target_values",
            "**dropped_id_like_columns**: 1",
        ):
            assert line in md

    def test_column_names_only_on_request(self, houses):
        p = profile(houses, "price")
        assert "city" not in p.to_markdown()
        assert "city" in p.to_markdown(column_names=True)

    def test_meta_features_are_finite_numbers(self, houses, churn):
        for p in (profile(houses, "price"), profile(churn, "churned")):
            vector = p.meta_feature_vector()
            assert vector.shape == (len(p.meta_features()),) and np.isfinite(vector).all()


class TestFingerprint:
    def test_same_data_same_fingerprint(self, houses):
        assert profile(houses, "price").fingerprint == profile(houses.copy(), "price").fingerprint

    def test_changed_value_size_or_schema_changes_it(self, houses):
        base = profile(houses, "price").fingerprint
        edited = houses.copy()
        edited.loc[0, "area"] += 1
        assert profile(edited, "price").fingerprint != base
        assert profile(houses.iloc[:-1], "price").fingerprint != base
        assert profile(houses[list(reversed(houses.columns))], "price").fingerprint != base
        assert profile(houses, "rooms").fingerprint != base


class TestAwkwardTargets:
    def test_unused_categories_of_a_categorical_target_are_not_classes(self):
        rng = np.random.default_rng(0)
        y = pd.Categorical(rng.choice(["lo", "hi"], 40), categories=["lo", "hi", "never"])
        p = profile(pd.DataFrame({"x": rng.normal(size=40), "y": y}), "y")
        counts = sorted(pd.Series(y).value_counts().to_numpy()[:2], reverse=True)
        assert (p.task, p.metric) == ("binary", "roc_auc")
        assert p.target_stats["n_classes"] == 2 and p.target_stats["class_counts"] == counts
        assert p.target_stats["minority_share"] == counts[1] / 40

    def test_a_target_of_mixed_types_is_refused_with_the_fix(self):
        df = pd.DataFrame({"x": range(20), "t": [1, "one"] * 10})
        with pytest.raises(
            CashError,
            match=r"target 't' mixes value types \(int, str\); .*"
            r"df\['t'\] = df\['t'\]\.astype\(str\)",
        ) as info:
            profile(df, "t")
        assert "\n" not in str(info.value)

    def test_a_datetime_target_is_refused_as_such(self):
        when = pd.date_range("2024-01-01", periods=120, freq="h", tz="Europe/Paris")
        with pytest.raises(CashError, match="datetime targets are not supported"):
            profile(pd.DataFrame({"x": range(120), "when": when}), "when")

    def test_an_all_infinite_target_is_called_infinite(self):
        with pytest.raises(CashError, match=r"every value is infinite or missing"):
            profile(pd.DataFrame({"x": range(4), "y": [np.inf, -np.inf, np.nan, np.inf]}), "y")


def test_large_frames_are_counted_on_the_sample_where_exactness_does_not_matter(monkeypatch):
    """A continuous target and unique strings (ids, e-mails) are told apart on the sample: counting
    every distinct value of a million-row column costs more than the rest of the profile."""
    n = SAMPLE_ROWS + 20_000
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "email": [f"user{i}@example.com" for i in rng.permutation(n)],
            "y": rng.normal(size=n),
        }
    )
    counted = []
    for method in ("nunique", "value_counts", "unique"):
        counts = getattr(pd.Series, method)

        def spy(series, *args, counts=counts, **kwargs):
            counted.append(len(series))
            return counts(series, *args, **kwargs)

        monkeypatch.setattr(pd.Series, method, spy)
    p = profile(df, "y")
    assert kinds(p) == {"x": "numeric", "email": "id"} and p.task == "regression"
    assert max(counted) <= SAMPLE_ROWS


def test_pyarrow_backed_frames_are_read_kind_by_kind():
    import pyarrow as pa

    n = 60
    df = pa.table(
        {
            "amount": pa.array([float(i) if i % 9 else None for i in range(n)]),
            "count": pa.array([i % 11 for i in range(n)], type=pa.int32()),
            "flag": pa.array([i % 2 == 0 for i in range(n)]),
            "word": pa.array([["a", "b", "c"][i % 3] for i in range(n)]),
            "coded": pa.array([["x", "y"][i % 2] for i in range(n)]).dictionary_encode(),
            "when": pa.array(pd.date_range("2024-01-01", periods=n, freq="D")),
            "nested": pa.array([{"secret\nfield": i} for i in range(n)]),
            "listed": pa.array([[i] for i in range(n)]),
            "y": pa.array([float(i % 7) + 0.5 * i for i in range(n)]),
        }
    ).to_pandas(types_mapper=pd.ArrowDtype)
    prof = profile(df, "y")
    kinds = {c.name: (c.kind, c.why) for c in prof.columns}
    assert kinds == {
        "amount": ("numeric", ""),
        "count": ("numeric", ""),
        "flag": ("boolean", ""),
        "word": ("categorical", ""),
        "coded": ("categorical", ""),
        "when": ("datetime", ""),
        "nested": ("unsupported", "nested values (a struct)"),
        "listed": ("unsupported", "nested values (a list)"),
    }
    assert prof.task == "regression" and "secret" not in json.dumps(prof.to_dict())  # field names are data


@pytest.mark.parametrize(
    "values, problem",
    [
        ([1 + 2j, 3 + 0j] * 20, "holds complex numbers, which no model here predicts"),
        ([1e308, -1e308, 5.0, 6.0] * 10, "beyond ±1e+150: its squared errors overflow; rescale it first"),
    ],
)
def test_targets_no_model_can_learn_are_refused_with_one_line(values, problem):
    df = pd.DataFrame({"x": np.arange(len(values)), "y": values})
    with pytest.raises(CashError, match=re.escape(problem)):
        profile(df, "y")


def test_features_too_large_to_scale_or_complex_are_left_out_saying_why():
    n = 50
    df = pd.DataFrame(
        {
            "huge": np.linspace(-1e300, 1e300, n),
            "z": np.arange(n) * (1 + 1j),
            "x": np.random.default_rng(0).normal(size=n),
            "y": np.arange(n) % 2,
        }
    )
    kinds = {c.name: (c.kind, c.why) for c in profile(df, "y").columns}
    assert kinds["huge"] == ("unsupported", "values beyond ±1e+150, which overflow scaling")
    assert kinds["z"] == ("unsupported", "complex numbers")
