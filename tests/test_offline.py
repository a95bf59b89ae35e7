"""The offline recommender: nearest tasks, a diverse portfolio, far tasks and sizes, the history."""

import json

import pytest
from conftest import frame

import llm_cash_magic as cash
from llm_cash_magic.recommenders import resolve_auto
from llm_cash_magic.recommenders.offline import OfflineRecommender, knowledge
from llm_cash_magic.space import validate

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


def test_first_pick_is_the_best_configuration_on_the_nearest_tasks(kb, query):
    first = recommend(kb, query)[0]
    assert (first.family, first.params) == (LIGHTGBM.family, LIGHTGBM.params)
    assert first.source == "offline"


def test_second_pick_covers_the_tasks_where_the_first_falls_short(kb, query):
    # linear has the higher mean percentile, but adds nothing where LightGBM already wins
    second = recommend(kb, query)[1]
    assert (second.family, second.params) == (KNN.family, KNN.params)


def test_rationale_names_similar_tasks_their_distance_and_rank(kb, query):
    rationale = recommend(kb, query)[0].rationale
    assert "near_one (distance " in rationale
    assert "100th percentile" in rationale


def test_excluded_tasks_are_never_consulted(kb, query):
    recs = recommend(kb, query, exclude=("near_one",))
    assert all("near_one" not in r.rationale for r in recs)
    assert "near_two" in recs[0].rationale


def test_says_so_when_the_nearest_known_task_is_far(kb):
    far = cash.profile(frame(900, 60, 20, seed=5), "y")
    notes = []
    recs = recommend(kb, far, notify=notes.append)
    assert recs  # a note, not a refusal
    assert len(notes) == 1 and notes[0].startswith("offline: the nearest known task is far")


def test_no_note_when_a_known_task_is_near(kb, query):
    notes = []
    recommend(kb, query, notify=notes.append)
    assert notes == []


def test_far_larger_frames_are_compared_by_structure_and_the_size_rule_leads(write_kb):
    tasks = [("small", cash.profile(frame(500, 5, seed=1), "y"), [100, 20, 90, 50])]
    path = write_kb(tasks, classification=[KNN, LINEAR, FOREST, LIGHTGBM])
    data = json.loads(path.read_text())
    data["build"]["max_rows"] = 1000
    path.write_text(json.dumps(data))
    kb = knowledge.load(path)
    big = cash.profile(frame(30_000, 5, seed=2), "y")
    assert kb.distance(big, kb.tasks[0].vector) < kb.distance(big.meta_feature_vector(), kb.tasks[0].vector)
    recs = recommend(kb, big, n=3)
    assert [(r.family, r.params) for r in recs[:2]] == [("lightgbm", LIGHTGBM.params), ("knn", KNN.params)]
    assert "far beyond the 1,000 rows the knowledge base measured" in recs[0].rationale
    assert len(recs) == 3 and len({(r.family, str(r.params)) for r in recs}) == 3


def test_learns_from_the_users_own_history(kb, query, history):
    mine = cash.profile(frame(505, 5, seed=9), "y")
    run_id = history.start_run(mine, data_name="sales", n_columns=6, strategy="offline")
    for config, score in ((EXTRA, 0.95), (LIGHTGBM, 0.80)):
        trial = history.add_trial(
            run_id, family=config.family, source="offline", recommended=config.params, params=config.params
        )
        history.finish_trial(trial, family=config.family, params=config.params, scores=[score], fit_seconds=1)

    without = recommend(kb, query)
    learned = recommend(kb, query, history=history)

    assert all(r.family != "extra_trees" for r in without)
    extra = next(r for r in learned if r.family == "extra_trees")
    assert extra.params == EXTRA.params
    assert "your sales (distance " in extra.rationale


def test_what_was_measured_on_the_same_data_leads(kb, query, history):
    run_id = history.start_run(query, data_name="sales", n_columns=6, strategy="offline")
    for config, score in ((KNN, 0.95), (LIGHTGBM, 0.60), (LINEAR, 0.70)):
        trial = history.add_trial(
            run_id, family=config.family, source="offline", recommended=config.params, params=config.params
        )
        history.finish_trial(trial, family=config.family, params=config.params, scores=[score], fit_seconds=1)

    assert recommend(kb, query)[0].family == "lightgbm"  # what the similar tasks say
    first, *rest = recommend(kb, query, history=history)
    assert (first.family, first.params) == ("knn", KNN.params)
    assert "the best of the 3 configurations your history measured on this very data (roc_auc 0.95)" in first.rationale
    assert len(rest) == 2 and all(r.family != "knn" for r in rest)


def test_regression_profiles_only_consult_regression_tasks(write_kb):
    ridge = validate("linear", {"alpha": 10.0}, "regression")
    tasks = [
        ("numbers", cash.profile(frame(400, 3, task="regression"), "y"), [100]),
        ("labels", cash.profile(frame(400, 3), "y"), [100]),
    ]
    kb = knowledge.load(write_kb(tasks, classification=[LIGHTGBM], regression=[ridge]))
    recs = recommend(kb, cash.profile(frame(410, 3, task="regression", seed=2), "y"))
    assert [(r.family, r.params) for r in recs] == [("linear", ridge.params)]
    assert "labels" not in recs[0].rationale


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
    assert "similar tasks" in out


def test_config_names_the_recommender_and_the_knowledge_base(ip, capsys):
    ip.run_line_magic("cash", "config")
    out = capsys.readouterr().out
    assert "strategy auto → offline" in out
    assert f"knowledge base: {knowledge.KNOWLEDGE_FILE} (version " in out and "47 tasks" in out
