"""The benchmark and the knowledge-base build: bounded fits, percentiles, leave-one-out, smoke runs."""

import json
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from conftest import frame

import llm_cash_magic as cash
from llm_cash_magic.bench import datasets
from llm_cash_magic.bench.evaluate import run_bounded
from llm_cash_magic.bench.strategies import Context, offline_recommender
from llm_cash_magic.metrics import METRICS, percentiles
from llm_cash_magic.profiling import META_FEATURES_VERSION
from llm_cash_magic.recommenders.offline import knowledge
from llm_cash_magic.run.race import RACE_SIZE


def test_a_job_that_outlives_its_time_limit_is_killed():
    started = time.monotonic()
    outcomes = dict(run_bounded({"slow": lambda: time.sleep(30), "quick": lambda: 42}, workers=2, seconds=1))
    assert outcomes["slow"].error == "timed out after 1 s"
    assert outcomes["quick"].value == 42 and outcomes["quick"].error is None
    assert time.monotonic() - started < 10


def test_a_failing_job_is_reported_as_its_error_line():
    outcomes = dict(run_bounded({"bad": lambda: 1 / 0}))
    assert outcomes["bad"].value is None
    assert outcomes["bad"].error.startswith("ZeroDivisionError")


def test_percentile_is_the_share_of_the_pool_beaten_with_ties_counting_half():
    reference = [0.5, 0.6, 0.7, None]
    assert list(percentiles([0.7, 0.55, None], reference, METRICS["roc_auc"])) == [87.5, 50.0, 12.5]
    assert list(percentiles([0.5], reference, METRICS["rmse"])) == [87.5]


def test_the_offline_strategy_never_sees_the_task_it_is_evaluated_on():
    df, target, task = datasets.load("breast_cancer")
    prof = cash.profile(df, target)
    ctx = Context("breast_cancer", prof, df.drop(columns=target), df[target], k=5, seed=0)
    seen = [nb.label for nb in offline_recommender(ctx).neighbours(prof)[0]]
    assert seen and not any(label.startswith("breast_cancer") for label in seen)
    # without leave-one-out the knowledge base's own copy would be the nearest task
    allowed = type(offline_recommender(ctx))()
    assert allowed.neighbours(prof)[0][0].label.startswith("breast_cancer")


def bench(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "llm_cash_magic.bench", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """Two small tasks (a catalogued one and a user's CSV), K = 2, run once for the module."""
    where = tmp_path_factory.mktemp("bench")
    frame(300, 4, 1, task="regression", seed=3).to_csv(where / "sales.csv", index=False)
    args = [
        "breast_cancer",
        "--data",
        where / "sales.csv",
        "--target",
        "y",
        "--k",
        2,
        "--max-rows",
        150,
        "--seconds",
        60,
        "--budgets",
        1,
        3,
        "--work",
        where / "work",
        "--out",
        where / "results.md",
    ]
    return where, args, bench(*args, cwd=where)


def test_smoke_benchmark_reports_every_strategy_on_both_tasks(smoke):
    where, _, done = smoke
    assert done.returncode == 0, done.stderr[-2000:]
    report = (where / "results.md").read_text()
    for strategy in (
        "lightgbm-defaults",
        "defaults",
        "flaml-zero-shot",
        "random-K",
        "tpe-K",
        "offline-top1",
        "offline-best-of-K",
        "offline-blend-K",
    ):
        assert f"| {strategy} |" in report
    assert "| breast_cancer |" in report and "| sales |" in report
    assert "Produced by `python -m llm_cash_magic.bench breast_cancer --data" in report


def test_without_the_pool_the_report_compares_with_lightgbm_defaults_and_names_the_worst_run(tmp_path):
    strategies = (
        "lightgbm-defaults",
        "offline-top1",
        "offline-top1-plain",
        "offline-auto",
        "tpe-3",
        "offline-best-of-2",
    )
    args = ["breast_cancer", *(a for s in strategies for a in ("--strategy", s)), "--k", 7, "--seeds", 0, 1]
    args += ["--max-rows", 150, "--no-pool"]
    done = bench(*args, "--work", tmp_path / "work", "--out", tmp_path / "results.md", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    report = (tmp_path / "results.md").read_text()
    assert "Percentile of each strategy" not in report and "No reference pool (`--no-pool`)" in report
    for name in ("offline-top1", "offline-top1-plain", "offline-auto"):
        line = next(x for x in report.splitlines() if x.startswith(f"- {name} beats LightGBM defaults"))
        assert "of 1 task (mean over seeds); worst single run: breast_cancer (seed " in line
    seeds = [[json.loads(x)["key"] for x in f.read_text().splitlines()] for f in (tmp_path / "work").glob("*.jsonl")]
    fits = [key for keys in seeds for key in keys]
    assert len([k for k in fits if k.startswith("fit ")]) <= 2 * 6  # 2 seeds × at most 6 final configurations
    assert len([k for k in fits if k.startswith("cv ")]) <= 2 * (3 + 2)  # their own budgets, not --k 7
    assert len([k for k in fits if k.startswith("race3x50000 [")]) == 2 * RACE_SIZE  # offline-auto races the top 5
    for keys in seeds:  # where the laps leave room, every finisher races on the other two folds; else none does
        assert len([k for k in keys if k.startswith("race3x50000 fold ")]) in (0, RACE_SIZE * 2)
    assert "(K = 3)" in report and "(K = 2)" in report
    assert (tmp_path / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_smoke_benchmark_plots_the_mean_percentiles_and_the_anytime_curves(smoke):
    where, _, _ = smoke
    assert (where / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (where / "results-anytime.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_smoke_benchmark_reports_cold_and_warm_refinement_at_each_budget(smoke):
    where, _, _ = smoke
    report = (where / "results.md").read_text()
    assert "| strategy | b = 1 | b = 3 |" in report
    assert "| tpe-cold |" in report and "| tpe-warm-offline |" in report
    assert "**tpe-warm-offline − tpe-cold**, paired per task and seed:" in report


def test_an_interrupted_benchmark_resumes_without_refitting(smoke):
    where, args, _ = smoke

    def files():
        return {p: p.read_bytes() for p in (where / "work").rglob("*") if p.is_file()}

    before = files()
    again = bench(*args, cwd=where)
    assert again.returncode == 0
    assert files() == before


def test_the_warm_start_is_the_first_trial_and_the_cold_start_is_not(smoke):
    from llm_cash_magic.bench import anytime, catalog_task
    from llm_cash_magic.bench.run import Settings

    where, _, _ = smoke  # the same settings: everything comes from its work folder
    points = anytime.run([catalog_task("breast_cancer")], (1, 3), Settings(k=2, max_rows=150), where / "work")
    chosen = {(p.strategy, p.budget): p for p in points}
    assert set(chosen) == {(s, b) for s in ("tpe-cold", "tpe-warm-offline") for b in (1, 3)}
    assert chosen["tpe-warm-offline", 1].chosen.endswith("(recommended)")
    assert not chosen["tpe-cold", 1].chosen.endswith("(recommended)")
    assert all(0 <= p.percentile <= 100 and p.test_score is not None for p in points)


def test_the_anytime_curve_keeps_the_best_trial_that_can_be_refit_within_the_limit(tmp_path):
    from llm_cash_magic.bench import anytime, catalog_task
    from llm_cash_magic.bench.evaluate import Outcome
    from llm_cash_magic.bench.run import Settings, split

    data = split(catalog_task("breast_cancer"), 0, Settings(max_rows=150, pool=False), tmp_path)
    trials = [
        {"family": "lightgbm", "params": {"num_leaves": n}, "score": score, "state": state, "warm_start": False}
        for n, score, state in [
            (7, 0.90, "complete"),
            (15, 0.99, "complete"),
            (31, 0.95, "complete"),
            (63, None, "pruned"),
        ]
    ]
    ranked = anytime._ranked(data, trials, budget=4)
    assert [trial["params"]["num_leaves"] for _, trial in ranked] == [15, 31, 7]  # AUC: the higher first
    # the best trial's refit ran past the limit (as a slow CatBoost's does), the next one's ended in time
    data.cache.done[data.fit_key(ranked[0][0])] = Outcome(None, 61.0, "timed out after 60 s")
    data.cache.done[data.fit_key(ranked[1][0])] = Outcome(0.97, 0.5)
    config, trial = anytime._refit_best(data, ranked, Settings(max_rows=150, pool=False))
    assert trial["params"]["num_leaves"] == 31 and config == ranked[1][0]
    assert anytime._ranked(data, trials, budget=1)[0][1]["params"]["num_leaves"] == 7  # the first trial only


def test_an_unknown_task_is_one_line_not_a_traceback(tmp_path):
    done = bench("no_such_task", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: unknown benchmark task 'no_such_task'")
    assert "Traceback" not in done.stderr


def build_kb(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "llm_cash_magic.bench.build_knowledge", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_knowledge_build_on_a_users_file_resumes_and_loads(tmp_path):
    frame(1200, 3, task="regression", seed=5).to_csv(tmp_path / "mine.csv", index=False)
    args = [
        "--no-catalog",
        "--data",
        "mine.csv",
        "--target",
        "y",
        "--family",
        "linear",
        "--family",
        "lightgbm",
        "--cv",
        2,
        "--random",
        1,
        "--no-base",
        "--work",
        "work",
        "--out",
        "kb.json",
    ]
    first = build_kb(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    lines = (tmp_path / "work" / "entries" / "mine@1000.jsonl").read_text()

    kb = knowledge.load(tmp_path / "kb.json")
    assert [(t.name, t.size) for t in kb.tasks] == [("mine", 1000)]  # 1,200 rows: measured at 1,000
    entry = kb.tasks[0]
    assert len(entry.scores) == len(kb.pools["regression"]) and all(entry.measured)
    assert {c.family for c in kb.pools["regression"]} == {"linear", "lightgbm"}
    assert entry.trivial > min(s for s in entry.scores if s is not None)  # the mean is beaten (RMSE)
    assert kb.build["cv"] == 2 and kb.build["sizes"] == [1000, 4000, 16000, 50000] and kb.build["wall_seconds"] >= 0
    stored = json.loads((tmp_path / "kb.json").read_text())["tasks"][0]["meta_features"]
    assert kb.build["meta_features"] == META_FEATURES_VERSION
    assert stored == entry.profile.meta_feature_vector().tolist()  # loading reads these, not the profile

    assert build_kb(*args, cwd=tmp_path).returncode == 0
    assert (tmp_path / "work" / "entries" / "mine@1000.jsonl").read_text() == lines  # nothing refit
    # a new work folder starts from the knowledge base it extends: nothing refit either
    again = [{"--no-base": "--base", "work": "again"}.get(a, a) for a in args]
    again.insert(again.index("--base") + 1, "kb.json")
    assert build_kb(*again, cwd=tmp_path).returncode == 0
    seeded = (tmp_path / "again" / "entries" / "mine@1000.jsonl").read_text().splitlines()
    assert len(seeded) == len(lines.splitlines())

    other = build_kb(*[a if a != 2 else 3 for a in args], cwd=tmp_path)
    assert other.returncode != 0 and "other parameters" in other.stderr


def test_catalogued_frames_follow_the_conventions():
    df, target, task = datasets.load("diabetes", max_rows=100)
    assert (task, len(df)) == ("regression", 100) and target in df
    df, target, task = datasets.load("breast_cancer", max_rows=200, seed=1)
    counts = df[target].value_counts(normalize=True)
    assert task == "binary" and abs(len(df) - 200) <= 1 and counts.min() == pytest.approx(0.37, abs=0.02)


def test_a_users_file_must_exist_and_hold_the_target(tmp_path):
    pd.DataFrame({"a": np.arange(3), "b": [1, 2, 3]}).to_csv(tmp_path / "f.csv", index=False)
    with pytest.raises(cash.CashError, match="not a file"):
        datasets.load_file(tmp_path / "missing.csv", "b")
    with pytest.raises(cash.CashError, match="'price' is not a column"):
        datasets.load_file(tmp_path / "f.csv", "price")
    assert json.dumps(list(datasets.load_file(tmp_path / "f.csv", "b").columns)) == '["a", "b"]'


def test_the_knowledge_build_begins_each_new_task_then_takes_the_size_buckets_in_turn(tmp_path):
    from llm_cash_magic.bench.build_knowledge import _plan

    def table(n_rows):
        return lambda max_rows, seed: (pd.DataFrame({"x": range(n_rows)}), "x", "regression")

    rows = {"big": 60_000, "mid": 20_000, "a": 5_000, "b": 1_500, "tiny": 700}
    tasks = [(n, table(r)) for n, r in rows.items()]
    plan = [(name, size) for name, size, _ in _plan(tasks, tmp_path)]
    assert plan == [
        *[("a", 1_000), ("b", 1_000), ("big", 1_000), ("mid", 1_000), ("tiny", 700)],  # each task, smallest
        *[("big", 50_000), ("big", 16_000), ("a", 4_000)],  # then one of each size, the rarest first
        *[("mid", 16_000), ("big", 4_000)],
        ("mid", 4_000),
    ]
    assert json.loads((tmp_path / "rows.json").read_text()) == rows  # learnt once, kept for the next start

    (tmp_path / "entries").mkdir()
    (tmp_path / "entries" / "big@50000.meta.json").write_text("{}")  # begun: its smallest waits its turn
    plan = [(name, size) for name, size, _ in _plan(tasks, tmp_path)]
    assert plan[:5] == [("a", 1_000), ("b", 1_000), ("mid", 1_000), ("tiny", 700), ("big", 50_000)]


def test_an_entry_that_cannot_be_measured_is_skipped_with_one_line_and_the_build_goes_on(tmp_path, capsys):
    from llm_cash_magic.bench.build_knowledge import build

    def lonely(max_rows, seed):  # its third class has one row: no fold split can hold it
        return pd.DataFrame({"x": range(300), "y": ["a"] * 150 + ["c"] * 149 + ["b"]}), "y", "multiclass"

    def fine(max_rows, seed):
        return frame(300, 2, task="regression", seed=1), "y", "regression"

    tasks = [("lonely", lonely), ("fine", fine)]
    kb = build(tasks, work=tmp_path / "work", out=tmp_path / "kb.json", cv=2, per_family=0, families=("linear",))
    assert [(t["name"], t["size"]) for t in kb["tasks"]] == [("fine", 300)]
    out = capsys.readouterr().out
    assert "skipped lonely@300: class 'b' of target 'y' has a single row" in " ".join(out.split())


def test_a_users_file_with_a_class_of_one_row_is_one_line(tmp_path):
    rare = pd.DataFrame({"x": range(60), "y": ["a"] * 30 + ["b"] * 29 + ["c"]})
    rare.to_csv(tmp_path / "rare.csv", index=False)
    done = bench("--data", "rare.csv", "--target", "y", "--k", 1, "--out", "r.md", "--work", "w", cwd=tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "class 'c' of target 'y' has a single row" in done.stderr + done.stdout
