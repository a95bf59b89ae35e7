"""What the panel costs: time to show a card, the whole panel's size, and Run's overhead.

    python benchmarks/panel_speed.py

On the quickstart's diamonds data (53,940 rows) with the ``defaults`` recommender (7 families):
- card: time from a recommendation to its card (editors built), median per family, binary task;
- panel: building the header (profile rendered) and streaming 7 cards, time and peak memory;
- state: widget models created and the JSON size of their state (what a notebook saves);
- Run: a click's wall time minus the training loop's own ``fit_seconds``: registering the trial,
  generating the code, reading the result back and updating the card.
Widgets are built without a frontend (no comm traffic), so times are the kernel's share only.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import ipywidgets as widgets
import pandas as pd

from llm_cash_magic import History, pipeline, space
from llm_cash_magic.frontends.editors import Looks
from llm_cash_magic.frontends.options import parse
from llm_cash_magic.frontends.panel import Card, Panel
from llm_cash_magic.recommenders import Recommendation
from llm_cash_magic.recommenders.llm.settings import LLMSettings

DIAMONDS = Path(__file__).resolve().parents[1] / "notebooks" / "data" / "diamonds.csv.gz"


def card_times(task: str, repeats: int = 20) -> dict[str, float]:
    out, looks = {}, Looks()
    for fam in space.FAMILIES.values():
        rec = Recommendation(fam.name, fam.defaults(task), "why", "bench")
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            Card(1, rec, task, looks)
            times.append(time.perf_counter() - start)
        out[fam.name] = statistics.median(times) * 1000
    return out


def panel_build(df: pd.DataFrame, history: History) -> tuple[Panel, float, float]:
    plan = pipeline.plan(df, parse("df target=price n=7 cv=3"), LLMSettings(), History.from_environment())
    widgets.Widget.close_all()
    tracemalloc.start()
    start = time.perf_counter()
    panel = Panel(plan, "", history, {"df": df})
    panel.stream()
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return panel, seconds, peak


def run_overheads(panel: Panel, history: History, repeats: int = 5) -> list[float]:
    card = next(c for c in panel.cards if c.rec.family == "lightgbm")
    {e.param.name: e for e in card.editors}["n_estimators"].value = 20
    overheads = []
    for _ in range(repeats):
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # the training code's fold lines
            card.run_button.click()
        wall = time.perf_counter() - start
        trial = history.run(panel.run_id)["trials"][-1]
        overheads.append(wall - trial["fit_seconds"])
    return overheads


def main() -> None:
    os.environ["LLM_CASH_HOME"] = tempfile.mkdtemp(prefix="cash-bench-")
    history = History.from_environment()
    df = pd.read_csv(DIAMONDS)
    print(f"diamonds: {len(df):,} rows × {df.shape[1]} columns; ipywidgets {widgets.__version__}")

    for family, ms in card_times("binary").items():
        print(f"card  {family:<24} {ms:6.1f} ms")

    panel, seconds, peak = panel_build(df, history)
    state = widgets.Widget.get_manager_state(drop_defaults=False)["state"]
    size = len(json.dumps(state))
    print(f"panel header + 7 cards: {seconds * 1000:.0f} ms, peak {peak / 2**20:.1f} MiB")
    print(f"widget models: {len(state)}, state JSON {size / 1024:.0f} KiB")

    overheads = run_overheads(panel, history)
    print(
        f"Run overhead beyond the training loop: median {statistics.median(overheads) * 1000:.0f} ms "
        f"(first {overheads[0] * 1000:.0f} ms, {len(overheads)} runs)"
    )


if __name__ == "__main__":
    main()
