"""The knowledge base: the shipped file, its versioning, and its tasks as PastTasks."""

import json

import numpy as np
import pytest
from conftest import frame

import llm_cash_magic as cash
from llm_cash_magic.errors import CashError
from llm_cash_magic.profiling import META_FEATURES_VERSION, TaskProfile
from llm_cash_magic.recommenders import PastTask
from llm_cash_magic.recommenders.offline import knowledge
from llm_cash_magic.space import FAMILIES, validate


@pytest.fixture(scope="module")
def shipped():
    return knowledge.load(knowledge.KNOWLEDGE_FILE)


def test_shipped_knowledge_holds_catalogued_kb_tasks_at_their_sizes_and_never_a_dev_task(shipped):
    from llm_cash_magic.bench import datasets
    from llm_cash_magic.bench.build_knowledge import entry_sizes

    assert {t.name for t in shipped.tasks} <= set(datasets.names("kb"))
    assert not {t.name for t in shipped.tasks} & set(datasets.names("dev"))
    assert shipped.n_tasks >= 30 and {t.profile.task for t in shipped.tasks} == {"binary", "multiclass", "regression"}
    sizes = {t.size for t in shipped.tasks}
    assert {1_000, 4_000, 16_000, 50_000} <= sizes and min(sizes) < 1_000  # small tables at their own size
    for task in shipped.tasks:
        assert task.size in entry_sizes(10**9) or task.size < 1_000
    assert len({(t.name, t.size) for t in shipped.tasks}) == len(shipped.tasks)


def test_shipped_knowledge_is_compact_and_records_how_it_was_built(shipped):
    assert knowledge.KNOWLEDGE_FILE.stat().st_size <= 3_000_000
    build = set(shipped.build)
    assert {"sizes", "cv", "seed", "seconds_per_config", "versions", "wall_seconds", "cpus"} <= build
    assert shipped.version


def test_every_entry_measured_lightgbm_defaults_and_the_trivial_predictor(shipped):
    for task in shipped.tasks:
        pool = shipped.pool(task.profile.task)
        assert len(task.scores) == len(task.percentiles) == len(task.measured) == len(pool)
        defaults = pool.index(validate("lightgbm", {}, task.profile.task))
        assert task.measured[defaults] and task.scores[defaults] is not None
        assert task.trivial is not None
        assert sum(task.measured) >= 0.9 * len(pool)  # a few fits may run out of time, no more
        assert all(0 <= p <= 100 for p in task.percentiles if p is not None)


def test_the_stored_meta_features_are_the_profiles_own(shipped):
    """Loading reads each entry's stored meta-features: when ``TaskProfile.meta_features`` changes,
    bump ``META_FEATURES_VERSION`` (and snapshot the knowledge base again) or this fails."""
    assert shipped.build["meta_features"] == META_FEATURES_VERSION
    for task in shipped.tasks:
        np.testing.assert_allclose(task.vector, task.profile.meta_feature_vector(), rtol=1e-12)


def test_finding_the_nearest_entries_reads_no_profile_but_theirs(houses):
    fresh = knowledge._load.__wrapped__(knowledge.KNOWLEDGE_FILE)  # not the cached one other tests used
    prof = cash.profile(houses, "price")
    nearest = [entry for _, entry in fresh.nearest(prof, k=3)]
    assert fresh.typical_nearest_distance(prof.task) > 0
    assert not any("profile" in entry.__dict__ for entry in fresh.tasks)  # loading, distances: vectors only
    fresh.past_task(nearest[0], 1.0)
    assert [e for e in fresh.tasks if "profile" in e.__dict__] == nearest[:1]  # consulted: read then


def test_meta_features_of_another_version_are_read_from_the_profile_instead(write_kb):
    prof = cash.profile(frame(300, 3), "y")
    path = write_kb([("mine", prof, [100])], classification=[validate("knn", {}, "binary")])
    data = json.loads(path.read_text())
    stale = [0.5] * len(TaskProfile.meta_feature_names())
    cases = [
        (META_FEATURES_VERSION - 1, stale, prof.meta_feature_vector()),
        (META_FEATURES_VERSION, stale, stale),
        (META_FEATURES_VERSION, stale[:3], prof.meta_feature_vector()),  # cut short: not trusted
    ]
    for case, (version, stored, expected) in enumerate(cases):
        data["build"]["meta_features"] = version
        data["tasks"][0]["meta_features"] = stored
        versioned = path.with_name(f"kb-{case}.json")  # loads are cached per path
        versioned.write_text(json.dumps(data))
        np.testing.assert_array_equal(knowledge.load(versioned).tasks[0].vector, expected)


def test_pools_hold_defaults_of_every_family_and_published_portfolios(shipped):
    for kind, task in (("classification", "binary"), ("regression", "regression")):
        pool = {(c.family, json.dumps(c.params, sort_keys=True)) for c in shipped.pools[kind]}
        for name in FAMILIES:
            assert (name, json.dumps(validate(name, {}, task).params, sort_keys=True)) in pool
        assert len(pool) >= 80


def test_nearest_tasks_are_past_tasks_of_the_same_kind_nearest_first(houses):
    prof = cash.profile(houses, "price")
    tasks = knowledge.past_tasks(prof, 4, top=3)
    assert len(tasks) == 4 and all(isinstance(t, PastTask) for t in tasks)
    assert all(t.profile.task == "regression" and t.name for t in tasks)
    assert [t.distance for t in tasks] == sorted(t.distance for t in tasks)
    ranks = [trial["normalized_rank"] for trial in tasks[0].trials]
    assert len(ranks) == 3 and ranks == sorted(ranks, reverse=True)
    assert {"family", "params", "cv_mean", "normalized_rank"} <= set(tasks[0].trials[0])


def test_nearest_tasks_leave_out_excluded_names(houses):
    prof = cash.profile(houses, "price")
    nearest = knowledge.past_tasks(prof, 1)[0].name
    assert all(t.name != nearest for t in knowledge.past_tasks(prof, 50, exclude=(nearest,)))


def test_a_file_from_a_newer_version_is_refused_with_one_line(write_kb):
    path = write_kb([], fmt=knowledge.FORMAT + 1)
    with pytest.raises(CashError, match="newer llm_cash_magic"):
        knowledge.load(path)


def test_an_unreadable_file_is_refused_with_one_line(tmp_path):
    path = tmp_path / "kb.json"
    path.write_text("{not json")
    with pytest.raises(CashError, match="unreadable"):
        knowledge.load(path)


def test_a_knowledge_base_in_the_cash_home_replaces_the_shipped_one(home, write_kb):
    home.mkdir(parents=True, exist_ok=True)
    write_kb(
        [("mine", cash.profile(frame(300, 3), "y"), [100])],
        classification=[validate("knn", {}, "binary")],
        path=home / "knowledge.json",
    )
    assert knowledge.knowledge_path() == home / "knowledge.json"
    assert [t.name for t in knowledge.load().tasks] == ["mine"]
