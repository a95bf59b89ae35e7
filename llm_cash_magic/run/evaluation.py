"""The one cross-validation routine: the loop generated code runs, repeated in-process for
refinement, the race, the benchmark and the knowledge-base build (a test proves they agree fold by
fold)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit, train_test_split
from sklearn.preprocessing import LabelEncoder

from ..codegen import Built, generate_blend_code
from ..codegen.training import SPLIT_OUT
from ..metrics import METRICS
from ..profiling import TaskProfile
from ..space import Config


def training_rows(df: pd.DataFrame, profile: TaskProfile) -> pd.DataFrame:
    """The rows generated code trains on: those with a (finite) target."""
    y = df[profile.target]
    return df[y.notna() if profile.is_classification else y.replace([np.inf, -np.inf], np.nan).notna()]


def training_data(df: pd.DataFrame, profile: TaskProfile) -> tuple[pd.DataFrame, pd.Series]:
    """X and y as generated code builds them: rows with a (finite) target, target column removed."""
    data = training_rows(df, profile)
    return data.drop(columns=[profile.target]), pd.Series(data[profile.target].to_numpy(), index=data.index)


def sample_positions(y: pd.Series, profile: TaskProfile, n: int, seed: int) -> np.ndarray:
    """The sorted positions of a fixed-seed sample of ``n`` of ``y``'s rows (by position: an index
    may repeat labels), stratified by class for classification, so that every class stays."""
    stratify = y if profile.is_classification else None
    rows, _ = train_test_split(np.arange(len(y)), train_size=n, random_state=seed, stratify=stratify)
    return np.sort(rows)


def folds(profile: TaskProfile, cv: int, seed: int):
    """The splitter generated code uses (``codegen.training.splitter_code``): stratified for
    classification, shuffled with the seed; cv=1 is one split that holds out ``SPLIT_OUT`` of the rows."""
    if cv == 1:
        splitter = StratifiedShuffleSplit if profile.is_classification else ShuffleSplit
        return splitter(n_splits=1, test_size=SPLIT_OUT, random_state=seed)
    splitter = StratifiedKFold if profile.is_classification else KFold
    return splitter(n_splits=cv, shuffle=True, random_state=seed)


def score(profile: TaskProfile, fitted, X: pd.DataFrame, y: pd.Series) -> float:
    """The profile's metric of a fitted model on (X, y), losses as positive numbers."""
    metric = METRICS[profile.metric]
    return float(metric.natural(get_scorer(metric.scorer)(fitted, X, y)))


def cross_validate(
    profile: TaskProfile,
    model: Built,
    X: pd.DataFrame,
    y: pd.Series,
    *,
    cv: int = 5,
    seed: int = 0,
    on_fold: Callable[[int, float], None] | None = None,
    kept: list[int] | None = None,
    limit: int | None = None,
    start: int = 1,
) -> np.ndarray:
    """Per-fold scores of the unfitted ``model`` (from ``codegen.build``) in the metric's natural sign
    (RMSE positive); ``on_fold(i, score)`` after each, which may raise to stop early (a pruned search
    trial). A model whose boosting stops early appends the rounds each fold kept to ``kept``.
    ``limit`` runs only the first folds (the knowledge base does on large data), ``start`` skips the
    folds before it (the race runs one fold at a time)."""
    y = _numbered(model, y)
    scores = []
    for i, (train, test) in enumerate(folds(profile, cv, seed).split(X, y), start=1):
        if limit is not None and i > limit:
            break
        if i < start:
            continue
        if model.fit:
            fitted, rounds = model.fit(clone(model.model), X.iloc[train], y.iloc[train])
            if kept is not None:
                kept.append(rounds)
        else:
            fitted = clone(model.model).fit(X.iloc[train], y.iloc[train])
        scores.append(score(profile, fitted, X.iloc[test], y.iloc[test]))
        if on_fold:
            on_fold(i, scores[-1])
    return np.array(scores)


def fit_final(profile: TaskProfile, model: Built, X: pd.DataFrame, y: pd.Series, *, cv: int = 5, seed: int = 0):
    """``model`` fitted on all of (X, y) as generated code's final fit does: one whose boosting stops
    early first cross-validates to learn how many rounds to train (what the cell does anyway)."""
    if model.fit is None:
        return clone(model.model).fit(X, _numbered(model, y))
    kept: list[int] = []
    cross_validate(profile, model, X, y, cv=cv, seed=seed, kept=kept)
    final = clone(model.model).set_params(**{model.rounds: max(1, round(float(np.mean(kept))))})
    return final.fit(X, _numbered(model, y))


def _numbered(model: Built, y: pd.Series) -> pd.Series:
    """``y`` as the model learns it: its classes numbered 0, 1, … where generated code does so."""
    if not model.labels:
        return y
    return pd.Series(LabelEncoder().fit_transform(y), index=y.index)


def fit_blend(profile: TaskProfile, configs: list[Config], frame: pd.DataFrame, *, cv: int = 5, seed: int = 0):
    """The blend of ``configs`` fitted on ``frame`` by its own generated code (ensemble selection
    included), quietly: what a benchmark scores on held-out rows."""
    namespace = {"__name__": "llm_cash_magic.generated", "df": frame}
    code = generate_blend_code(profile, configs, data_name="df", cv=cv, seed=seed)
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "<llm_cash_magic blend>", "exec"), namespace)
    return namespace["cash_model"]
