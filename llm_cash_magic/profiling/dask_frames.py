"""A Dask DataFrame + target → the TaskProfile that ``frames.profile`` gives the same rows in pandas.

The same rules, computed on the cluster: a first read counts each partition's rows (the target
column alone), then one ``dask.compute`` has every partition return its exact aggregates
(missing values, ranges, levels used, class counts, the target's moments) with its share of the
fixed-seed sample and of the fingerprint's rows, at the positions a pandas frame would take them.
Only what the sample flags takes one more count: integer columns whose sampled values are all
distinct (identifiers?), and a float target with few sampled values (classes?).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import CashError, Interrupted
from .frames import (
    Target,
    Whole,
    assemble,
    check_columns,
    fingerprint_of,
    fingerprint_positions,
    finite_bounds,
    floats,
    moments,
    no_target_values,
    sample_positions,
    target_present,
)
from .task_profile import TaskProfile

PROGRESS_AFTER = 2.0  # seconds a computation runs before it shows a progress bar


def is_dask_frame(value) -> bool:
    """Whether ``value`` is a Dask DataFrame, without importing Dask (which is optional)."""
    return (
        type(value).__module__.split(".")[0] == "dask" and hasattr(value, "npartitions") and hasattr(value, "columns")
    )


def profile_dask(ddf, target: str, *, task: str | None = None, metric: str | None = None) -> TaskProfile:
    """Profile a Dask DataFrame for predicting ``target``; raises CashError as ``profile`` does."""
    import dask

    check_columns(pd.Index(ddf.columns), target)
    counts = compute([dask.delayed(_count)(part, target) for part in ddf[[target]].to_delayed()])
    sizes, kept, present = (np.array(c, dtype=np.int64) for c in zip(*counts, strict=True))
    n_total, n_rows = int(sizes.sum()), int(kept.sum())
    if n_total == 0:
        raise CashError("the DataFrame is empty (0 rows)")
    if n_rows == 0:
        raise CashError(no_target_values(target, present.sum() == 0))

    dtypes = ddf.dtypes
    sampled = _split(sample_positions(n_rows), kept)
    fingerprinted = _split(fingerprint_positions(n_total), sizes)
    summaries = compute(
        [
            dask.delayed(_summarise)(part, target, dtypes, rows, fp_rows)
            for part, rows, fp_rows in zip(ddf.to_delayed(), sampled, fingerprinted, strict=True)
        ]
    )
    sample = pd.concat([s.sample for s in summaries])
    kept_rows = ddf if n_rows == n_total else ddf[ddf[target].map_partitions(target_present, meta=(target, bool))]
    columns = [
        _DaskWhole(name, dtypes[name], [s.columns[name] for s in summaries], kept_rows[name], n_rows)
        for name in ddf.columns
        if name != target
    ]
    return assemble(
        sample,
        _DaskTarget(target, dtypes[target], sample[target], [s.target for s in summaries], kept_rows[target], n_rows),
        columns,
        n_rows=n_rows,
        n_rows_dropped=n_total - n_rows,
        fingerprint=fingerprint_of(
            target, (n_total, len(ddf.columns)), dtypes, pd.concat([s.fingerprint_rows for s in summaries])
        ),
        task=task,
        metric=metric,
    )


def missing_targets(ddf, target: str) -> int:
    """Rows whose target is missing (not infinite): for the note on dropped rows."""
    return int(compute([ddf[target].isna().sum()])[0])


def compute(tasks: list) -> list:
    """``dask.compute`` of ``tasks``, on the active ``distributed`` client when there is one, with
    its progress bar once it has run a while; Ctrl-C cancels what is still running."""
    import dask

    try:
        from distributed import get_client, progress, wait

        client = get_client()
    except (ImportError, ValueError):  # no distributed, or no client: Dask's own scheduler
        return list(dask.compute(*tasks))
    futures = client.compute(tasks)
    try:
        try:
            wait(futures, timeout=PROGRESS_AFTER)
        except TimeoutError:
            progress(futures)
        return client.gather(futures)
    except KeyboardInterrupt:
        client.cancel(futures)
        raise Interrupted("interrupted while profiling on the cluster; nothing was stored") from None


def _count(part: pd.DataFrame, target: str) -> tuple[int, int, int]:
    """A partition's rows, those with a target, and those whose target is not missing."""
    y = part[target]
    return len(part), int(target_present(y).sum()), int(y.notna().sum())


def _split(positions: np.ndarray, sizes: np.ndarray) -> list[np.ndarray]:
    """Global row positions → each partition's own positions."""
    ends = np.cumsum(sizes)
    starts = ends - sizes
    return [positions[(positions >= a) & (positions < b)] - a for a, b in zip(starts, ends, strict=True)]


@dataclass
class _Summary:
    """What one partition returns: exact partial aggregates and its share of the sampled rows."""

    sample: pd.DataFrame
    fingerprint_rows: pd.DataFrame
    columns: dict
    target: dict


def _summarise(part: pd.DataFrame, target: str, dtypes: pd.Series, rows, fp_rows) -> _Summary:
    part = part.astype(dtypes.to_dict())  # the frame's dtypes, even where a partition infers its own
    kept = part[target_present(part[target]).to_numpy()]
    return _Summary(
        sample=kept.iloc[rows],
        fingerprint_rows=part.iloc[fp_rows],
        columns={name: _column_partial(kept[name]) for name in part.columns if name != target},
        target=_target_partial(kept[target]),
    )


def _column_partial(s: pd.Series) -> dict:
    partial = {"missing": int(s.isna().sum())}
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        partial["levels"] = set(s.dropna().unique())
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        present = s.dropna()
        partial["bounds"] = (present.min(), present.max()) if len(present) else None
    elif pd.api.types.is_numeric_dtype(dtype):
        partial["bounds"] = finite_bounds(floats(s)) if len(s) else (np.nan, np.nan)
        if pd.api.types.is_integer_dtype(dtype) and len(s):
            partial["order"] = (s.is_monotonic_increasing, s.is_monotonic_decreasing, s.iloc[0], s.iloc[-1])
    return partial


def _target_partial(y: pd.Series) -> dict:
    """Labels are counted; numbers get their moments (and counts only if the sample says classes)."""
    if not pd.api.types.is_numeric_dtype(y.dtype) or pd.api.types.is_bool_dtype(y.dtype):
        return {"counts": y.value_counts(sort=False)}
    v = floats(y)
    if not len(v):
        return {"moments": (0, 0.0, 0.0, np.nan, np.nan)}
    return {"moments": (len(v), float(v.mean()), float(((v - v.mean()) ** 2).sum()), float(v.min()), float(v.max()))}


class _DaskWhole(Whole):
    """A column's exact facts, from the partitions' partial aggregates."""

    def __init__(self, name: str, dtype, partials: list[dict], column, n_rows: int):
        self.name, self.dtype, self.partials, self.column, self.n_rows = name, dtype, partials, column, n_rows

    def n_missing(self) -> int:
        return sum(p["missing"] for p in self.partials)

    def n_unique(self) -> int:
        return len(set().union(*(p["levels"] for p in self.partials)))

    def bounds(self) -> tuple:
        found = [p["bounds"] for p in self.partials if p.get("bounds") is not None]
        if pd.api.types.is_datetime64_any_dtype(self.dtype):
            return min(b[0] for b in found), max(b[1] for b in found)
        return float(np.fmin.reduce([b[0] for b in found])), float(np.fmax.reduce([b[1] for b in found]))

    def is_unique(self) -> bool:
        distinct = self.column.drop_duplicates(split_out=1).size  # a missing value counts once, as in pandas
        return int(compute([distinct])[0]) == self.n_rows

    def is_monotonic(self) -> bool:
        orders = [p["order"] for p in self.partials if "order" in p]
        return any(
            all(o[direction] for o in orders)
            and all(_ordered(a[3], b[2], direction) for a, b in zip(orders, orders[1:], strict=False))
            for direction in (0, 1)
        )


def _ordered(last, first, direction: int) -> bool:
    """Whether one partition's last value and the next one's first keep the column's order."""
    return bool(last <= first) if direction == 0 else bool(last >= first)


class _DaskTarget(Target):
    """The target's exact facts, from the partitions' class counts and moments."""

    def __init__(self, name: str, dtype, sampled: pd.Series, partials: list[dict], column, n_rows: int):
        self.name, self.dtype, self.values = name, dtype, sampled  # labels are checked on the sample
        self.partials, self.column, self.n_rows = partials, column, n_rows

    def counts(self) -> pd.Series:
        if "counts" in self.partials[0]:
            counts = pd.concat([p["counts"] for p in self.partials]).groupby(level=0, sort=False).sum()
        else:
            counts = compute([self.column.value_counts(split_out=1)])[0]
        return counts[counts > 0]

    def moments(self) -> dict:
        """Every statistic over the sample when it holds every row; otherwise the extremes, mean
        and spread exact, the median and the shape of the distribution from the sample."""
        stats = moments(floats(self.values))
        if len(self.values) == self.n_rows:
            return stats
        parts = [p["moments"] for p in self.partials if p["moments"][0]]
        n = sum(p[0] for p in parts)
        mean = sum(p[0] * p[1] for p in parts) / n
        spread = sum(p[2] + p[0] * (p[1] - mean) ** 2 for p in parts)  # Chan et al.'s pooled sum of squares
        return stats | {
            "target_min": min(p[3] for p in parts),
            "target_max": max(p[4] for p in parts),
            "target_mean": mean,
            "target_std": float(np.sqrt(spread / n)),
        }
