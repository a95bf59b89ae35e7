"""A race among the top recommendations on the user's own data, before the magic trains one
without the panel (``--auto``, a terminal).

The knowledge base ranks configurations by how they did on similar tasks; the user's data knows
better. Each of the top ``RACE_SIZE`` trains on two thirds of the rows (of a stratified sample of
``RACE_ROWS`` above that) and is scored on the other third, split as generated code splits (the
same splitter and seed, 3 folds): about two fits in all. Leave one task out on the knowledge base's
entries measured on 3 folds (below 4,000 rows; ``python -m llm_cash_magic.bench.loo``), the winner
beat LightGBM's defaults a little more often than the first pick alone and lost far less at worst;
the benchmark's ``offline-auto`` measures it at every size on tasks the settings never saw.

The race costs about two fits only if its candidates train alike, and they may not: a CatBoost
configuration can take a hundred times LightGBM's time on many classes. So the first pick's lap sets
a budget (``RACE_BUDGET`` of its laps, about two fits, or ``RACE_FLOOR`` seconds if that is longer),
and a challenger whose lap is expected to break it does not race: its expected time is the first
lap's, scaled by the two recommendations' ``time_factor`` (how long each trained on similar tasks
next to LightGBM's defaults). One without a known time factor races.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from ..codegen import build
from ..metrics import METRICS
from ..profiling import TaskProfile
from ..recommenders import Recommendation
from ..text import error_line
from .evaluation import cross_validate, training_data

RACE_SIZE = 3
RACE_FOLDS = 3  # trained on the first fold's two thirds, scored on its third
RACE_ROWS = 50_000  # above it, a sample (the largest size the knowledge base measured)
RACE_BUDGET = 3.0  # laps of the first pick (each on two thirds of the rows): about two fits
RACE_FLOOR = 30.0  # seconds a race may take however quick the first lap: that wait costs no one


@dataclass(frozen=True)
class Lap:
    """One candidate's run: its score on the held-out third (natural sign), or why it failed or did
    not race."""

    recommendation: Recommendation
    score: float | None
    seconds: float
    error: str | None = None
    skipped: str | None = None


def over_budget(laps: list[Lap], rec: Recommendation, floor: float = RACE_FLOOR) -> str | None:
    """Why ``rec`` should not race after ``laps`` (the first pick's first), or None: its lap is
    expected to take the race past its budget (``within_budget`` asks it of each challenger)."""
    first = laps[0]
    if first.score is None or rec.time_factor is None or not first.recommendation.time_factor:
        return None
    expected = first.seconds * rec.time_factor / first.recommendation.time_factor
    if sum(lap.seconds for lap in laps) + expected <= max(RACE_BUDGET * first.seconds, floor):
        return None
    times = expected / max(first.seconds, 1e-9)
    return f"not raced: its lap would take about {expected:.0f} s, {times:.0f}× the first pick's"


def race_score(
    profile: TaskProfile, config, X: pd.DataFrame, y: pd.Series, seed: int, prepare: Callable = lambda model: None
) -> float:
    """``config``'s score on the race's held-out third: shared by ``race`` and the benchmark (whose
    ``prepare`` sets the unfitted model to train on one thread)."""
    if len(X) > RACE_ROWS:  # by position (an index may repeat labels), keeping every class
        stratify = y if profile.is_classification else None
        rows, _ = train_test_split(np.arange(len(X)), train_size=RACE_ROWS, random_state=seed, stratify=stratify)
        X, y = X.iloc[np.sort(rows)], y.iloc[np.sort(rows)]
    model = build(profile, config, seed, RACE_FOLDS)
    prepare(model.model)
    with warnings.catch_warnings():  # a candidate's convergence chatter is not the user's business
        warnings.simplefilter("ignore")
        score = float(cross_validate(profile, model, X, y, cv=RACE_FOLDS, seed=seed, limit=1)[0])
    if not np.isfinite(score):
        raise ValueError(f"its score is {score} (a fold without every class?)")
    return score


def race(
    df: pd.DataFrame,
    profile: TaskProfile,
    recommendations: list[Recommendation],
    *,
    seed: int = 0,
    on_lap: Callable[[Lap], None] | None = None,
) -> list[Lap]:
    """The top ``RACE_SIZE`` recommendations' laps, in their order; a candidate that cannot train on
    this data has a lap with its error (the others race on), one over the budget a lap saying so."""
    X, y = training_data(df, profile)
    return within_budget(recommendations[:RACE_SIZE], lambda rec: _lap(profile, rec, X, y, seed), on_lap=on_lap)


def within_budget(
    recommendations: list[Recommendation],
    run_lap: Callable[[Recommendation], Lap],
    *,
    floor: float = RACE_FLOOR,
    on_lap: Callable[[Lap], None] | None = None,
) -> list[Lap]:
    """Each recommendation's lap from ``run_lap``, in order, or a lap saying why it did not race:
    the race as ``race`` runs it, and as the benchmark and leave-one-out replay it."""
    laps: list[Lap] = []
    for rec in recommendations:
        skipped = over_budget(laps, rec, floor) if laps else None
        laps.append(Lap(rec, None, 0.0, skipped=skipped) if skipped else run_lap(rec))
        if on_lap:
            on_lap(laps[-1])
    return laps


def _lap(profile: TaskProfile, rec: Recommendation, X: pd.DataFrame, y: pd.Series, seed: int) -> Lap:
    started = time.perf_counter()
    try:
        return Lap(rec, race_score(profile, rec.config, X, y, seed), time.perf_counter() - started)
    except Exception as exc:  # one candidate's failure is its lap, not the race's
        return Lap(rec, None, time.perf_counter() - started, error_line(exc))


def winner(laps: list[Lap], metric: str) -> Lap | None:
    """The best finished lap (the earlier one on a tie: the recommenders' order breaks ties)."""
    return METRICS[metric].best([lap for lap in laps if lap.score is not None], score=lambda lap: lap.score)
