"""The benchmark (``python -m llm_cash_magic.bench``) and the knowledge-base build; they need the
``bench`` extra (Optuna, FLAML, matplotlib), and the catalogued tasks ``make bench-data``.

Python API::

    from llm_cash_magic.bench import benchmark, report
    results = benchmark(["penguins"], data={"sales": (df, "revenue")}, k=10)
    report.summary(results)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..profiling import profile
from . import datasets
from .run import Result, Settings, Task, run
from .strategies import available

__all__ = ["Result", "Settings", "Task", "benchmark", "catalog_task", "frame_task"]


def benchmark(
    tasks: list[str] | None = None,
    *,
    data: dict[str, tuple[pd.DataFrame, str]] | None = None,
    strategies: list[str] | None = None,
    work: str | Path = ".cash-bench",
    **settings,
) -> list[Result]:
    """Run the strategies on catalogued ``tasks`` (default: the ``dev`` tasks unless ``data`` is
    given) and on ``data`` (name → (DataFrame, target)). ``settings`` are ``Settings`` fields."""
    chosen = [catalog_task(n) for n in (tasks if tasks is not None else ([] if data else datasets.names("dev")))]
    chosen += [frame_task(name, df, target) for name, (df, target) in (data or {}).items()]
    return run(chosen, available(strategies), Settings(**settings), Path(work))


def catalog_task(name: str) -> Task:
    if name not in datasets.DATASETS:
        datasets.load(name)  # raises the one-line error naming the known tasks
    return Task(name, lambda max_rows, seed: datasets.load(name, max_rows=max_rows, seed=seed))


def frame_task(name: str, df: pd.DataFrame, target: str, task: str | None = None) -> Task:
    """A user's DataFrame as a benchmark task (task kind inferred unless given)."""
    kind = profile(df, target, task=task).task

    def load(max_rows, seed):
        clean = df[df[target].notna()].reset_index(drop=True)
        return datasets.subsample(clean, target, kind, max_rows, seed), target, kind

    return Task(name, load)
