"""The SQLite history: round trips, overrides, concurrent writers, damaged files, nearest tasks."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from llm_cash_magic import CashError, History, pipeline, profile, record_result, validate
from llm_cash_magic.codegen import build_model
from llm_cash_magic.frontends.options import parse
from llm_cash_magic.home import default_home
from llm_cash_magic.recommenders.llm.settings import LLMSettings
from llm_cash_magic.recommenders.offline import knowledge
from llm_cash_magic.record import SCHEMA_VERSION


def frame(n: int, n_features: int, seed: int = 0, classes: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, n_features)), columns=[f"f{i}" for i in range(n_features)])
    df["y"] = rng.integers(0, classes, n) if classes else rng.normal(size=n)
    return df


def add_task(history: History, df: pd.DataFrame, results: dict[str, float], fit_seconds: float = 0.1) -> str:
    """A run on ``df`` with one finished trial per family → score, each taking ``fit_seconds``."""
    prof = profile(df, "y")
    run_id = history.start_run(prof, data_name="df", n_columns=df.shape[1], strategy="defaults")
    for family_name, score in results.items():
        params = validate(family_name, {}, prof.task).params
        trial = history.add_trial(run_id, family=family_name, source="defaults", recommended=params, params=params)
        history.finish_trial(trial, family=family_name, params=params, scores=[score, score], fit_seconds=fit_seconds)
    return run_id


def test_a_run_and_its_trials_round_trip(history, houses):
    prof = profile(houses, "price")
    run_id = history.start_run(
        prof,
        data_name="houses",
        n_columns=7,
        strategy="defaults",
        notes="big houses",
        options={"cv": 5},
        recommendations=[{"family": "linear"}],
    )
    params = validate("linear", {}, prof.task).params
    trial = history.add_trial(
        run_id, family="linear", source="defaults", recommended=params, params=params | {"alpha": 10.0}
    )
    history.set_trial_code(trial, "print('hi')")
    history.finish_trial(
        trial, family="linear", params=params | {"alpha": 10.0}, scores=np.array([1.0, 3.0]), fit_seconds=0.5
    )

    [run] = history.runs()
    assert run["id"] == run_id and run["data_name"] == "houses" and run["notes"] == "big houses"
    assert run["profile"] == json.loads(json.dumps(prof.to_dict())) and run["options"] == {"cv": 5}
    assert run["recommendations"] == [{"family": "linear"}] and "scikit-learn" in run["versions"]
    [t] = run["trials"]
    assert (t["status"], t["cv_mean"], t["cv_std"], t["cv_scores"]) == ("done", 2.0, 1.0, [1.0, 3.0])
    assert t["overrides"] == {"alpha": {"from": 1.0, "to": 10.0}} and t["code"] == "print('hi')"
    assert history.run(run_id)["trials"] == run["trials"]


def test_run_summaries_are_the_runs_without_profile_recommendations_or_code(history):
    first = add_task(history, frame(60, 3), {"linear": 1.0, "random_forest": 2.0})
    second = add_task(history, frame(80, 4, seed=1), {"lightgbm": 3.0})
    full, summaries = history.runs(), history.run_summaries()
    assert [r["id"] for r in summaries] == [second, first] == [r["id"] for r in full]
    for run, summary in zip(full, summaries, strict=True):
        assert "profile" not in summary and "recommendations" not in summary
        assert [{k: t[k] for k in ("id", "family", "params", "cv_mean")} for t in run["trials"]] == [
            {k: t[k] for k in ("id", "family", "params", "cv_mean")} for t in summary["trials"]
        ]
        assert all("code" not in t for t in summary["trials"])
    fingerprint = full[0]["fingerprint"]
    assert [r["id"] for r in history.run_summaries(fingerprint)] == [second]


def test_record_result_reads_the_params_from_the_fitted_model(history, churn):
    prof = profile(churn, "churned")
    run_id = history.start_run(prof, data_name="churn", n_columns=4, strategy="defaults")
    recommended = validate("random_forest", {}, prof.task).params
    trial = history.add_trial(
        run_id, family="random_forest", source="defaults", recommended=recommended, params=recommended
    )
    model = build_model(prof, validate("random_forest", {"n_estimators": 25}, prof.task))  # edited in the cell
    record_result(trial, model, [0.8, 0.9], 1.5, history=history)
    t = history.trial(trial)
    assert t["status"] == "done" and t["params"]["n_estimators"] == 25
    assert t["overrides"] == {"n_estimators": {"from": 100, "to": 25}}


def test_record_result_for_an_unknown_trial_prints_one_line(history, capsys):
    record_result("nope-1", object(), [1.0], 0.1, history=history)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "trial 'nope-1' is not in" in out


def test_failed_trials_keep_their_error(history, houses):
    run_id = history.start_run(profile(houses, "price"), data_name="h", n_columns=7, strategy="defaults")
    trial = history.add_trial(run_id, family="knn", source="defaults", recommended={}, params={})
    history.fail_trial(trial, "MemoryError: too big")
    assert history.trial(trial)["status"] == "failed" and history.trial(trial)["error"] == "MemoryError: too big"


def test_two_processes_write_at_once(history, home):
    script = textwrap.dedent(f"""
        import sys
        import numpy as np, pandas as pd
        from llm_cash_magic import History, profile
        df = pd.DataFrame({{"x": np.arange(50) % 7, "y": np.linspace(0, 1, 50)}})
        prof = profile(df, "y")
        history = History({str(history.path)!r})
        for i in range(40):
            run = history.start_run(prof, data_name=f"w{{sys.argv[1]}}", n_columns=2, strategy="defaults")
            trial = history.add_trial(run, family="linear", source="t", recommended={{}}, params={{}})
            history.finish_trial(trial, family="linear", params={{}}, scores=[i], fit_seconds=0.0)
    """)
    writers = [
        subprocess.Popen([sys.executable, "-c", script, str(i)], stderr=subprocess.PIPE, text=True) for i in range(2)
    ]
    errors = [w.communicate()[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0], errors
    runs = history.runs()
    assert len(runs) == 80 and all(r["trials"][0]["status"] == "done" for r in runs)
    assert {r["data_name"] for r in runs} == {"w0", "w1"}


def test_a_damaged_file_is_moved_aside_and_a_fresh_history_started(history):
    history.path.parent.mkdir(parents=True)
    history.path.write_bytes(b"this is not a database, it is a shopping list" * 100)
    with pytest.warns(UserWarning, match=r"unreadable .* moved it to history\.sqlite\.corrupt-"):
        assert history.runs() == []
    [aside] = list(history.path.parent.glob("history.sqlite.corrupt-*"))
    assert aside.read_bytes().startswith(b"this is not a database")
    assert history.runs() == []  # the fresh file works without further warnings


def test_the_schema_is_versioned(history, houses):
    add_task(history, houses.drop(columns=["sold"]).rename(columns={"price": "y"}), {"linear": 1.0})
    with sqlite3.connect(history.path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(CashError, match="written by a newer llm_cash_magic"):
        history.runs()


def test_forget_and_export(history, tmp_path):
    first = add_task(history, frame(30, 2, seed=1), {"linear": 1.0})
    second = add_task(history, frame(30, 2, seed=2), {"knn": 2.0})
    history.forget(first[:6])
    assert [r["id"] for r in history.runs()] == [second]
    with pytest.raises(CashError, match="run id '0000zzzz' matches no run"):
        history.forget("0000zzzz")
    out = tmp_path / "h.jsonl"
    assert history.export_jsonl(out) == 1
    assert json.loads(out.read_text().splitlines()[0])["trials"][0]["family"] == "knn"
    assert history.forget_all() == 1 and history.runs() == []


def test_forget_refuses_an_ambiguous_prefix(history):
    for seed in range(20):
        add_task(history, frame(30, 2, seed=seed), {"linear": 1.0})
    ids = [r["id"] for r in history.runs()]
    prefix = next(i[0] for i in ids if sum(j.startswith(i[0]) for j in ids) > 1)
    with pytest.raises(CashError, match="is ambiguous"):
        history.forget(prefix)
    with pytest.raises(CashError, match="give a run id"):
        history.forget("")
    with pytest.raises(CashError, match="matches no run"):
        history.forget("%")  # an id prefix, not a pattern
    assert len(history.runs()) == 20


def test_the_default_home_is_under_the_jupyter_data_dir(monkeypatch):
    from jupyter_core.paths import jupyter_data_dir

    monkeypatch.delenv("LLM_CASH_HOME")
    assert default_home() == Path(jupyter_data_dir()) / "llm_cash_magic"


def nearest(history, query, k=5):
    """The history's past tasks nearest to ``query``, by the one distance the recommenders use (the
    knowledge base's), with the knowledge base's own tasks left out."""
    kb = knowledge.load()
    return knowledge.past_tasks(query, k, history=history, exclude=tuple(t.name for t in kb.tasks))


class TestMeasuredTasks:
    def test_nearest_by_meta_features_best_trials_first(self, history):
        add_task(history, frame(100, 3, seed=1), {"linear": 5.0, "lightgbm": 3.0, "knn": 4.0})
        add_task(history, frame(5000, 40, seed=2), {"lightgbm": 1.0})
        add_task(history, frame(120, 3, seed=3, classes=3), {"random_forest": 0.4})
        query = profile(frame(110, 3, seed=9), "y")
        tasks = nearest(history, query, k=2)
        assert [t.profile.n_rows for t in tasks] == [100, 5000]  # regression only, nearest first
        assert tasks[0].distance < tasks[1].distance
        assert [t["family"] for t in tasks[0].trials] == ["lightgbm", "knn", "linear"]  # rmse: lower is better
        assert [t["normalized_rank"] for t in tasks[0].trials] == pytest.approx([5 / 6, 3 / 6, 1 / 6])
        assert tasks[0].trials[0]["cv_mean"] == 3.0

    def test_higher_is_better_for_scores_like_auc(self, history):
        add_task(history, frame(200, 3, seed=1, classes=2), {"linear": 0.7, "lightgbm": 0.9})
        [task] = history.measured_tasks()
        assert [t["family"] for t in task.trials] == ["lightgbm", "linear"]

    def test_the_same_dataset_is_its_own_nearest_past_task(self, history):
        df = frame(100, 3, seed=1)
        add_task(history, frame(100, 3, seed=2), {"knn": 4.0})
        add_task(history, df, {"linear": 5.0})
        found = nearest(history, profile(df, "y"))
        assert found[0].distance == 0 and found[0].trials[0]["family"] == "linear"

    def test_each_configuration_carries_its_mean_training_time_per_fold(self, history):
        df = frame(100, 3, seed=1)
        add_task(history, df, {"linear": 5.0}, fit_seconds=1.0)
        add_task(history, df, {"linear": 7.0, "knn": 4.0}, fit_seconds=3.0)
        [task] = history.measured_tasks()
        timed = [(t["family"], t["cv_mean"], t["seconds"]) for t in task.trials]
        assert timed == [("knn", 4.0, 1.5), ("linear", 6.0, 1.0)]  # per fold: each trial had 2

    def test_a_lone_trial_ranks_in_the_middle_not_at_the_top(self, history):
        add_task(history, frame(100, 3, seed=1), {"knn": 4.0})
        [task] = history.measured_tasks()
        assert task.trials[0]["normalized_rank"] == 0.5

    def test_the_order_is_deterministic(self, history):
        for seed in range(4):
            add_task(history, frame(100, 3, seed=seed), {"linear": 1.0})
        query = profile(frame(100, 3, seed=99), "y")
        first = [t.profile.fingerprint for t in nearest(history, query, k=4)]
        assert first == [t.profile.fingerprint for t in nearest(history, query, k=4)]
        assert len(first) == 4


def test_a_file_with_damaged_pages_is_moved_aside_when_a_read_finds_them(history):
    for seed in range(12):
        add_task(history, frame(40, 12, seed=seed), {"linear": 1.0, "knn": 2.0})
    with sqlite3.connect(history.path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(history.path, "r+b") as fh:  # pages 2 and 3: what opening the file never reads
        fh.seek(4096)
        fh.write(b"\xab" * 8192)
    with pytest.warns(UserWarning, match=r"unreadable \(database disk image is malformed\); moved it to"):
        assert history.runs() == []
    assert len(list(history.path.parent.glob("history.sqlite.corrupt-*"))) == 3  # with its -wal and -shm
    add_task(history, frame(30, 2), {"linear": 1.0})
    assert len(history.runs()) == 1


def test_a_history_that_cannot_be_opened_is_one_clear_line(home):
    home.parent.mkdir(exist_ok=True)
    home.write_text("a file where the folder should be")
    with pytest.raises(CashError, match=r"cannot open the history .* set \$LLM_CASH_HOME to a writable folder"):
        History.from_environment().runs()
    home.unlink()
    (home / "history.sqlite").mkdir(parents=True)  # SQLite: unable to open database file
    with pytest.raises(CashError, match=r"cannot open the history .*unable to open database file"):
        History.from_environment().runs()


def test_export_to_a_path_that_cannot_be_written_is_one_clear_line(history, tmp_path):
    add_task(history, frame(30, 2), {"linear": 1.0})
    with pytest.raises(CashError, match=r"cannot write .*x\.jsonl: No such file or directory"):
        history.export_jsonl(tmp_path / "nowhere" / "x.jsonl")
    with pytest.raises(CashError, match=r"cannot write .*: Is a directory"):
        history.export_jsonl(tmp_path)


def test_what_the_data_forces_on_the_code_is_no_user_override(history):
    from llm_cash_magic import pipeline
    from llm_cash_magic.frontends.options import parse
    from llm_cash_magic.recommenders import Recommendation

    rng = np.random.default_rng(3)
    df = pd.DataFrame({"country": [f"c{i % 100}" for i in range(400)], "x": rng.normal(size=400)})
    df["y"] = rng.normal(size=400)
    plan = pipeline.plan(df, parse("df target=y strategy=defaults cv=3"), LLMSettings(), history)
    rec = Recommendation(
        "hist_gradient_boosting",
        validate("hist_gradient_boosting", {"max_bins": 63}, "regression").params,
        "few bins",
        "test",
    )
    run_id = pipeline.start_run(history, plan, [rec])
    trial_id, code = pipeline.prepare_trial(history, run_id, plan, rec)
    assert "max_bins=100," in code  # a bin for each of the 100 countries
    assert pipeline.execute(code, {"df": df}, history, trial_id) is None
    trial = history.trial(trial_id)
    assert trial["status"] == "done" and trial["params"]["max_bins"] == 100 and trial["overrides"] == {}


def test_a_model_that_stops_early_is_recorded_with_its_cap_and_the_rounds_it_kept(history, churn):
    prof = profile(churn, "churned")
    run_id = history.start_run(prof, data_name="churn", n_columns=4, strategy="offline")
    planned = validate("lightgbm", {"early_stopping": True, "n_estimators": 2000}, prof.task).params
    trial = history.add_trial(run_id, family="lightgbm", source="offline", recommended=planned, params=planned)
    model = build_model(prof, validate("lightgbm", {"early_stopping": True, "n_estimators": 120}, prof.task))
    record_result(
        trial, model, [0.8, 0.9], 1.0, history=history, rounds={"cap": 2000, "kept": [110, 130], "final": 120}
    )
    t = history.trial(trial)
    assert t["params"]["n_estimators"] == 2000 and t["params"]["early_stopping"] is True
    assert t["overrides"] == {} and t["details"]["rounds"]["kept"] == [110, 130]


class TestReferences:
    def plan(self, df, history, line="df target=churned strategy=defaults cv=3"):
        return pipeline.plan(df, parse(line), LLMSettings(), history)

    def test_they_are_measured_once_per_dataset_and_folds(self, history, churn):
        plan = self.plan(churn, history)
        run_id = pipeline.start_run(history, plan, [])
        first = pipeline.references(history, plan, churn, run_id)
        assert set(first) == {"trivial", "lightgbm"} and first["trivial"]["cv_mean"] == 0.5  # AUC of the prior
        assert len(first["lightgbm"]["cv_scores"]) == 3 and first["lightgbm"]["source"] == "reference"
        later = self.plan(churn, history)
        again = pipeline.references(history, later, churn, pipeline.start_run(history, later, []))
        assert again == first  # read back, not measured again
        other = self.plan(churn, history, "df target=churned strategy=defaults cv=4")
        other_run = pipeline.start_run(history, other, [])
        assert len(pipeline.references(history, other, churn, other_run)["lightgbm"]["cv_scores"]) == 4

    def test_a_result_is_printed_next_to_them_and_flagged_below_the_trivial_one(self, history, churn, capsys):
        plan = self.plan(churn, history)
        run_id = pipeline.start_run(history, plan, [])
        refs = pipeline.references(history, plan, churn, run_id)
        config = validate("linear", {}, plan.profile.task)
        trial = history.add_trial(run_id, family="linear", source="t", recommended=config.params, params=config.params)
        record_result(trial, build_model(plan.profile, config), [0.45, 0.40, 0.47], 1.0, history=history)
        out = capsys.readouterr().out
        lightgbm = refs["lightgbm"]["cv_mean"]
        worse = f"(this one {lightgbm - 0.44:.4f} worse)"
        assert f"roc_auc on the same folds: LightGBM defaults {lightgbm:.4f} {worse}" in out
        assert "trivial predictor (the class frequencies) 0.5000" in out
        assert "WARNING: this model does no better than the trivial predictor; check that the target" in out

    def test_the_comparison_says_better_or_worse_in_words_whichever_way_the_metric_runs(self):
        from llm_cash_magic.metrics import METRICS
        from llm_cash_magic.record.result import comparison

        refs = {"lightgbm": {"cv_mean": 545.0}, "trivial": {"cv_mean": 900.0}}
        assert "(this one 15.0000 worse)" in comparison(METRICS["rmse"], 560.0, refs, "regression")
        assert "(this one 15.0000 better)" in comparison(METRICS["rmse"], 530.0, refs, "regression")
        refs = {"lightgbm": {"cv_mean": 0.8}, "trivial": {"cv_mean": 0.5}}
        assert "(this one 0.0500 better)" in comparison(METRICS["roc_auc"], 0.85, refs, "binary")
        assert "(the same)" in comparison(METRICS["roc_auc"], 0.8, refs, "binary")
        assert "(the same)" in comparison(METRICS["roc_auc"], 0.80001, refs, "binary")  # not "0.0000 better"
        # below the trivial predictor: the integer-classes hint only where the classes are numbers
        # (``TaskProfile.numbers_as_classes``, tested with the profile)
        ratings = {"lightgbm": {"cv_mean": 1.2}, "trivial": {"cv_mean": 1.4}}
        assert "task=regression reads it as a number" in comparison(
            METRICS["log_loss"], 1.6, ratings, "multiclass", True
        )
        for task in ("binary", "multiclass"):
            line = comparison(METRICS["log_loss"], 1.6, ratings, task, False)
            assert "WARNING" in line and "check that the target is what you mean to predict" in line

    def test_they_are_the_history_tasks_yardstick(self, history, churn):
        plan = self.plan(churn, history)
        pipeline.references(history, plan, churn, pipeline.start_run(history, plan, []))
        [task] = history.measured_tasks()
        assert task.trivial == 0.5 and [t["family"] for t in task.trials] == ["lightgbm"]


def test_four_processes_adding_trials_to_one_run_lose_none(history, houses):
    run_id = history.start_run(profile(houses, "price"), data_name="h", n_columns=7, strategy="defaults")
    script = textwrap.dedent(f"""
        from llm_cash_magic import History
        history = History({str(history.path)!r})
        for _ in range(300):
            history.add_trial({run_id!r}, family="linear", source="refine", recommended={{}}, params={{}})
    """)
    writers = [subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [w.communicate(timeout=300)[1] for w in writers]
    assert all(w.returncode == 0 for w in writers), errors
    ids = [t["id"] for t in history.run(run_id)["trials"]]
    assert len(ids) == len(set(ids)) == 1200


@contextlib.contextmanager
def read_only(*paths):
    """``paths`` unwritable for this process: chmod for a user, the immutable flag for root (whom
    permissions do not stop)."""
    import os

    root = os.geteuid() == 0
    try:
        for path in paths:
            if root:
                done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
                if done.returncode:
                    pytest.skip(f"cannot make {path} read-only for root here: {done.stderr.strip()}")
            else:
                os.chmod(path, 0o555 if path.is_dir() else 0o444)
        yield
    finally:
        for path in paths:
            if root:
                subprocess.run(["chattr", "-i", str(path)], capture_output=True)
            else:
                os.chmod(path, 0o755 if path.is_dir() else 0o644)


def test_a_read_only_history_is_read_and_a_write_says_where_and_why(history, houses):
    run_id = history.start_run(profile(houses, "price"), data_name="h", n_columns=7, strategy="defaults")
    history.add_trial(run_id, family="linear", source="t", recommended={}, params={})
    with sqlite3.connect(history.path) as conn:  # a finished history: its journal merged into the file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with read_only(history.path, history.path.parent):
        assert history.read_only
        assert [r["id"] for r in history.runs()] == [run_id] and len(history.measured_tasks()) == 0
        with pytest.raises(
            CashError,
            match=re.escape(
                f"cannot write the history {history.path}: it is read-only here (the file or its folder); "
                "set $LLM_CASH_HOME to a writable folder"
            ),
        ):
            history.forget(run_id)
    assert [r["id"] for r in history.runs()] == [run_id]  # nothing lost
