"""The race ``--auto`` runs among the top recommendations on the user's own data (``run.race``)."""

from __future__ import annotations

import contextlib
import signal
import time

import numpy as np
import pytest

import llm_cash_magic as cash
from llm_cash_magic import History
from llm_cash_magic.codegen import build
from llm_cash_magic.frontends.terminal import lap_line
from llm_cash_magic.recommenders import Recommendation
from llm_cash_magic.run.evaluation import cross_validate, training_data
from llm_cash_magic.run.race import (
    RACE_BUDGET,
    RACE_FLOOR,
    RACE_FOLDS,
    RACE_SIZE,
    Lap,
    LapDeadline,
    deadline,
    more_folds,
    over_budget,
    race,
    winner,
    within_budget,
)
from llm_cash_magic.space import validate


def rec(family: str, params: dict, task: str = "regression", time_factor: float | None = None) -> Recommendation:
    return Recommendation(family, validate(family, params, task).params, "test", "test", time_factor=time_factor)


def test_quick_candidates_race_on_every_fold_generated_code_uses_and_the_best_mean_wins(houses, monkeypatch):
    import llm_cash_magic.run.race as race_module

    # laps of a second each fit the floor; a loaded machine must not make this a test of its speed
    monkeypatch.setattr(race_module, "RACE_FLOOR", 600.0)
    prof = cash.profile(houses, "price")
    recs = [rec(name, {}) for name in ("knn", "lightgbm", "linear", "random_forest", "hist_gradient_boosting")]
    recs.append(rec("linear", {"alpha": 10.0}))
    shown = []
    laps = race(houses, prof, recs, seed=3, on_lap=shown.append)
    assert [lap.recommendation for lap in laps] == recs[:RACE_SIZE]  # the top ones only, in their order
    X, y = training_data(houses, prof)
    for lap in laps:  # inside the floor: every fold races
        folds = cross_validate(prof, build(prof, lap.recommendation.config, 3, RACE_FOLDS), X, y, cv=RACE_FOLDS, seed=3)
        assert lap.folds == RACE_FOLDS and lap.score == pytest.approx(folds.mean())
        assert lap.error is None and lap.seconds > 0
    assert [lap.folds for lap in shown] == [1] * RACE_SIZE + [RACE_FOLDS] * RACE_SIZE  # first laps, then means
    assert shown[0].score == pytest.approx(
        cross_validate(prof, build(prof, recs[0].config, 3, RACE_FOLDS), X, y, cv=RACE_FOLDS, seed=3, limit=1)[0]
    )
    assert lap_line(laps[0], recs, "rmse").endswith(f" over {RACE_FOLDS} held-out thirds ({laps[0].seconds:.1f} s)")
    assert winner(laps, "rmse").score == min(lap.score for lap in laps)


def test_without_room_in_the_budget_for_every_finishers_other_folds_the_first_fold_decides(houses, monkeypatch):
    import llm_cash_magic.run.race as race_module

    monkeypatch.setattr(race_module, "RACE_FLOOR", 0.0)  # three first laps: the three first laps fill it
    prof = cash.profile(houses, "price")
    recs = [rec("lightgbm", {}), rec("linear", {}), rec("knn", {})]
    laps = race(houses, prof, recs, seed=3)
    X, y = training_data(houses, prof)
    for lap in [lap for lap in laps if lap.score is not None]:
        model = build(prof, lap.recommendation.config, 3, RACE_FOLDS)
        assert lap.folds == 1
        assert lap.score == pytest.approx(cross_validate(prof, model, X, y, cv=RACE_FOLDS, seed=3, limit=1)[0])


def test_the_finishers_race_on_more_folds_only_where_the_budget_has_room_for_all_and_all_finish():
    recs = [rec("lightgbm", {}), rec("linear", {}), rec("knn", {})]
    first = [Lap(recs[0], 1.0, 1.0), Lap(recs[1], 2.0, 1.0), Lap(recs[2], None, 1.0, "boom")]  # 3 s; room: 30 s
    asked = []

    def run_lap(r, left, fold):
        asked.append((r.family, left, fold))
        return Lap(r, 1.5, 1.0)

    raced = more_folds(first, run_lap, floor=9.0)  # room for 3 s + 2 folds × 2 finishers × 1 s
    assert [(lap.score, lap.seconds, lap.folds) for lap in raced[:2]] == [
        (pytest.approx(4 / 3), 3.0, 3),
        (pytest.approx(5 / 3), 3.0, 3),
    ]
    assert raced[2] is first[2]  # a lap that did not finish stays as it was
    assert asked == [("lightgbm", 6.0, 2), ("linear", 5.0, 2), ("lightgbm", 4.0, 3), ("linear", 3.0, 3)]

    asked.clear()
    assert more_folds(first, run_lap, floor=6.9) == first and asked == []  # no room for them all: none runs

    def fails(r, left, fold):  # the linear model cannot train (or is stopped) on the third fold
        return Lap(r, None, 0.5, "no") if (r is recs[1] and fold == 3) else Lap(r, 1.5, 1.0)

    assert more_folds(first, fails) == first  # every finisher compared on the same folds: the first


def test_a_candidate_that_cannot_train_has_a_one_line_lap_and_the_race_goes_on(houses):
    prof = cash.profile(houses, "price")
    changed = houses.drop(columns="city")  # the frame lost a column the profile saw
    laps = race(changed, prof, [rec("linear", {}), rec("knn", {}), rec("lightgbm", {})])
    assert len(laps) == 3 and all(lap.score is None for lap in laps)
    assert all("city" in lap.error and "\n" not in lap.error for lap in laps)
    assert winner(laps, "rmse") is None


def test_a_challenger_expected_to_break_the_budget_does_not_race(houses):
    prof = cash.profile(houses, "price")
    recs = [rec("lightgbm", {}, time_factor=1.0), rec("knn", {}, time_factor=1e9), rec("linear", {})]
    first, slow, unknown = race(houses, prof, recs)
    assert first.score is not None and unknown.score is not None  # a time factor not known: it races
    assert slow.score is None and slow.seconds == 0 and slow.error is None
    assert slow.skipped.startswith("not raced: its lap would take about ") and "× the first pick's" in slow.skipped
    assert lap_line(slow, recs, "rmse") == f"  #2 k-nearest neighbours: {slow.skipped}"


def test_the_budget_is_three_laps_of_the_first_pick_or_the_floor_whichever_is_longer():
    first = Lap(rec("lightgbm", {}, time_factor=2.0), 1.0, 20.0)
    fits = rec("catboost", {}, time_factor=2.0 * (RACE_BUDGET - 1))  # takes what the budget has left
    assert over_budget([first], fits) is None
    assert over_budget([first], rec("catboost", {}, time_factor=2.0 * RACE_BUDGET)) is not None
    second = Lap(fits, 1.0, 25.0)  # what the others took counts: this one took longer than expected
    assert over_budget([first, second], rec("linear", {}, time_factor=2.0)) is not None
    quick = Lap(rec("lightgbm", {}, time_factor=1.0), 1.0, 0.5)  # half a second: the floor decides
    assert over_budget([quick], rec("catboost", {}, time_factor=(RACE_FLOOR - 1) / 0.5)) is None
    assert over_budget([quick], rec("catboost", {}, time_factor=(RACE_FLOOR + 1) / 0.5)) is not None
    failed = Lap(first.recommendation, None, 20.0, "boom")  # the first pick failed: every other races
    assert over_budget([failed], rec("catboost", {}, time_factor=1e9)) is None


def test_a_challenger_still_training_when_the_budget_runs_out_is_stopped_there(houses, monkeypatch):
    import llm_cash_magic.run.race as race_module

    monkeypatch.setattr(race_module, "RACE_FLOOR", 1.5)  # the first lap is quicker: 1.5 s in all
    prof = cash.profile(houses, "price")
    slow = rec("catboost", {"iterations": 3000, "depth": 10})  # ~11 s on 2 cores; no time factor to predict it
    first, stopped, last = race(houses, prof, [rec("linear", {}), slow, rec("knn", {})])
    assert first.score is not None and first.seconds < 1.0
    assert stopped.score is None and stopped.error is None and stopped.seconds < 3
    assert stopped.skipped.startswith("stopped after ") and "the race's time budget ran out" in stopped.skipped
    assert last.score is None and last.skipped  # nothing left for it
    assert winner([first, stopped, last], "rmse") is first


def test_once_the_budget_is_spent_a_challenger_is_told_so_not_that_it_is_slow():
    first = Lap(rec("lightgbm", {}, time_factor=1.0), 1.0, 10.0)
    stopped = Lap(rec("catboost", {}), None, 20.0, skipped="stopped after 20 s")  # the 30 s floor spent
    quick = rec("linear", {}, time_factor=0.5)  # 5 s: it would fit a budget that had any time left
    laps_run = {id(first.recommendation): first, id(stopped.recommendation): stopped}

    def run_lap(candidate, left, fold):
        return laps_run[id(candidate)]  # a KeyError if the third raced

    laps = within_budget([first.recommendation, stopped.recommendation, quick], run_lap, floor=30.0, folds=1)
    assert laps[2].skipped == "not raced: the race's time budget ran out"
    left = [Lap(first.recommendation, 1.0, 10.0), Lap(rec("knn", {}), 1.0, 18.0)]  # 2 s of 30 left
    assert over_budget(left, quick) == (
        "not raced: its lap would take about 5.0 s, 0.5× the first pick's, more than the budget has left"
    )


@pytest.mark.parametrize(
    "fit",
    [
        pytest.param(lambda X, y: time.sleep(5), id="python"),
        pytest.param(
            lambda X, y: (
                __import__("catboost")
                .CatBoostRegressor(iterations=100_000, allow_writing_files=False)
                .fit(X, y, verbose=0)
            ),
            id="catboost",  # trains in C++ and turns a signal into KeyboardInterrupt
        ),
        pytest.param(
            lambda X, y: __import__("lightgbm").LGBMRegressor(n_estimators=100_000, verbose=-1).fit(X, y),
            id="lightgbm",
        ),
    ],
)
def test_a_deadline_stops_a_fit_and_leaves_the_timer_as_it_found_it(fit):
    rng = np.random.default_rng(0)
    X, y = rng.random((2000, 20)), rng.random(2000)
    before = signal.getsignal(signal.SIGALRM)
    started = time.perf_counter()
    with pytest.raises(LapDeadline), deadline(0.3):
        fit(X, y)
    assert time.perf_counter() - started < 2
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0 and signal.getsignal(signal.SIGALRM) is before


def test_a_users_ctrl_c_inside_a_deadline_stays_a_ctrl_c_and_no_deadline_means_none():
    with pytest.raises(KeyboardInterrupt), deadline(10):
        raise KeyboardInterrupt
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0
    before = signal.getsignal(signal.SIGALRM)
    with deadline(None), deadline(float("inf")):  # no limit: no timer, no handler of ours
        assert signal.getitimer(signal.ITIMER_REAL)[0] == 0 and signal.getsignal(signal.SIGALRM) is before


def test_a_lap_that_swallows_its_deadline_is_told_again_until_it_stops():
    def stubborn():  # a library callback that catches everything, once
        with contextlib.suppress(BaseException):
            time.sleep(5)
        time.sleep(5)

    started = time.perf_counter()
    with pytest.raises(LapDeadline), deadline(0.2):
        stubborn()
    assert time.perf_counter() - started < 1
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_auto_trains_the_winner_of_the_race_and_no_race_trains_the_first(ip, houses, capsys):
    ip.user_ns["df"] = houses
    ip.run_line_magic("cash", "df target=price strategy=offline n=3 --auto")
    out = capsys.readouterr().out
    assert "racing the top recommendations on a held-out third of the rows" in out
    laps = [line for line in out.splitlines() if line.startswith("  #")]
    assert [line[:4] for line in laps] == ["  #1", "  #2", "  #3"] * 2 and all(" rmse " in line for line in laps)
    assert all(f" over {RACE_FOLDS} held-out thirds " in line for line in laps[3:])  # quick: every fold races
    won = next(line for line in out.splitlines() if line.endswith(" won the race"))
    rank = int(won[1])
    [run] = History.from_environment().runs()
    laps = [rec.get("race") for rec in run["recommendations"]]
    assert all(lap["seconds"] > 0 and lap["score"] > 0 and lap["folds"] == RACE_FOLDS for lap in laps)  # kept
    assert min(laps, key=lambda lap: lap["score"]) is laps[rank - 1]
    [trial] = [t for t in run["trials"] if t["source"] != "reference"]
    assert trial["family"] == run["recommendations"][rank - 1]["family"]

    ip.run_line_magic("cash", "df target=price strategy=offline n=3 --auto --no-race")
    out = capsys.readouterr().out
    assert "racing" not in out and "won the race" not in out
    newest = History.from_environment().runs()[0]
    [trial] = [t for t in newest["trials"] if t["source"] != "reference"]
    assert trial["family"] == newest["recommendations"][0]["family"]


def test_a_large_frame_races_on_a_sample_taken_by_position_whatever_its_index(churn, monkeypatch):
    import pandas as pd

    import llm_cash_magic.run.race as race_module

    monkeypatch.setattr(race_module, "RACE_ROWS", 150)  # churn has 400 rows; twice over, 800
    doubled = pd.concat([churn, churn])  # every index label twice: a sample by label would not align
    prof = cash.profile(doubled, "churned")
    laps = race(doubled, prof, [rec("linear", {}, prof.task), rec("lightgbm", {}, prof.task)])
    assert [lap.error for lap in laps] == [None, None] and all(0 < lap.score < 1 for lap in laps)
