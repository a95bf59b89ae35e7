"""How big the prompts are, how fast answers are parsed, and how early recommendations arrive.

    python benchmarks/llm_stream.py

1. Prompt size for the quickstart data (diamonds), zero-shot and meta-informed with k=5 past
   tasks of 10 configurations each (the paper's prompts: ~6.7k and ~13.1k characters).
2. Parsing + validation throughput: a 2,000-line answer fed in 7-character deltas.
3. Streaming against the repo's fake OpenAI-compatible server (tests/fake_openai.py) sending
   5 lines 0.2 s apart: when each recommendation is handed on, against when the stream ends.
4. Round trip of a one-line answer through the SDK to a local server (our overhead).
5. Reading an answer of 2.5 and 10 MB without a newline: linear in its size.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
os.environ["LLM_CASH_HOME"] = tempfile.mkdtemp()  # never touch a real history

from fake_openai import FakeOpenAI, Reply  # noqa: E402

from llm_cash_magic import profile  # noqa: E402
from llm_cash_magic.recommenders import Recommendation  # noqa: E402
from llm_cash_magic.recommenders.llm.parsing import AnswerReader, read_recommendation  # noqa: E402
from llm_cash_magic.recommenders.llm.recommender import LLMRecommender  # noqa: E402
from llm_cash_magic.recommenders.llm.settings import LLMSettings  # noqa: E402
from llm_cash_magic.record import History  # noqa: E402
from llm_cash_magic.space import FAMILIES  # noqa: E402

LINE = {
    "family": "lightgbm",
    "params": {"learning_rate": 0.05, "num_leaves": 63, "n_estimators": 500},
    "rationale": "boosted trees lead on mid-sized mixed data",
}


def past_tasks(history: History, n_tasks: int = 5, n_configs: int = 10) -> None:
    rng = np.random.default_rng(0)
    families = list(FAMILIES)
    for t in range(n_tasks):
        rows = 500 * (t + 2)
        df = pd.DataFrame({"x": rng.normal(size=rows), "c": rng.choice(list("abc"), rows), "y": rng.normal(size=rows)})
        prof = profile(df, "y")
        run_id = history.start_run(prof, data_name=f"past{t}", n_columns=3, strategy="defaults")
        for c in range(n_configs):
            fam = families[c % len(families)]
            trial = history.add_trial(run_id, family=fam, source="bench", recommended={}, params={"i": c})
            history.finish_trial(trial, family=fam, params={"i": c}, scores=rng.normal(1, 0.1, 5), fit_seconds=1)


def prompt_sizes(prof, history: History) -> None:
    settings = LLMSettings(base_url="http://127.0.0.1:9/v1")
    for strategy in ("zero-shot", "meta-informed"):
        messages = LLMRecommender(strategy, settings, history).messages(prof, 5)
        chars = sum(len(m["content"]) for m in messages)
        print(f"prompt {strategy:>13}: {chars:>7,} characters (~{chars // 4:,} tokens)")


def parse_throughput(lines: int = 2000, delta: int = 7) -> None:
    text = "\n".join(json.dumps(LINE) for _ in range(lines)) + "\n"
    start = time.perf_counter()
    reader, recs = AnswerReader(), []
    for i in range(0, len(text), delta):
        recs += [read_recommendation(item, "regression", "bench") for item in reader.feed(text[i : i + delta])]
    seconds = time.perf_counter() - start
    assert len(recs) == lines and all(isinstance(r, Recommendation) for r in recs)
    print(
        f"parse + validate: {lines:,} lines in {seconds:.3f} s = {seconds / lines * 1e6:,.0f} µs per line "
        f"({len(text) / seconds / 2**20:.1f} MiB/s in {delta}-character deltas)"
    )


def reading_is_linear(delta: int = 7) -> None:
    """An answer of prose without end (the kind a looping model sends), fed in small deltas: the
    seconds to read 2.5 and 10 MB. Linear reading takes four times as long for four times the size."""
    line = "Let me think about which configuration fits this task best once more. "
    for megabytes in (2.5, 10):
        text = (line * int(megabytes * 2**20 / len(line)))[: int(megabytes * 2**20)]
        reader = AnswerReader()
        start = time.perf_counter()
        for i in range(0, len(text), delta):
            reader.feed(text[i : i + delta])
        reader.close()
        print(
            f"reading {megabytes:g} MB of prose without a newline in {delta}-character deltas: "
            f"{time.perf_counter() - start:.2f} s"
        )


def streaming(prof, history: History) -> None:
    fake = FakeOpenAI()
    try:
        lines = [json.dumps(LINE | {"params": {"n_estimators": 100 * (i + 1)}}) for i in range(5)]
        text = "\n".join(lines) + "\n"
        fake.reply(Reply(text, delta_size=len(lines[0]) // 3, write_delay=0.2 / 3))
        settings = LLMSettings(model="fake-model", base_url=fake.url, max_retries=0)
        start = time.perf_counter()
        arrivals = [
            time.perf_counter() - start
            for _ in LLMRecommender("zero-shot", settings, history, notify=lambda _: None).recommend(prof, 5)
        ]
        total = history.requests()[-1]["latency_seconds"]
        print(
            "streaming: recommendations handed on at "
            + ", ".join(f"{t:.2f}" for t in arrivals)
            + f" s; the stream ended at {total:.2f} s"
        )
        times = []
        for _ in range(20):
            fake.reply(json.dumps(LINE))
            start = time.perf_counter()
            list(
                LLMRecommender("zero-shot", settings.replace(cache=False), history, notify=lambda _: None).recommend(
                    prof, 1
                )
            )
            times.append(time.perf_counter() - start)
        print(
            f"round trip of a one-line answer (client, request, parse, record): median "
            f"{np.median(times) * 1000:.0f} ms, best {min(times) * 1000:.0f} ms"
        )
    finally:
        fake.close()


def main() -> None:
    df = pd.read_csv(ROOT / "notebooks" / "data" / "diamonds.csv.gz")
    prof = profile(df, "price")
    history = History.from_environment()
    past_tasks(history)
    prompt_sizes(prof, history)
    parse_throughput()
    reading_is_linear()
    streaming(prof, history)


if __name__ == "__main__":
    main()
