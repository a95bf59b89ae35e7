"""The offline recommender: nearest tasks, a diverse portfolio, far tasks and sizes, the history."""

import dataclasses

import pytest
from conftest import frame

import llm_cash_magic as cash
from llm_cash_magic.recommenders import resolve_auto
from llm_cash_magic.recommenders.offline import OfflineRecommender, knowledge
from llm_cash_magic.space import FAMILIES, validate

LIGHTGBM = validate("lightgbm", {}, "binary")
KNN = validate("knn", {"n_neighbors": 15}, "binary")
LINEAR = validate("linear", {"C": 0.1}, "binary")
FOREST = validate("random_forest", {}, "binary")
EXTRA = validate("extra_trees", {"n_estimators": 300, "min_samples_leaf": 2}, "binary")


@pytest.fixture
def kb(write_kb):
    """Two tasks like the query where LightGBM wins, and two different ones where only kNN does well."""
    tasks = [
        ("near_one", cash.profile(frame(500, 5, seed=1), "y"), [100, 20, 90, 50]),
        ("near_two", cash.profile(frame(520, 5, seed=2), "y"), [100, 30, 90, 60]),
        ("other", cash.profile(frame(1000, 6, 2, seed=3), "y"), [10, 100, 40, 60]),
        ("other_two", cash.profile(frame(1100, 6, 2, seed=4), "y"), [20, 100, 30, 50]),
    ]
    return knowledge.load(write_kb(tasks, classification=[LIGHTGBM, KNN, LINEAR, FOREST]))


@pytest.fixture
def query():
    return cash.profile(frame(510, 5, seed=4), "y")


def recommend(kb, profile, n=3, **kwargs):
    return list(OfflineRecommender(knowledge_base=kb, **kwargs).recommend(profile, n=n))


def test_lightgbm_defaults_lead_where_nothing_beats_them_on_the_nearest_tasks(kb, query):
    first = recommend(kb, query)[0]
    assert (first.family, first.params) == (LIGHTGBM.family, LIGHTGBM.params)
    assert first.source == "offline"
    assert first.rationale.startswith("LightGBM's library defaults, the free choice: nothing measured on ")


def test_a_rationale_reads_right_below_the_first_pick_and_below_one_percent(query):
    import numpy as np

    from llm_cash_magic.recommenders.base import PastTask
    from llm_cash_magic.recommenders.offline.meta_learner import Evidence, Neighbour, _rationale

    task = PastTask(query, [], name="near", source="knowledge base", distance=1.0, size=1_000)
    tie = Evidence(["defaults"], np.zeros((1, 1)), np.zeros((1, 1)), np.full((1, 1), np.nan), np.ones(1))
    later = _rationale([Neighbour(task, 1.0)], tie, 0, first=False, far=False)
    assert later.startswith("LightGBM's library defaults, the free choice; covers where the picks above fall short")
    assert "beat it reliably" not in later  # the picks above it did
    small = Evidence(["x"], np.full((1, 1), 0.1), np.full((1, 1), 0.0032), np.full((1, 1), np.nan), np.ones(1))
    rationale = _rationale([Neighbour(task, 1.0)], small, 0, first=True, far=False)
    assert "with 0.3% less error (median)" in rationale and "0.3% less error than the defaults" in rationale


def test_second_pick_covers_the_tasks_where_the_first_falls_short(kb, query):
    # linear is second best where LightGBM wins, but adds nothing there; kNN wins where it does not
    second = recommend(kb, query)[1]
    assert (second.family, second.params) == (KNN.family, KNN.params)


def test_the_first_pick_beats_lightgbm_defaults_on_the_nearest_tasks_and_says_how_often(write_kb, query):
    tasks = [
        ("near_one", cash.profile(frame(500, 5, seed=1), "y"), [80, 90, 70, 50]),
        ("near_two", cash.profile(frame(520, 5, seed=2), "y"), [80, 88, 70, 60]),
        ("near_three", cash.profile(frame(490, 5, seed=3), "y"), [80, 82, 79, 60]),
    ]
    kb = knowledge.load(write_kb(tasks, classification=[LIGHTGBM, KNN, LINEAR, FOREST]))
    first = recommend(kb, query)[0]
    assert (first.family, first.params) == (KNN.family, KNN.params)
    assert first.rationale.startswith("beat LightGBM's defaults on 3 of 3 similar tasks, with ")
    assert "less error (median)" in first.rationale
    assert "nearest: near_" in first.rationale and " at 5" in first.rationale


def test_each_recommendation_carries_its_training_time_next_to_lightgbm_defaults(write_kb, query):
    tasks = [
        ("near_one", cash.profile(frame(500, 5, seed=1), "y"), [80, 90, 70, 85]),
        ("near_two", cash.profile(frame(520, 5, seed=2), "y"), [80, 88, 82, 84]),
        ("near_three", cash.profile(frame(490, 5, seed=3), "y"), [80, 82, 79, 86]),
    ]
    configs = [LIGHTGBM, KNN, LINEAR, FOREST]
    kb = knowledge.load(write_kb(tasks, classification=configs, seconds=[2.0, 30.0, 2.0, 4.0]))
    recs = {r.family: r for r in recommend(kb, query, n=4)}
    assert recs["knn"].time_factor == 15 and ", in about 15× their training time — " in recs["knn"].rationale
    assert recs["random_forest"].time_factor == 2 and "in about 2× their" in recs["random_forest"].rationale
    assert recs["linear"].time_factor == 1 and "training time" not in recs["linear"].rationale


def test_a_configuration_that_wins_once_but_loses_elsewhere_is_not_picked_first(write_kb, query):
    tasks = [  # the forest wins big on one task and loses on two: losses weigh more than gains
        ("near_one", cash.profile(frame(500, 5, seed=1), "y"), [70, 60, 65, 100]),
        ("near_two", cash.profile(frame(520, 5, seed=2), "y"), [70, 60, 65, 50]),
        ("near_three", cash.profile(frame(490, 5, seed=3), "y"), [70, 60, 72, 50]),
    ]
    kb = knowledge.load(write_kb(tasks, classification=[LIGHTGBM, KNN, LINEAR, FOREST]))
    assert recommend(kb, query)[0].family != "random_forest"


def test_each_task_counts_once_at_its_nearest_size(write_kb):
    small, large = cash.profile(frame(500, 5, seed=1), "y"), cash.profile(frame(8000, 5, seed=1), "y")
    tasks = [
        ("one", small, [70, 90, 50, 50]),
        ("one", large, [70, 50, 50, 90]),
        ("two", cash.profile(frame(520, 5, seed=2), "y"), [70, 90, 50, 50]),
        ("two", cash.profile(frame(7000, 5, seed=2), "y"), [70, 50, 50, 90]),
    ]
    kb = knowledge.load(write_kb(tasks, classification=[LIGHTGBM, KNN, LINEAR, FOREST]))
    assert recommend(kb, cash.profile(frame(600, 5, seed=5), "y"))[0].family == "knn"
    big = recommend(kb, cash.profile(frame(7500, 5, seed=5), "y"))[0]
    assert big.family == "random_forest" and big.rationale.count("one at ") == 1


def test_excluded_tasks_are_never_consulted(kb, query):
    recs = recommend(kb, query, exclude=("near_one",))
    assert all("near_one" not in r.rationale for r in recs)
    assert "near_two" in recs[0].rationale


def test_a_knowledge_base_without_a_task_forgets_its_share_of_the_scale_too(kb, query):
    unseen = kb.without(("other", "other_two"))
    assert {t.name for t in unseen.tasks} == {"near_one", "near_two"} and len(kb.tasks) == 4
    assert (unseen.scale <= kb.scale).all() and (unseen.scale < kb.scale).any()  # the far ones widened it
    assert unseen.typical_nearest_distance("binary") != kb.typical_nearest_distance("binary")
    recs = recommend(unseen, query)
    assert all("other" not in r.rationale for r in recs)


def test_says_so_when_the_nearest_known_task_is_far(kb):
    far = cash.profile(frame(900, 60, 20, seed=5), "y")
    notes = []
    recs = recommend(kb, far, notify=notes.append)
    assert recs  # a note, not a refusal
    assert len(notes) == 1 and notes[0].startswith("offline: the nearest known task is far")
    assert "tasks nearest in size" in recs[0].rationale


def test_a_far_task_learns_from_the_tasks_nearest_in_size_not_from_one_table(kb):
    far = cash.profile(frame(510, 60, 20, seed=5), "y")  # near_one (500 rows) and near_two (520): a size each
    neighbours, is_far = OfflineRecommender(knowledge_base=kb, k=2).neighbours(far)
    assert is_far and sorted(nb.task.name for nb in neighbours) == ["near_one", "near_two"]
    assert [nb.task.distance for nb in neighbours] == sorted(nb.task.distance for nb in neighbours)
    everything, _ = OfflineRecommender(knowledge_base=kb, k=3).neighbours(far)  # the third nearest size: 1,000
    assert len(everything) == 3 and "other" in {nb.task.name for nb in everything}


def test_says_once_when_the_similar_tasks_were_measured_in_another_metric(kb, query):
    notes = []
    recs = recommend(kb, dataclasses.replace(query, metric="accuracy"), notify=notes.append)
    assert recs and notes == [
        "offline: the similar tasks were measured in roc_auc, not accuracy: their evidence is in that metric; "
        "the race and the training score in accuracy"
    ]
    notes.clear()  # a task's own default metric: nothing to say, though two-class and many-class tasks mix
    recommend(kb, dataclasses.replace(query, task="multiclass", metric="log_loss"), notify=notes.append)
    assert not any("were measured in" in note for note in notes)


def test_no_note_when_a_known_task_is_near(kb, query):
    notes = []
    recommend(kb, query, notify=notes.append)
    assert notes == []


def test_configurations_of_families_not_installed_are_skipped_and_said_once(write_kb, query, monkeypatch):
    forest = FAMILIES["random_forest"]
    tasks = [
        ("near_one", cash.profile(frame(500, 5, seed=1), "y"), [70, 60, 65, 100]),
        ("near_two", cash.profile(frame(520, 5, seed=2), "y"), [70, 60, 65, 100]),
    ]
    kb = knowledge.load(write_kb(tasks, classification=[LIGHTGBM, KNN, LINEAR, FOREST]))
    monkeypatch.setitem(FAMILIES, "random_forest", dataclasses.replace(forest, requires="no_such_package"))
    notes = []
    recs = recommend(kb, query, notify=notes.append)
    assert recs and all(r.family != "random_forest" for r in recs)
    assert notes == [
        "offline: RandomForest would be among the recommendations, but not installed here "
        '(pip install "llm_cash_magic[no_such_package]")'
    ]


def add_measured(history, profile, name, results, trivial=0.5):
    """A history run on ``profile`` with finished trials, and the trivial predictor's reference."""
    run_id = history.start_run(profile, data_name=name, n_columns=6, strategy="offline")
    for config, score in results:
        trial = history.add_trial(
            run_id, family=config.family, source="offline", recommended=config.params, params=config.params
        )
        history.finish_trial(trial, family=config.family, params=config.params, scores=[score], fit_seconds=1)
    if trivial is not None:
        history.record_reference(run_id, "trivial", [trivial])


def test_learns_from_the_users_own_history(kb, query, history):
    add_measured(history, cash.profile(frame(505, 5, seed=9), "y"), "sales", ((EXTRA, 0.95), (LIGHTGBM, 0.80)))
    without = recommend(kb, query)
    learned = recommend(kb, query, history=history)
    assert all(r.family != "extra_trees" for r in without)
    extra = next(r for r in learned if r.family == "extra_trees")
    assert extra.params == EXTRA.params
    assert "your sales (distance " in extra.rationale


def test_what_was_measured_on_the_same_data_leads(kb, query, history):
    add_measured(history, query, "sales", ((KNN, 0.95), (LIGHTGBM, 0.60), (LINEAR, 0.70)))
    assert recommend(kb, query)[0].family == "lightgbm"  # what the similar tasks say
    first, *rest = recommend(kb, query, history=history)
    assert (first.family, first.params) == ("knn", KNN.params)
    assert "the best of the 3 configurations your history measured on this very data (roc_auc 0.95)" in first.rationale
    assert len(rest) == 2 and all(r.family != "knn" for r in rest)
    assert first.time_factor == 1  # timed next to LightGBM's defaults on the same data, as alike


def test_a_knowledge_base_table_loaded_again_leads_with_what_the_knowledge_base_measured(kb):
    first = recommend(kb, kb.tasks[2].profile)[0]  # "other": kNN was best there
    assert first.family == "knn"
    assert first.rationale.startswith("the best of the 4 configurations the knowledge base measured on this very data")


def test_regression_profiles_only_consult_regression_tasks(write_kb):
    ridge = validate("linear", {"alpha": 10.0}, "regression")
    lightgbm = validate("lightgbm", {}, "regression")
    tasks = [
        ("numbers", cash.profile(frame(400, 3, task="regression"), "y"), [50, 100]),
        ("labels", cash.profile(frame(400, 3), "y"), [100]),
    ]
    kb = knowledge.load(write_kb(tasks, classification=[LIGHTGBM], regression=[lightgbm, ridge]))
    recs = recommend(kb, cash.profile(frame(410, 3, task="regression", seed=2), "y"))
    assert [(r.family, r.params) for r in recs] == [("linear", ridge.params), ("lightgbm", lightgbm.params)]
    assert "labels" not in recs[0].rationale and "numbers at 400 rows" in recs[0].rationale


def test_auto_resolves_to_offline_without_an_llm_endpoint():
    from llm_cash_magic.recommenders.llm.settings import LLMSettings

    strategy, banner = resolve_auto(LLMSettings.resolve())
    assert strategy == "offline"
    assert "offline" in banner


def test_offline_strategy_through_the_api_uses_the_shipped_knowledge(houses):
    recs = cash.recommend(cash.profile(houses, "price"), strategy="offline", n=10)
    assert len(recs) == 10
    assert all(r.source == "offline" and "distance" in r.rationale for r in recs)
    assert len({(r.family, str(r.params)) for r in recs}) == 10


def test_the_magic_answers_offline_by_default_and_says_so(ip, churn, capsys):
    ip.user_ns["churn"] = churn
    ip.run_line_magic("cash", "churn target=churned n=3 --dry-run")
    out = capsys.readouterr().out
    assert "strategy auto → offline" in out
    assert "beat LightGBM's" in out  # each rationale says how the pick did against the free one


def test_config_names_the_recommender_and_the_knowledge_base(ip, capsys):
    ip.run_line_magic("cash", "config")
    out = capsys.readouterr().out
    assert "strategy auto → offline" in out
    assert f"knowledge base: {knowledge.KNOWLEDGE_FILE} (version " in out and " tasks" in out


def test_families_left_out_are_never_picked_and_not_noted(write_kb, query):
    tasks = [
        ("near_one", cash.profile(frame(500, 5, seed=1), "y"), [70, 60, 65, 100]),
        ("near_two", cash.profile(frame(520, 5, seed=2), "y"), [70, 60, 65, 100]),
    ]
    kb = knowledge.load(write_kb(tasks, classification=[LIGHTGBM, KNN, LINEAR, FOREST]))
    notes = []
    plain = [name for name in FAMILIES if name != "random_forest"]
    recs = list(OfflineRecommender(knowledge_base=kb, notify=notes.append, families=plain).recommend(query))
    assert recs and all(r.family != "random_forest" for r in recs) and notes == []
    assert recommend(kb, query)[0].family == "random_forest"  # the best there, when it may be picked


def test_leave_one_task_out_scores_each_first_pick_against_lightgbm_defaults_per_size(write_kb):
    from llm_cash_magic.bench.loo import evaluate, summary

    tasks = [  # the forest beats LightGBM's defaults on every task but the first
        (f"task_{i}", cash.profile(frame(min(300 + 400 * i, 1000), 5, seed=i), "y"), [60, 20, 50, 55 if i == 0 else 80])
        for i in range(4)
    ]
    kb = knowledge.load(write_kb(tasks, classification=[LIGHTGBM, KNN, LINEAR, FOREST]))
    results = evaluate(kb)
    assert list(results.entry) == ["task_0@300", "task_1@700", "task_2@1000", "task_3@1000"]
    assert list(results.beats) == [False, True, True, True]
    assert results.error_cut.iloc[0] == pytest.approx(-0.125)  # an AUC of 0.55 against 0.6: 12.5 % more error
    assert results["first"].str.contains("random_forest").all()
    table = summary(results).set_index("size")
    assert list(table.index) == ["< 1,000", "1,000", "all"] and table.loc["all", "beats defaults"] == "3/4"
    without = evaluate(kb, families=[name for name in FAMILIES if name != "random_forest"])
    assert not without["first"].str.contains("random_forest").any()


def test_leave_one_task_out_races_the_top_three_on_the_first_folds_and_scores_them_on_the_last(write_kb, tmp_path):
    from llm_cash_magic.bench.loo import evaluate, summary

    # on task_0 the top three are the forest (the first pick), LightGBM's defaults (60 on every
    # fold) and linear; the forest loses every fold, linear wins the first by far and the last by less
    race = [[60] * 3, [95, 70, 70], [96, 70, 70], [30, 50, 50]]
    tasks = [(f"task_{i}", cash.profile(frame(300 + 200 * i, 5, seed=i), "y"), [60, 20, 50, 80]) for i in range(1, 4)]
    tasks.insert(0, ("task_0", cash.profile(frame(300, 5, seed=0), "y"), race))
    configs = [LIGHTGBM, KNN, LINEAR, FOREST]
    kb = knowledge.load(write_kb(tasks, classification=configs))
    results = evaluate(kb, race_size=3).set_index("entry")
    assert results.loc["task_0@300", "first"].startswith('["random_forest"')
    assert not results.loc["task_0@300", "first_beats_unseen"] and results.loc["task_0@300", "race_beats_unseen"]
    assert results.loc["task_0@300", "race_cut_unseen"] == pytest.approx(0.25)  # 0.30 against 0.40 error
    assert results.loc["task_0@300", "race_laps"] == 3  # every candidate took as long as the first
    assert results.loc["task_0@300", "race_folds_laps"] == 6  # quick: all three on two folds
    assert results.drop(index="task_0@300").race_beats_unseen.isna().all()  # one fold each: no race
    table = summary(results.reset_index()).set_index("size")
    assert table.loc["all", "first pick (last fold)"] == "0/1" and table.loc["all", "race of 3, budgeted"] == "1/1"
    assert table.loc["all", "any candidate"] == "1/1"  # linear, on the last fold
    assert evaluate(kb, race_size=4).set_index("entry").loc["task_0@300", "race_folds_laps"] == 8  # kNN races too

    # linear takes 10 times the forest's time: within a budget of three first laps, LightGBM's
    # defaults (as quick as the forest) join the forest, and linear, which would have won, does not
    # race; within the race's floor of seconds, all three race on two folds
    slow = write_kb(tasks, classification=configs, path=tmp_path / "slow.json", seconds=[1.0, 10.0, 10.0, 1.0])
    results = evaluate(knowledge.load(slow), race_size=3).set_index("entry").loc["task_0@300"]
    assert not results.race_beats_unseen and results.race_laps == 2
    assert results.race_one_fold_beats_unseen and results.race_one_fold_laps == 12
    assert results.race_folds_beats_unseen and results.race_folds_laps == 24

    # where linear wins only the first fold, a race on one fold picks it and loses on the last, one
    # on two folds picks LightGBM's defaults (a tie, no loss)
    race[2] = [96, 20, 20]
    fluke = write_kb(tasks, classification=configs, path=tmp_path / "fluke.json")
    results = evaluate(knowledge.load(fluke), race_size=3).set_index("entry").loc["task_0@300"]
    assert results.race_one_fold_cut_unseen == pytest.approx(-1.0) and results.race_folds_cut_unseen == 0
    assert not results.any_beats_unseen  # no candidate beat the defaults on the last fold: no race could
