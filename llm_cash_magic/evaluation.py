"""Cross-validating a config in-process exactly as its generated code would (for searches and benchmarks)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, StratifiedKFold

from .codegen import build_model, generate_blend_code
from .metrics import METRICS
from .profiling import TaskProfile
from .space import Config


def training_data(df: pd.DataFrame, profile: TaskProfile) -> tuple[pd.DataFrame, pd.Series]:
    """X and y as generated code builds them: rows with a (finite) target, target column removed."""
    y = df[profile.target]
    keep = y.notna() if profile.is_classification else y.replace([np.inf, -np.inf], np.nan).notna()
    data = df[keep]
    return data.drop(columns=[profile.target]), data[profile.target]


def folds(profile: TaskProfile, cv: int, seed: int):
    splitter = StratifiedKFold if profile.is_classification else KFold
    return splitter(n_splits=cv, shuffle=True, random_state=seed)


def cross_validate(
    profile: TaskProfile,
    config: Config,
    X: pd.DataFrame,
    y: pd.Series,
    *,
    cv: int = 5,
    seed: int = 0,
    on_fold: Callable[[int, float], None] | None = None,
) -> np.ndarray:
    """Per-fold scores in the metric's natural sign (RMSE positive); ``on_fold(i, score)`` after each.

    ``on_fold`` may raise to stop early (a pruned search trial, for instance).
    """
    metric = METRICS[profile.metric]
    scorer = get_scorer(metric.scorer)
    model = build_model(profile, config, seed, cv)
    scores = []
    for i, (train, test) in enumerate(folds(profile, cv, seed).split(X, y), start=1):
        fitted = clone(model).fit(X.iloc[train], y.iloc[train])
        scores.append(metric.natural(scorer(fitted, X.iloc[test], y.iloc[test])))
        if on_fold:
            on_fold(i, scores[-1])
    return np.array(scores)


def fit_blend(profile: TaskProfile, configs: list[Config], frame: pd.DataFrame, *, cv: int = 5, seed: int = 0):
    """The blend of ``configs`` fitted on ``frame`` by its own generated code (ensemble selection
    included), quietly: what a benchmark scores on held-out rows."""
    namespace = {"__name__": "llm_cash_magic.generated", "df": frame}
    code = generate_blend_code(profile, configs, data_name="df", cv=cv, seed=seed)
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "<llm_cash_magic blend>", "exec"), namespace)
    return namespace["cash_model"]
