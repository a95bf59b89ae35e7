"""A race among the top recommendations on the user's own data, before the magic trains one
without the panel (``--auto``, a terminal).

The knowledge base ranks configurations by how they did on similar tasks; the user's data knows
better. Each of the top ``RACE_SIZE`` trains on two thirds of the rows (of a stratified sample of
``RACE_ROWS`` above that) and is scored on the other third, split as generated code splits (the
same splitter and seed, 3 folds): about two fits in all. Where the budget below has room for the
other two folds of every finisher (small data: laps of a second or two), they race on those too,
and the mean over the three thirds decides: a third of a small table picks between close
candidates largely by chance. Leave one task out on the knowledge base's 184 entries measured on
3 folds (below 4,000 rows; ``python -m llm_cash_magic.bench.loo --race-size 3 5``), judged on the
last fold, the winner beat LightGBM's defaults more often than the first pick alone, and a race of
five more often than one of three, most of all where it has the time for two folds (a plain
install: 168 against 158 and 142 for the first pick; every family: 165 against 163 and 153); the
budget keeps the extra candidates from racing where laps are long. Five need quicker laps than
three to race on every third within the floor (about 2 s each rather than 3), so between the two a
race of five decides on one third where one of three had all three. The benchmark's
``offline-auto`` measures it at every size on tasks the settings never saw.

The race costs about two fits only if its candidates train alike, and they may not: a CatBoost
configuration can take a hundred times LightGBM's time on many classes. So the first pick's lap sets
a budget (``RACE_BUDGET`` of its laps, about two fits, or ``RACE_FLOOR`` seconds if that is longer),
and a challenger whose lap is expected to break it does not race: its expected time is the first
lap's, scaled by the two recommendations' ``time_factor`` (how long each trained on similar tasks
next to LightGBM's defaults). One without a known time factor races. A prediction can be far off
(few neighbours had as many classes), so a challenger's lap also runs against a deadline, what the
budget has left: one still training then is stopped (``deadline``), and does not win.
"""

from __future__ import annotations

import math
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..codegen import build
from ..metrics import METRICS
from ..profiling import TaskProfile
from ..recommenders import DEFAULT_N, Recommendation
from ..text import error_line
from .evaluation import cross_validate, sample_positions, training_data

RACE_SIZE = DEFAULT_N  # every recommendation races where the budget has room
RACE_FOLDS = 3  # trained on the first fold's two thirds, scored on its third
RACE_ROWS = 50_000  # above it, a sample (the largest size the knowledge base measured)
RACE_BUDGET = 3.0  # laps of the first pick (each on two thirds of the rows): about two fits
RACE_FLOOR = 30.0  # seconds a race may take however quick the first lap: that wait costs no one
RETRY_SECONDS = 0.1  # after its deadline, how often a lap still running is told again


@dataclass(frozen=True)
class Lap:
    """One candidate's run: its score on the held-out thirds (natural sign; the mean over ``folds``
    of them), or why it failed or did not race."""

    recommendation: Recommendation
    score: float | None
    seconds: float
    error: str | None = None
    skipped: str | None = None
    folds: int = 1


class LapDeadline(BaseException):
    """A lap ran past its deadline (a BaseException, as Ctrl-C is: libraries let it through)."""


def budget(laps: list[Lap], floor: float = RACE_FLOOR) -> float | None:
    """The seconds the race may take, set by its first lap; None (no limit) before it, or when the
    first pick failed and anything that trains is better than nothing."""
    if not laps or laps[0].score is None:
        return None
    return max(RACE_BUDGET * laps[0].seconds, floor)


def stopped(rec: Recommendation, seconds: float) -> Lap:
    """The lap of a challenger stopped at its deadline, the race's budget spent."""
    return Lap(rec, None, seconds, skipped=f"stopped after {seconds:.0f} s: the race's time budget ran out")


def replayed(rec: Recommendation, score: float | None, seconds: float, left: float | None, error=None) -> Lap:
    """A lap measured without a deadline (the benchmark's, leave-one-out's), as the race would have
    ended it: stopped at ``left``, the seconds its budget had left."""
    if left is not None and seconds > left:
        return stopped(rec, left)
    return Lap(rec, score, seconds, error)


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise ``LapDeadline`` in the code inside once ``seconds`` have passed: a timer signal, which
    interrupts a fit between its rounds as Ctrl-C does (CatBoost turns it into a KeyboardInterrupt,
    read back here). The timer repeats every ``RETRY_SECONDS`` until the code has stopped, as code
    that swallows one exception (a ``__del__``, a library callback) would otherwise run on; code that
    ends after the deadline anyway ends in ``LapDeadline`` too. No limit where there is no timer
    signal to use: off the main thread, on Windows, or with a timer someone else set."""
    usable = (
        seconds is not None
        and math.isfinite(seconds)
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )
    if not usable:
        yield
        return
    expired, armed = False, True

    def expire(signum, frame):
        nonlocal expired
        expired = True
        if armed:
            raise LapDeadline

    previous = signal.signal(signal.SIGALRM, expire)
    try:
        signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-3), RETRY_SECONDS)
        yield
    except KeyboardInterrupt:
        if expired:
            raise LapDeadline from None
        raise
    finally:
        armed = False
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:
            signal.signal(signal.SIGALRM, previous)
    if expired:
        raise LapDeadline


def over_budget(laps: list[Lap], rec: Recommendation, floor: float = RACE_FLOOR) -> str | None:
    """Why ``rec`` should not race after ``laps`` (the first pick's first), or None: its lap is
    expected to take the race past its budget (``within_budget`` asks it of each challenger)."""
    first = laps[0]
    if first.score is None or rec.time_factor is None or not first.recommendation.time_factor:
        return None
    expected = first.seconds * rec.time_factor / first.recommendation.time_factor
    if sum(lap.seconds for lap in laps) + expected <= budget(laps, floor):
        return None
    times = expected / max(first.seconds, 1e-9)
    seconds, times = (f"{v:.0f}" if v >= 10 else f"{v:.1f}" for v in (expected, times))
    return f"not raced: its lap would take about {seconds} s, {times}× the first pick's, more than the budget has left"


def race_score(
    profile: TaskProfile,
    config,
    X: pd.DataFrame,
    y: pd.Series,
    seed: int,
    prepare: Callable = lambda model: None,
    fold: int = 1,
) -> float:
    """``config``'s score on the race's ``fold``-th held-out third: shared by ``race`` and the
    benchmark (whose ``prepare`` sets the unfitted model to train on one thread)."""
    if len(X) > RACE_ROWS:
        rows = sample_positions(y, profile, RACE_ROWS, seed)
        X, y = X.iloc[rows], y.iloc[rows]
    model = build(profile, config, seed, RACE_FOLDS)
    prepare(model.model)
    with warnings.catch_warnings():  # a candidate's convergence chatter is not the user's business
        warnings.simplefilter("ignore")
        score = float(cross_validate(profile, model, X, y, cv=RACE_FOLDS, seed=seed, limit=fold, start=fold)[0])
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

    def run_lap(rec: Recommendation, left: float | None, fold: int) -> Lap:
        started = time.perf_counter()
        try:
            with deadline(left):
                return Lap(rec, race_score(profile, rec.config, X, y, seed, fold=fold), time.perf_counter() - started)
        except LapDeadline:
            return stopped(rec, time.perf_counter() - started)
        except Exception as exc:  # one candidate's failure is its lap, not the race's
            return Lap(rec, None, time.perf_counter() - started, error_line(exc))

    return within_budget(recommendations[:RACE_SIZE], run_lap, floor=RACE_FLOOR, on_lap=on_lap)


def within_budget(
    recommendations: list[Recommendation],
    run_lap: Callable[[Recommendation, float | None, int], Lap],
    *,
    floor: float = RACE_FLOOR,
    folds: int = RACE_FOLDS,
    on_lap: Callable[[Lap], None] | None = None,
) -> list[Lap]:
    """Each recommendation's lap from ``run_lap(rec, seconds the budget has left (None: no limit),
    fold)``, in order, or a lap saying why it did not race; then, where the budget has room, the
    finishers' other folds up to ``folds`` (``more_folds``). The race as ``race`` runs it, and as the
    benchmark and leave-one-out replay it."""
    laps: list[Lap] = []
    for rec in recommendations:
        limit = budget(laps, floor)
        left = None if limit is None else limit - sum(lap.seconds for lap in laps)
        if left is not None and left <= 0:
            laps.append(Lap(rec, None, 0.0, skipped="not raced: the race's time budget ran out"))
        elif laps and (skipped := over_budget(laps, rec, floor)):
            laps.append(Lap(rec, None, 0.0, skipped=skipped))
        else:
            laps.append(run_lap(rec, left, 1))
        if on_lap:
            on_lap(laps[-1])
    return more_folds(laps, run_lap, floor=floor, folds=folds, on_lap=on_lap)


def more_folds(
    laps: list[Lap],
    run_lap: Callable[[Recommendation, float | None, int], Lap],
    *,
    floor: float = RACE_FLOOR,
    folds: int = RACE_FOLDS,
    on_lap: Callable[[Lap], None] | None = None,
) -> list[Lap]:
    """The laps again, each finisher's score now its mean over ``folds`` held-out thirds, where the
    budget has room for all of their other folds (expected to take what their first did); otherwise,
    or when one of those fails or is stopped, ``laps`` as they were: every finisher is compared on
    the same folds."""
    runs = {i: [lap] for i, lap in enumerate(laps) if lap.score is not None}  # the finishers'
    limit = budget(laps, floor)
    spent = sum(lap.seconds for lap in laps)
    expected = (folds - 1) * sum(run[0].seconds for run in runs.values())
    if folds < 2 or len(runs) < 2 or limit is None or spent + expected > limit:
        return laps
    for fold in range(2, folds + 1):
        for i, run in runs.items():
            run.append(run_lap(laps[i].recommendation, limit - spent, fold))
            spent += run[-1].seconds
            if run[-1].score is None:
                return laps
    done = list(laps)
    for i, run in runs.items():
        score = float(np.mean([lap.score for lap in run]))
        done[i] = Lap(laps[i].recommendation, score, sum(lap.seconds for lap in run), folds=folds)
        if on_lap:
            on_lap(done[i])
    return done


def winner(laps: list[Lap], metric: str) -> Lap | None:
    """The best finished lap (the earlier one on a tie: the recommenders' order breaks ties)."""
    return METRICS[metric].best([lap for lap in laps if lap.score is not None], score=lambda lap: lap.score)
