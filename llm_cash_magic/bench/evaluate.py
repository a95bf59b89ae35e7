"""Fits for the benchmark and the knowledge-base build, each in a child process with a time limit.

Scores come from ``run.evaluation`` (the loop generated code runs). ``run_bounded`` runs such
jobs in forked children, a few at a time, and kills any that outlive
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


def features_and_target(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    return frame.drop(columns=[target]), frame[target]


def one_thread(model):
    """``model`` (a pipeline or an ensemble of them) set to train on one thread, so that fits can
    run side by side: CatBoost ignores the OpenMP limits ``limit_threads`` sets."""
    for value in model.get_params(deep=True).values():
        if type(value).__module__.startswith("catboost"):
            value.set_params(thread_count=1)
    jobs = [key for key in model.get_params(deep=True) if key.endswith("n_jobs")]
    return model.set_params(**dict.fromkeys(jobs, 1))


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
        message = ("error", f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}", time.perf_counter() - started)
    conn.send(message)
    conn.close()
