"""Warm-started refinement: recommendations first, N trials, resumable, interruptible, recorded."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest
from conftest import newest_code

from llm_cash_magic import History, profile, recommend
from llm_cash_magic.run.refine import refine, storage_url, study_name


@pytest.fixture
def task():
    rng = np.random.default_rng(4)
    n = 150
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(["x", "y"], n)})
    df["y"] = 2 * df["a"] - df["b"] + (df["c"] == "x") + rng.normal(0, 0.3, n)
    prof = profile(df, "y")
    recs = [r for r in recommend(prof, strategy="defaults", n=7) if r.family in ("linear", "knn")]
    history = History.from_environment()
    run_id = history.start_run(prof, data_name="df", n_columns=4, strategy="defaults")
    return df, prof, recs, history, run_id


def run_refine(task, n, **kwargs):
    df, prof, recs, history, run_id = task
    return refine(df, prof, recs, n, history=history, run_id=run_id, cv=3, families=("linear", "knn"), **kwargs)


def test_the_first_trials_are_exactly_the_recommendations(task):
    _, _, recs, _, _ = task
    result = run_refine(task, 4)
    first = result.trials[: len(recs)]
    assert [(t.family, t.params) for t in first] == [(r.family, r.params) for r in recs]
    assert all(t.warm_start for t in first) and not any(t.warm_start for t in result.trials[len(recs) :])


def test_n_trials_run_and_each_is_recorded_in_the_history(task):
    _, _, _, history, run_id = task
    result = run_refine(task, 5)
    assert len(result.trials) == 5
    recorded = {t["id"]: t for t in history.run(run_id)["trials"]}
    for outcome in result.trials:
        trial = recorded[outcome.history_trial]
        assert trial["source"] == "refine" and trial["family"] == outcome.family
        if outcome.state == "complete":
            assert trial["status"] == "done" and trial["cv_mean"] == pytest.approx(outcome.score)
        else:
            assert trial["status"] == "failed"


def test_a_second_call_resumes_the_same_study(task):
    _, _, recs, history, run_id = task
    first = run_refine(task, 3)
    second = run_refine(task, 2)
    assert second.study_name == first.study_name == study_name(run_id)
    assert [t.number for t in second.trials] == [0, 1, 2, 3, 4]
    assert sum(t.warm_start for t in second.trials) == len(recs)  # not enqueued again
    searched = [(t.family, t.params) for t in second.trials if not t.warm_start]
    assert len(searched) == len(set(map(repr, searched)))  # resuming does not replay suggestions
    stored = optuna.load_study(study_name=study_name(run_id), storage=storage_url(history))
    assert len(stored.trials) == 5


def test_an_interrupt_keeps_the_finished_trials(task):
    seen = []

    def interrupt_after_two(outcome):
        seen.append(outcome)
        if len(seen) == 2:
            raise KeyboardInterrupt

    result = run_refine(task, 6, on_trial=interrupt_after_two)
    assert result.interrupted
    assert [t.number for t in result.trials[:2]] == [0, 1]
    assert len(run_refine(task, 1).trials) == len(result.trials) + 1


def test_an_interrupt_during_a_trial_records_it_as_interrupted(task):
    _, _, _, history, run_id = task

    def interrupt_in_the_second_trial(trial_number, fold):
        if trial_number == 1:
            raise KeyboardInterrupt

    result = run_refine(task, 4, on_fold=interrupt_in_the_second_trial)
    assert result.interrupted and [t.state for t in result.trials] == ["complete", "failed"]
    stopped = history.run(run_id)["trials"][1]
    assert stopped["status"] == "failed" and stopped["error"] == "interrupted"  # not left "running"


def test_the_magic_puts_the_best_trial_in_the_new_cell(ip, capsys):
    rng = np.random.default_rng(8)
    df = pd.DataFrame({"a": rng.normal(size=120), "b": rng.choice(["u", "v"], 120)})
    df["y"] = df["a"] * 3 + (df["b"] == "u") + rng.normal(0, 0.2, 120)
    ip.user_ns["df"] = df
    ip.run_line_magic("cash", "df target=y refine=3 n=2 cv=3")
    out = capsys.readouterr().out
    assert "Refinement: 3 trials" in out
    [run] = History.from_environment().runs()
    refined = [t for t in run["trials"] if t["source"] == "refine"]
    assert len(refined) == 4  # 3 search trials and the best one trained again by its code
    best = min((t for t in refined[:3] if t["status"] == "done"), key=lambda t: t["cv_mean"])
    assert refined[-1]["params"] == best["params"] and newest_code() == refined[-1]["code"]

    ip.run_line_magic("cash", f"refine {run['id'][:6]} 1")
    assert len([t for t in History.from_environment().run(run["id"])["trials"] if t["source"] == "refine"]) == 4 + 1 + 1


def test_a_trial_is_pruned_only_after_half_its_folds_and_only_among_the_worst(task):
    df, prof, recs, history, run_id = task
    refine(df, prof, recs, 14, history=history, run_id=run_id, cv=4, families=("linear", "knn"))
    study = optuna.load_study(study_name=study_name(run_id), storage=storage_url(history))
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert all(max(t.intermediate_values) >= 2 for t in pruned)  # never after its first fold
    assert len(pruned) < len(study.trials) / 2  # a search, not best-of-the-recommendations
    errors = [t["error"] for t in history.run(run_id)["trials"] if t["status"] == "failed"]
    assert all(e.startswith("pruned: worse than 25 % of the trials after the same folds") for e in errors)


def test_only_families_installed_here_are_searched(task, monkeypatch):
    import dataclasses

    from llm_cash_magic.space import FAMILIES

    monkeypatch.setitem(FAMILIES, "knn", dataclasses.replace(FAMILIES["knn"], requires="no_such_package"))
    df, prof, recs, history, run_id = task
    result = refine(df, prof, [r for r in recs if r.family == "linear"], 6, history=history, run_id=run_id, cv=3)
    assert "knn" not in {t.family for t in result.trials}


def test_a_configuration_measured_before_on_the_same_folds_is_not_fitted_again(task):
    df, prof, recs, history, _ = task
    first_run = history.start_run(prof, data_name="df", n_columns=4, strategy="defaults", options={"cv": 3, "seed": 0})
    first = refine(df, prof, recs, len(recs), history=history, run_id=first_run, cv=3, families=("linear", "knn"))
    assert not any(t.reused for t in first.trials)
    again = history.start_run(prof, data_name="df", n_columns=4, strategy="defaults", options={"cv": 3, "seed": 0})
    folds = []
    second = refine(
        df,
        prof,
        recs,
        len(recs),
        history=history,
        run_id=again,
        cv=3,
        families=("linear", "knn"),
        on_fold=lambda trial, fold: folds.append((trial, fold)),
    )
    assert all(t.reused for t in second.trials) and not folds  # nothing was fitted
    assert [t.score for t in second.trials] == [t.score for t in first.trials]
    trials = {t["id"]: t for t in history.run(again)["trials"]}
    for before, now in zip(first.trials, second.trials, strict=True):
        assert trials[now.history_trial]["details"] == {"reused": before.history_trial}
        assert trials[now.history_trial]["fit_seconds"] == 0
    other_folds = refine(df, prof, recs, 1, history=history, run_id=again, cv=4, families=("linear", "knn"))
    assert not other_folds.trials[-1].reused  # scored on other folds: fitted


def test_lightgbm_defaults_measured_as_a_reference_are_not_fitted_again(task):
    df, prof, _, history, _ = task
    from llm_cash_magic import Recommendation, validate
    from llm_cash_magic.run.references import measure

    run_id = history.start_run(prof, data_name="df", n_columns=4, strategy="defaults", options={"cv": 3, "seed": 0})
    defaults = validate("lightgbm", {}, "regression").params
    scores, seconds = measure("lightgbm", prof, df, cv=3, seed=0)
    history.record_reference(run_id, "lightgbm", scores, params=defaults, fit_seconds=seconds)
    rec = Recommendation("lightgbm", defaults, "test", "test")
    [trial] = refine(df, prof, [rec], 1, history=history, run_id=run_id, cv=3).trials
    assert trial.reused and trial.score == pytest.approx(np.mean(scores))


def test_each_fold_is_reported_and_library_warnings_are_counted_not_printed(task, recwarn):
    df, prof, _, history, run_id = task
    from llm_cash_magic import Recommendation, validate

    noisy = Recommendation("mlp", validate("mlp", {"max_iter": 20}, "regression").params, "test", "test")
    folds = []
    result = refine(
        df, prof, [noisy], 1, history=history, run_id=run_id, cv=3, on_fold=lambda t, f: folds.append((t, f))
    )
    assert folds == [(0, 1), (0, 2)]  # the last fold ends the trial itself
    [trial] = [t for t in history.run(run_id)["trials"] if t["id"] == result.trials[0].history_trial]
    assert trial["details"]["warnings"] >= 3 and trial["details"]["first_warning"].startswith("ConvergenceWarning: ")
    assert not [w for w in recwarn if "Converg" in str(w.category)]


def test_a_refinement_can_be_given_a_time_instead_of_trials(ip, capsys):
    from llm_cash_magic.frontends.options import parse

    assert (parse("df target=y refine=5m").refine, parse("df target=y refine=5m").refine_seconds) == (0, 300.0)
    assert parse("df target=y refine=1.5h").refine_seconds == 5400.0 and parse("df target=y refine=7").refine == 7
    rng = np.random.default_rng(8)
    df = pd.DataFrame({"a": rng.normal(size=120)})
    df["y"] = df["a"] * 3 + rng.normal(0, 0.2, 120)
    ip.user_ns["df"] = df
    ip.run_line_magic("cash", "df target=y refine=3s n=2 cv=3")
    [run] = History.from_environment().runs()
    assert run["options"]["refine_seconds"] == 3.0
    searched = [t for t in run["trials"] if t["source"] == "refine"][:-1]  # the last: the best, trained
    assert len(searched) >= 1 and f"Refinement: {len(searched)} trials" in capsys.readouterr().out

    ip.run_line_magic("cash", f"refine {run['id']} 2s")  # continued for two seconds more
    refined = [t for t in History.from_environment().run(run["id"])["trials"] if t["source"] == "refine"]
    assert len(refined) >= len(searched) + 1 + 2  # the first refinement's, its best trained, 1 more and the best
