"""Scoring models the way generated code does, each fit in a child process with a time limit.

``cross_validate`` repeats the generated cell's loop (stratified or plain K-fold, shuffled with
the seed, the profile's metric, losses in their natural sign); ``holdout`` scores on a test split.
``run_bounded`` runs such jobs in forked children, a few at a time, and kills any that outlive
their time limit, so one slow configuration cannot stall a knowledge-base build or a benchmark.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sklearn.base import clone
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, StratifiedKFold

from ..metrics import METRICS
from ..profiling import TaskProfile


def features_and_target(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    return frame.drop(columns=[target]), frame[target]


def score(profile: TaskProfile, fitted, X: pd.DataFrame, y: pd.Series) -> float:
    """The profile's metric of a fitted model on (X, y), losses as positive numbers."""
    metric = METRICS[profile.metric]
    return float(metric.natural(get_scorer(metric.scorer)(fitted, X, y)))


def cross_validate(profile: TaskProfile, model, X: pd.DataFrame, y: pd.Series, cv: int, seed: int) -> list[float]:
    """Per-fold scores of ``model`` exactly as the generated cell computes them."""
    splitter = StratifiedKFold if profile.is_classification else KFold
    folds = splitter(n_splits=cv, shuffle=True, random_state=seed)
    return [
        score(profile, clone(model).fit(X.iloc[train], y.iloc[train]), X.iloc[test], y.iloc[test])
        for train, test in folds.split(X, y)
    ]


def better(profile: TaskProfile) -> Callable[[float], float]:
    """A key that sorts scores best first whatever the metric's direction."""
    sign = -1.0 if METRICS[profile.metric].greater_is_better else 1.0
    return lambda value: sign * value


@dataclass(frozen=True)
class Outcome:
    """What a bounded job returned, or why it returned nothing."""

    value: Any = None
    seconds: float = 0.0
    error: str | None = None


def limit_threads() -> None:
    """One thread per fit (set before LightGBM or scikit-learn start their pools): the machine
    is shared, and forked children must not inherit a busy OpenMP pool."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("LOKY_MAX_CPU_COUNT", "1")


def run_bounded(
    jobs: dict[Any, Callable[[], Any]], *, workers: int = 1, seconds: float = 60.0
) -> Iterator[tuple[Any, Outcome]]:
    """Run each job in a forked child, ``workers`` at a time; yield (key, Outcome) as each ends.

    A job still running after ``seconds`` is killed and reported as timed out; an exception in a
    job is reported as its error line. Results travel back through a pipe, so they must pickle.
    """
    context = multiprocessing.get_context("fork")
    pending = list(jobs.items())
    running: dict[multiprocessing.connection.Connection, tuple[Any, Any, float]] = {}
    try:
        while pending or running:
            while pending and len(running) < workers:
                key, job = pending.pop(0)
                receive, send = context.Pipe(duplex=False)
                process = context.Process(target=_child, args=(job, send), daemon=True)
                process.start()
                send.close()
                running[receive] = (key, process, time.monotonic())
            ready = multiprocessing.connection.wait(list(running), timeout=0.5)
            for conn in ready:
                key, process, _ = running.pop(conn)
                try:
                    status, value, took = conn.recv()
                except EOFError:  # the child died without a word (out of memory, a crash)
                    status, value, took = "error", f"worker died (exit code {process.exitcode})", 0.0
                conn.close()
                process.join()
                yield key, (Outcome(value, took) if status == "ok" else Outcome(None, took, value))
            now = time.monotonic()
            for conn, (key, process, started) in list(running.items()):
                if now - started > seconds:
                    process.kill()
                    process.join()
                    conn.close()
                    del running[conn]
                    yield key, Outcome(None, now - started, f"timed out after {seconds:g} s")
    finally:
        for conn, (_, process, _) in running.items():
            process.kill()
            process.join()
            conn.close()


def _child(job: Callable[[], Any], conn) -> None:
    from threadpoolctl import threadpool_limits

    warnings.simplefilter("ignore")  # convergence chatter from the models; scores tell the story
    started = time.perf_counter()
    try:
        with threadpool_limits(limits=1):
            value = job()
        message = ("ok", value, time.perf_counter() - started)
    except Exception as exc:
        message = ("error", f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}",
                   time.perf_counter() - started)
    conn.send(message)
    conn.close()
