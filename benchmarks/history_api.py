"""What the sidebar's requests cost as the history grows: GET /llm-cash/datasets (every run,
grouped, with leaderboards) and GET /llm-cash/runs/<id> (one run in full).

    python benchmarks/history_api.py               # 100, 1,000 and 3,000 runs
    python benchmarks/history_api.py --runs 500    # one size

Measures the handlers' work (SQLite reads, grouping, JSON encoding) on a real history file in a
temporary directory; HTTP adds about a millisecond on 127.0.0.1. Each run has one finished trial
with its generated code, as ``%%cash`` leaves it; runs are spread over 20 datasets.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from llm_cash_magic import History, generate_code, profile
from llm_cash_magic.frontends.server import datasets
from llm_cash_magic.recommenders import recommend


def fill(history: History, n_runs: int, n_datasets: int = 20) -> str:
    rng = np.random.default_rng(0)
    profiles = []
    for i in range(n_datasets):
        frame = pd.DataFrame({"x": rng.normal(size=200 + i), "c": rng.choice(["a", "b"], 200 + i)})
        frame["y"] = frame.x * 2 + rng.normal(size=len(frame))
        profiles.append(profile(frame, "y"))
    run_id = ""
    for i in range(n_runs):
        prof = profiles[i % n_datasets]
        rec = recommend(prof, strategy="defaults")[i % 3]
        run_id = history.start_run(
            prof,
            data_name=f"frame{i % n_datasets}",
            n_columns=3,
            strategy="defaults",
            recommendations=[r.to_dict() for r in recommend(prof, strategy="defaults")],
        )
        trial = history.add_trial(
            run_id, family=rec.family, source=rec.source, recommended=rec.params, params=rec.params
        )
        history.set_trial_code(trial, generate_code(prof, rec.config, trial_id=trial))
        history.finish_trial(trial, family=rec.family, params=rec.params, scores=rng.random(5), fit_seconds=1.0)
    return run_id


def timed(work, repeat: int = 5) -> tuple[float, int]:
    """Median seconds of ``work()`` and the size of the JSON it returns."""
    times, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        size = len(work())
        times.append(time.perf_counter() - started)
    return statistics.median(times), size


def measure(n_runs: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        history = History(Path(tmp) / "history.sqlite")
        started = time.perf_counter()
        last = fill(history, n_runs)
        filled = time.perf_counter() - started
        grouped, grouped_size = timed(lambda: json.dumps({"datasets": datasets(history.run_summaries())}))
        one, one_size = timed(lambda: json.dumps(history.run(last) | {"requests": history.requests(last)}), 20)
    return (
        f"{n_runs:>6,} runs ({filled:.0f} s to record): GET datasets {grouped * 1000:6.1f} ms, "
        f"{grouped_size / 1024:6.1f} KiB · GET runs/<id> {one * 1000:5.2f} ms, {one_size / 1024:5.1f} KiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, action="append", help="history sizes (default: 100 1000 3000)")
    for n_runs in parser.parse_args().runs or [100, 1_000, 3_000]:
        print(measure(n_runs))


if __name__ == "__main__":
    main()
