"""A pandas DataFrame + target → TaskProfile.

The profile keeps column names, kinds and aggregate numbers only: never a cell value, never a
category label. Counts that are cheap are exact (missing values, ranges, class counts); statistics
of distributions (skewness, distinct strings) are taken on a fixed-seed sample of rows so that
profiling a 10M-row frame stays interactive.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from contextlib import suppress

import numpy as np
import pandas as pd

from ..errors import CashError
from ..metrics import DEFAULT_METRIC, TASKS, get_metric
from .task_profile import FEATURE_KINDS, Column, TaskProfile

SAMPLE_ROWS = 100_000  # rows used for distribution statistics
LARGEST = 1e150  # beyond this, squaring a value (variances, squared errors) overflows a float
MAX_CLASSES_FROM_INTEGERS = 10  # an integer target with at most this many values is a class label
TEXT_MIN_MEAN_CHARS = 30
TEXT_MIN_MEAN_WORDS = 4
SKEWED = 1.0  # |skewness| above this counts as skewed
MIN_ID_ROWS = 20  # fewer rows than this prove nothing about a column being an identifier
_ID_NAME = re.compile(r"(^|[^a-z0-9])(id|uuid|guid)$|^(id|uuid|guid)([^a-z0-9]|$)", re.IGNORECASE)


def profile(df: pd.DataFrame, target: str, *, task: str | None = None, metric: str | None = None) -> TaskProfile:
    """Profile ``df`` for predicting ``target``; task and metric are inferred unless given.

    Raises CashError (one line) for input that cannot be modelled. Rows whose target is
    missing are dropped and counted in ``n_rows_dropped``.
    """
    if not isinstance(df, pd.DataFrame):
        raise CashError(f"expected a pandas DataFrame, got {type(df).__name__}")
    check_columns(df.columns, target)
    if df.shape[0] == 0:
        raise CashError("the DataFrame is empty (0 rows)")
    y_all = df[target]
    keep = target_present(y_all)
    n_dropped = int(len(df) - keep.sum())
    if not keep.any():
        raise CashError(no_target_values(target, y_all.isna().all()))
    frame = df if n_dropped == 0 else df.loc[keep.to_numpy()]
    sample = frame.iloc[sample_positions(len(frame))] if len(frame) > SAMPLE_ROWS else frame
    return assemble(
        sample,
        Target(frame[target]),
        [Whole(frame[name]) for name in frame.columns if name != target],
        n_rows=len(frame),
        n_rows_dropped=n_dropped,
        fingerprint=fingerprint(df, target),
        task=task,
        metric=metric,
    )


class Whole:
    """Exact facts about one feature column over every row with a target, computed when asked
    (a Dask profile supplies the same facts, computed on the cluster)."""

    def __init__(self, s: pd.Series):
        self.s, self.name, self.dtype = s, str(s.name), s.dtype

    def n_missing(self) -> int:
        return int(self.s.isna().sum())

    def n_unique(self) -> int:
        """Distinct values of a boolean column, or the used categories of a categorical."""
        if isinstance(self.dtype, pd.CategoricalDtype):
            codes = self.s.cat.codes.to_numpy()
            return int(np.count_nonzero(np.bincount(codes[codes >= 0])))
        return int(self.s.nunique())

    def bounds(self) -> tuple:
        """(min, max): of the finite values for numbers (NaN when there is none), else as ordered."""
        if pd.api.types.is_datetime64_any_dtype(self.dtype):
            return self.s.min(), self.s.max()
        return finite_bounds(floats(self.s))

    def is_unique(self) -> bool:
        return bool(self.s.is_unique)

    def is_monotonic(self) -> bool:
        return bool(self.s.is_monotonic_increasing or self.s.is_monotonic_decreasing)


class Target:
    """Exact facts about the target over every row that has one."""

    def __init__(self, y: pd.Series):
        self.y, self.name, self.dtype = y, str(y.name), y.dtype
        self.values = y  # what the checks of its labels read: every value

    def counts(self) -> pd.Series:
        """Rows per class; a categorical's unused categories are not classes."""
        counts = self.y.value_counts(sort=False)
        return counts[counts > 0]

    def moments(self) -> dict:
        return moments(self.y.to_numpy(dtype="float64", na_value=np.nan))


def finite_bounds(values: np.ndarray) -> tuple[float, float]:
    lo, hi = np.fmin.reduce(values), np.fmax.reduce(values)  # NaN-skipping, no copy
    if not (np.isfinite(lo) and np.isfinite(hi)):  # infinities: range of the finite values
        finite = values[np.isfinite(values)]
        lo, hi = (finite.min(), finite.max()) if finite.size else (np.nan, np.nan)
    return float(lo), float(hi)


def moments(v: np.ndarray) -> dict:
    """The regression target's statistics, all of them over the values ``v`` (only the extremes
    when those overflow the others, which ``_target_stats`` then refuses)."""
    extremes = {"target_min": float(v.min()), "target_max": float(v.max())}
    if max(abs(v.min()), abs(v.max())) > LARGEST:
        return extremes
    std = float(v.std())
    z = (v - v.mean()) / std if std > 0 else np.zeros_like(v)
    return extremes | {
        "target_mean": float(v.mean()),
        "target_median": float(np.median(v)),
        "target_std": std,
        "skewness": float(np.mean(z * z * z)),
        "kurtosis": float(np.mean((z * z) ** 2) - 3.0),
    }


def assemble(
    sample: pd.DataFrame,
    target: Target,
    columns: list[Whole],
    *,
    n_rows: int,
    n_rows_dropped: int,
    fingerprint: str,
    task: str | None,
    metric: str | None,
) -> TaskProfile:
    """The profile from exact facts about every row and a sample of rows (all of them when small)."""
    name = target.name
    task = _resolve_task(target, sample[name], name, task)
    metric = metric or DEFAULT_METRIC[task]
    get_metric(metric, task)
    target_stats = _target_stats(target, name, task, metric)

    profiled, skews, ranges, n_missing = [], [], [], 0
    for whole in columns:
        column, stats = _profile_column(whole, sample[whole.name], n_rows)
        profiled.append(column)
        if column.kind in FEATURE_KINDS:
            n_missing += round(column.missing * n_rows)
        if "range" in stats:
            ranges.append(stats["range"])
        if "skew" in stats:
            skews.append(abs(stats["skew"]))
    if not any(c.kind in FEATURE_KINDS for c in profiled):
        excluded = ", ".join(f"{c.name!r} ({c.why})" for c in profiled)
        raise CashError(f"no usable feature columns besides the target: {excluded}")
    return TaskProfile(
        target=name,
        task=task,
        metric=metric,
        n_rows=n_rows,
        n_rows_dropped=n_rows_dropped,
        columns=tuple(profiled),
        numeric_range_avg=float(np.mean(ranges)) if ranges else None,
        numeric_skew_mean_abs=float(np.mean(skews)) if skews else None,
        n_skewed=sum(s > SKEWED for s in skews),
        target_stats=target_stats,
        n_missing_values=int(n_missing),
        sample_rows=len(sample),
        fingerprint=fingerprint,
    )


def no_target_values(target: str, all_missing: bool) -> str:
    every = "row is missing" if all_missing else "value is infinite or missing"
    return f"target {target!r} has no values (every {every})"


def check_columns(columns: pd.Index, target) -> None:
    """One line for column names no profile can be made of, and a target that is not one of them."""
    bad = [c for c in columns if not isinstance(c, str)]
    if bad:
        shown = ", ".join(repr(c) for c in bad[:5])
        raise CashError(
            f"column names must be strings; found {shown} (rename them, e.g. df.columns = df.columns.astype(str))"
        )
    duplicated = sorted(set(columns[columns.duplicated()]))
    if duplicated:
        raise CashError(f"duplicate column names: {', '.join(map(repr, duplicated))}; rename them")
    if not isinstance(target, str) or not target:
        raise CashError("target= must name a column, e.g. target=price")
    if target not in columns:
        close = difflib.get_close_matches(target, list(columns), n=3, cutoff=0.6)
        close += [c for c in columns if c.lower() == target.lower() and c not in close]
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise CashError(f"target column {target!r} is not in the DataFrame{hint}")
    if len(columns) == 1:
        raise CashError(f"the DataFrame has only the target column {target!r}; no features to learn from")


def target_present(y: pd.Series) -> pd.Series:
    present = y.notna()
    if pd.api.types.is_float_dtype(y.dtype):
        present &= ~np.isinf(y.to_numpy(dtype="float64", na_value=np.nan))
    return present


def _is_numeric(s: pd.Series | Target | Whole) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def _resolve_task(y: Target, sampled: pd.Series, target: str, task: str | None) -> str:
    _check_target_values(y.values, target)
    if task in (None, "regression") and _is_numeric(y) and sampled.nunique() > MAX_CLASSES_FROM_INTEGERS:
        return "regression"  # more distinct values than class labels have: no need to count them all
    counts = y.counts()
    n_classes = len(counts)
    if n_classes < 2:
        raise CashError(f"target {target!r} is constant (a single value); there is nothing to predict")
    if task is None:
        if not _is_numeric(y) or n_classes == 2:
            task = "binary" if n_classes == 2 else "multiclass"
        elif pd.api.types.is_integer_dtype(y.dtype) and n_classes <= MAX_CLASSES_FROM_INTEGERS:
            task = "multiclass"
        else:
            task = "regression"
    elif task not in TASKS:
        raise CashError(f"task={task!r} is not a task; use one of: {', '.join(TASKS)}")
    if task == "regression" and not _is_numeric(y):
        raise CashError(f"task=regression needs a numeric target; {target!r} is {y.dtype}")
    if task == "binary" and n_classes != 2:
        raise CashError(f"task=binary needs exactly 2 classes; {target!r} has {n_classes} (use task=multiclass)")
    if task != "regression":
        single = counts[counts == 1]
        if len(single):
            shown = ", ".join(repr(_plain(v)) for v in single.index[:3])
            which = (
                f"class {shown} of target {target!r} has"
                if len(single) == 1
                else (f"{len(single)} classes of target {target!r} ({shown}{', …' if len(single) > 3 else ''}) have")
            )
            raise CashError(
                f"{which} a single row; every class needs at least 2 rows to be cross-validated "
                "(drop or merge rare classes)"
            )
    return task


def _check_target_values(y: pd.Series, target: str) -> None:
    """Refuse targets no model here can learn: datetimes, and labels of several types, which
    cannot be sorted into classes (1 and "one")."""
    if pd.api.types.is_datetime64_any_dtype(y.dtype):
        raise CashError(
            f"target {target!r} holds datetimes, and datetime targets are not supported; "
            f"predict a number derived from it instead, e.g. df[{target!r}].dt.year"
        )
    unreadable = _unreadable(y.dtype)
    if unreadable:
        raise CashError(f"target {target!r} holds {unreadable}, which no model here predicts")
    values = y.cat.categories if isinstance(y.dtype, pd.CategoricalDtype) else y
    if pd.api.types.is_object_dtype(values.dtype) and pd.api.types.infer_dtype(values) in ("mixed", "mixed-integer"):
        types = ", ".join(sorted({type(v).__name__ for v in values.dropna()}))
        raise CashError(
            f"target {target!r} mixes value types ({types}); make them one type first, "
            f"e.g. df[{target!r}] = df[{target!r}].astype(str)"
        )


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _target_stats(y: Target, target: str, task: str, metric: str) -> dict:
    if task == "regression":
        stats = y.moments()
        largest = max(abs(stats["target_min"]), abs(stats["target_max"]))
        if largest > LARGEST:
            raise CashError(
                f"target {target!r} reaches {largest:.3g}, beyond ±{LARGEST:.0e}: its squared errors overflow; "
                f"rescale it first, e.g. df[{target!r}] / 1e{int(np.log10(largest)) - 3}"
            )
        if metric == "rmsle" and stats["target_min"] < 0:
            raise CashError(f"metric=rmsle needs a non-negative target; {target!r} has negative values")
        return stats
    counts = np.sort(y.counts().to_numpy())[::-1]
    return {
        "n_classes": int(len(counts)),
        "class_counts": [int(c) for c in counts],
        "minority_share": float(counts[-1] / counts.sum()),
        "imbalance_ratio": float(counts[0] / counts[-1]),
        "numeric_labels": _is_numeric(y),  # numbers read as classes (task=regression reads them as a number)
    }


def sample_positions(n_rows: int) -> np.ndarray:
    """Positions of the fixed-seed sample of rows that distribution statistics are taken on."""
    if n_rows <= SAMPLE_ROWS:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(0).choice(n_rows, SAMPLE_ROWS, replace=False))


def _profile_column(s: Whole, sample: pd.Series, n_rows: int) -> tuple[Column, dict]:
    """Kind and aggregates of one feature column; ``stats`` feeds frame-level summaries."""
    name = s.name  # numpy.str_ too: code and JSON quote it as the plain string it equals
    n_missing = s.n_missing()
    missing = n_missing / n_rows
    present = n_rows - n_missing
    dtype = s.dtype

    def col(kind, n_unique, why=""):
        return Column(name, kind, missing, int(n_unique), why)

    if present == 0:
        return col("constant", 0, "every value is missing"), {}
    unreadable = _unreadable(dtype)
    if unreadable:
        return col("unsupported", 0, unreadable), {}
    if _is_dictionary(dtype):  # pyarrow's dictionary-encoded labels: a categorical by another name
        return _categorical(col, sample.nunique(), present, sample), {}
    if pd.api.types.is_bool_dtype(dtype):
        n_unique = s.n_unique()
        return (col("constant", 1, "a single value") if n_unique < 2 else col("boolean", 2)), {}
    if pd.api.types.is_datetime64_any_dtype(dtype):
        lo, hi = s.bounds()
        if lo == hi:
            return col("constant", 1, "a single value"), {}
        return col("datetime", sample.nunique()), {}
    if _is_numeric(s):
        return _profile_numeric(s, sample, col, present)
    if isinstance(dtype, pd.CategoricalDtype):
        return _categorical(col, s.n_unique(), present, sample), {}
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        try:
            n_unique = sample.nunique()
        except TypeError:
            return col("unsupported", 0, "values are not hashable (lists or dicts?)"), {}
        if n_unique == sample.notna().sum() and len(sample) < n_rows:
            # every sampled value is distinct: an identifier, for all a model cares (counting a
            # million strings exactly would take longer than the rest of the profile)
            n_unique = present
        return _categorical(col, n_unique, present, sample), {}
    return col("unsupported", 0, "values of a type no model here reads"), {}


def _unreadable(dtype) -> str:
    """Why no model here can read a column of ``dtype``, in our own words ('' if one can). A dtype's
    name is never quoted: a pyarrow struct's holds its field names, which are data."""
    if pd.api.types.is_complex_dtype(dtype):
        return "complex numbers"
    if not isinstance(dtype, pd.ArrowDtype):
        return ""
    import pyarrow.types as pa_types  # optional: only a pyarrow-backed column gets here

    arrow = dtype.pyarrow_dtype
    for test, why in (
        (pa_types.is_struct, "nested values (a struct)"),
        (pa_types.is_map, "nested values (a map)"),
        (
            lambda t: pa_types.is_list(t) or pa_types.is_large_list(t) or pa_types.is_fixed_size_list(t),
            "nested values (a list)",
        ),
        (lambda t: pa_types.is_binary(t) or pa_types.is_large_binary(t), "bytes"),
        (lambda t: pa_types.is_duration(t) or pa_types.is_time(t), "durations or times of day"),
    ):
        if test(arrow):
            return why
    return ""


def _is_dictionary(dtype) -> bool:
    if not isinstance(dtype, pd.ArrowDtype):
        return False
    import pyarrow.types as pa_types  # optional: only a pyarrow-backed column gets here

    return pa_types.is_dictionary(dtype.pyarrow_dtype)


def _categorical(col, n_unique: int, present: int, sample: pd.Series) -> Column:
    if n_unique < 2:
        return col("constant", n_unique, "a single value")
    if _looks_like_text(sample):
        return col("text", n_unique, "free text")
    if n_unique == present >= MIN_ID_ROWS:
        return col("id", n_unique, "unique per row")
    return col("categorical", n_unique)


def _looks_like_text(sample: pd.Series) -> bool:
    values = sample.head(5000).dropna()
    values = values[values.map(lambda v: isinstance(v, str))] if values.dtype == object else values
    if len(values) == 0 or pd.api.types.is_numeric_dtype(values.dtype):
        return False
    values = values.astype(str).head(2000)
    if values.nunique() < 0.5 * len(values):
        return False
    return bool(
        values.str.len().mean() >= TEXT_MIN_MEAN_CHARS and values.str.count(r"\s+").mean() + 1 >= TEXT_MIN_MEAN_WORDS
    )


def _profile_numeric(s: Whole, sample: pd.Series, col, present: int) -> tuple[Column, dict]:
    lo, hi = s.bounds()
    if not lo < hi:
        return col("constant", 0 if np.isnan(lo) else 1, "a single value"), {}
    if max(abs(lo), abs(hi)) > LARGEST:
        return col("unsupported", 0, f"values beyond ±{LARGEST:.0e}, which overflow scaling"), {}
    sampled = floats(sample)
    sampled = sampled[np.isfinite(sampled)]
    n_unique = len(pd.unique(sampled))
    if pd.api.types.is_integer_dtype(s.dtype) and n_unique == len(sampled):
        id_reason = _integer_id_reason(s, lo, hi, present)
        if id_reason:
            return col("id", present, id_reason), {}
    stats = {"range": hi - lo}
    std = sampled.std()
    if std > 0:
        z = (sampled - sampled.mean()) / std
        stats["skew"] = float(np.mean(z * z * z))  # z * z * z: ** 3 is ten times slower
    return col("numeric", n_unique), stats


def floats(s: pd.Series) -> np.ndarray:
    """Values as float64 with NaN for missing; no copy for float64 columns."""
    if isinstance(s.dtype, np.dtype):
        return np.asarray(s.to_numpy(), dtype="float64")
    return s.to_numpy(dtype="float64", na_value=np.nan)  # nullable Int64, Float64, ...


def _integer_id_reason(s: Whole, lo: float, hi: float, present: int) -> str:
    """Why an integer column is an identifier rather than a measurement, or ''."""
    if present < MIN_ID_ROWS or not s.is_unique():
        return ""
    if s.is_monotonic():
        return "monotone integer, unique per row"
    if hi - lo + 1 <= 1.5 * present:
        return "consecutive integers, unique per row"
    if _ID_NAME.search(str(s.name)):
        return "named like an identifier, unique per row"
    return ""


def fingerprint(df: pd.DataFrame, target: str) -> str:
    """Stable id of a dataset: schema, size, target and a hash of 1,000 evenly spaced rows."""
    return fingerprint_of(target, df.shape, df.dtypes, df.iloc[fingerprint_positions(len(df))])


def fingerprint_positions(n_rows: int) -> np.ndarray:
    return np.linspace(0, n_rows - 1, min(n_rows, 1000)).astype(int)


def fingerprint_of(target: str, shape: tuple[int, int], dtypes: pd.Series, rows: pd.DataFrame) -> str:
    schema = [[str(c), dtype.kind] for c, dtype in dtypes.items()]
    digest = hashlib.sha256(json.dumps([target, list(shape), schema]).encode())
    with suppress(TypeError, ValueError):  # cells pandas cannot hash (lists, tuples): schema and size alone
        digest.update(pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]
