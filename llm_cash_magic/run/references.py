"""The references a result is shown next to, measured on the same folds: the trivial predictor
(class frequencies, or the mean) and LightGBM with its library defaults (what users get for free)."""

from __future__ import annotations

import time
import warnings

import pandas as pd
from sklearn.dummy import DummyClassifier, DummyRegressor

from ..codegen import Built, build
from ..metrics import TRIVIAL
from ..profiling import TaskProfile
from ..profiling.dask_frames import is_dask_frame
from ..space import Config, family
from .evaluation import cross_validate, training_data


def reference_params(profile: TaskProfile) -> dict[str, dict]:
    """Each reference's name and its parameters (the trivial predictor's strategy, LightGBM's defaults)."""
    strategy = "mean" if profile.task == "regression" else "prior"
    return {TRIVIAL: {"strategy": strategy}, "lightgbm": family("lightgbm").defaults(profile.task)}


def trivial_model(profile: TaskProfile):
    """Predicts the training rows' class frequencies (or their mean), whatever the features."""
    return DummyRegressor() if profile.task == "regression" else DummyClassifier(strategy="prior")


def measure(name: str, profile: TaskProfile, df: pd.DataFrame, *, cv: int, seed: int) -> tuple[list[float], float]:
    """The fold scores of the reference ``name`` on ``df`` (the folds generated code uses), and the
    seconds they took; on a Dask DataFrame, LightGBM's on the cluster, on the held-out split its code uses."""
    params = reference_params(profile)[name]
    if is_dask_frame(df):
        from .holdout import DaskHoldout  # Dask, imported only for a Dask frame

        started = time.perf_counter()
        scores = DaskHoldout(df, profile, seed).scores(Config(name, params), lambda step, score: None)
        return [float(s) for s in scores], time.perf_counter() - started
    model = Built(trivial_model(profile)) if name == TRIVIAL else build(profile, Config(name, params), seed, cv)
    X, y = training_data(df, profile)
    started = time.perf_counter()
    with warnings.catch_warnings():  # a reference's convergence chatter is not the user's business
        warnings.simplefilter("ignore")
        scores = cross_validate(profile, model, X, y, cv=cv, seed=seed)
    return [float(s) for s in scores], time.perf_counter() - started
