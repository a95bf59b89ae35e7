"""The server extension's REST API, served by a real jupyter_server (pytest-jupyter) over a real
SQLite history."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

# pytest-jupyter's fixtures (a configured ServerApp on a free port, jp_fetch), for this module
# only: as a project-wide plugin its autouse fixtures would wrap every other test too.
from pytest_jupyter.jupyter_server import *  # noqa: F403
from tornado.httpclient import HTTPClientError

from llm_cash_magic import History, profile, recommend
from llm_cash_magic.frontends import server
from llm_cash_magic.frontends.server import datasets, llm_status
from llm_cash_magic.recommenders.llm.settings import DEFAULT_MODEL


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"llm_cash_magic": True}}}


@pytest.fixture
def fetch(jp_fetch, jp_asyncio_loop):
    """``fetch("runs")`` → the parsed JSON of GET /llm-cash/runs (raises on HTTP errors)."""

    def fetch(*parts, **kwargs):
        response = jp_asyncio_loop.run_until_complete(jp_fetch("llm-cash", *parts, **kwargs))
        return json.loads(response.body) if response.body else response.code

    return fetch


def record_run(history: History, frame, target: str, *, data_name: str, scores=None, family_index=0) -> str:
    """A run with one trial, finished with ``scores`` when given."""
    prof = profile(frame, target)
    rec = recommend(prof, strategy="defaults")[family_index]
    run_id = history.start_run(
        prof, data_name=data_name, n_columns=frame.shape[1], strategy="defaults", recommendations=[rec.to_dict()]
    )
    trial_id = history.add_trial(
        run_id, family=rec.family, source=rec.source, recommended=rec.params, params=rec.params
    )
    history.set_trial_code(trial_id, f"# training code of {trial_id}\n")
    if scores is not None:
        history.finish_trial(trial_id, family=rec.family, params=rec.params, scores=scores, fit_seconds=0.5)
    return run_id


def test_runs_lists_every_run_newest_first_without_code(fetch, history, houses, churn):
    first = record_run(history, houses, "price", data_name="houses", scores=[1.0, 2.0])
    second = record_run(history, churn, "churned", data_name="churn", scores=[0.7, 0.8])
    runs = fetch("runs")["runs"]
    assert [r["id"] for r in runs] == [second, first]
    assert runs[0]["data_name"] == "churn" and runs[0]["trials"][0]["cv_mean"] == pytest.approx(0.75)
    assert "code" not in runs[0]["trials"][0] and "profile" not in runs[0]


def test_runs_filters_by_dataset_fingerprint(fetch, history, houses, churn):
    record_run(history, houses, "price", data_name="houses")
    wanted = record_run(history, churn, "churned", data_name="churn")
    fingerprint = history.run(wanted)["fingerprint"]
    runs = fetch("runs", params={"fingerprint": fingerprint})["runs"]
    assert [r["id"] for r in runs] == [wanted]


def test_a_run_has_profile_recommendations_overrides_code_and_scores(fetch, history, houses):
    run_id = record_run(history, houses, "price", data_name="houses", scores=[3.0, 5.0])
    run = fetch("runs", run_id)
    trial = run["trials"][0]
    assert run["profile"]["target"] == "price"
    assert run["recommendations"][0]["family"] == trial["family"]
    assert trial["code"] == f"# training code of {trial['id']}\n"
    assert trial["cv_scores"] == [3.0, 5.0] and trial["overrides"] == {}


def test_a_run_comes_with_the_llm_requests_made_for_it(fetch, history, houses):
    run_id = record_run(history, houses, "price", data_name="houses")
    messages = [{"role": "system", "content": "You recommend models."}, {"role": "user", "content": "profile…"}]
    history.record_request(
        run_id=run_id,
        strategy="zero-shot",
        purpose="recommend",
        model="test-model",
        endpoint="127.0.0.1:8123",
        cache_key="k",
        messages=messages,
        status="ok",
    )
    (request,) = fetch("runs", run_id)["requests"]
    assert request["messages"] == messages and request["model"] == "test-model"


@pytest.mark.parametrize("run_id", ["0123456789ab", "not-an-id"])
def test_an_unknown_run_is_a_json_404(fetch, run_id):
    with pytest.raises(HTTPClientError) as error:
        fetch("runs", run_id)
    assert error.value.code == 404
    assert run_id in json.loads(error.value.response.body)["message"]


def test_a_runs_hyperparameters_come_also_as_python_writes_them(fetch, history, houses):
    run_id = record_run(history, houses, "price", data_name="houses", family_index=1)  # random_forest
    trial_id = history.run(run_id)["trials"][0]["id"]
    params = history.trial(trial_id)["params"] | {"max_features": 1.0, "max_depth": 7}
    history.finish_trial(trial_id, family="random_forest", params=params, scores=[1.0], fit_seconds=0.1)
    trial = fetch("runs", run_id)["trials"][0]
    assert trial["python"]["params"]["max_features"] == "1.0"  # JSON would say 1: one feature, to scikit-learn
    assert trial["python"]["overrides"]["max_depth"] == {"from": "None", "to": "7"}
    assert trial["label"] == "RandomForest"


def test_delete_forgets_the_run_and_keeps_the_others(fetch, history, houses):
    kept = record_run(history, houses, "price", data_name="houses")
    gone = record_run(history, houses, "price", data_name="houses")
    assert fetch("runs", gone, method="DELETE") == 204
    assert history.run(gone) is None
    assert history.run(kept) is not None


def test_deleting_an_unknown_run_is_404_and_deletes_nothing(fetch, history, houses):
    kept = record_run(history, houses, "price", data_name="houses")
    with pytest.raises(HTTPClientError) as error:
        fetch("runs", kept[:4], method="DELETE")  # a prefix is not an id here
    assert error.value.code == 404
    assert history.run(kept) is not None


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_requests_without_the_token_are_refused(fetch, history, houses, method):
    run_id = record_run(history, houses, "price", data_name="houses")
    with pytest.raises(HTTPClientError) as error:
        fetch("runs", run_id, method=method, headers={"Authorization": "token wrong"})
    assert error.value.code == 403
    assert history.run(run_id) is not None


def test_datasets_endpoint_groups_runs_with_a_leaderboard(fetch, history, houses):
    record_run(history, houses, "price", data_name="houses", scores=[2.0, 2.0])
    groups = fetch("datasets")["datasets"]
    assert [(g["data_name"], g["n_rows"], g["n_columns"], len(g["runs"])) for g in groups] == [("houses", 300, 7, 1)]
    assert groups[0]["n_features"] == 5  # as the panel counts: no target, no ID column
    assert groups[0]["leaderboard"][0]["cv_mean"] == 2.0


def test_status_names_the_llm_model_and_host_but_never_the_key(fetch, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-sentinel")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8123/v1")
    monkeypatch.setenv("LLM_CASH_MODEL", "qwen2.5:7b")
    status = fetch("status")
    assert status["llm"] == {"model": "qwen2.5:7b", "host": "127.0.0.1:8123"}
    assert "sk-secret-sentinel" not in json.dumps(status)


def test_status_is_offline_without_a_key_or_an_endpoint(fetch, monkeypatch, home):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    status = fetch("status")
    assert status["llm"] is None
    assert status["history"] == str(home / "history.sqlite")


# ---- the grouping itself ------------------------------------------------------------------------
def test_datasets_rank_the_leaderboard_by_the_metrics_direction(history, houses, churn):
    record_run(history, houses, "price", data_name="houses", scores=[9.0], family_index=0)  # rmse: lower wins
    record_run(history, houses, "price", data_name="houses", scores=[4.0], family_index=1)
    record_run(history, churn, "churned", data_name="churn", scores=[0.6], family_index=0)  # roc_auc: higher
    record_run(history, churn, "churned", data_name="churn", scores=[0.9], family_index=1)
    by_name = {g["data_name"]: g for g in datasets(history.run_summaries())}
    assert [e["cv_mean"] for e in by_name["houses"]["leaderboard"]] == [4.0, 9.0]
    assert [e["cv_mean"] for e in by_name["churn"]["leaderboard"]] == [0.9, 0.6]


def test_datasets_put_the_most_recently_used_dataset_first(history, houses, churn):
    record_run(history, houses, "price", data_name="houses")
    record_run(history, churn, "churned", data_name="churn")
    record_run(history, houses, "price", data_name="homes")
    groups = datasets(history.run_summaries())
    assert [(g["data_name"], len(g["runs"])) for g in groups] == [("homes", 2), ("churn", 1)]


def test_datasets_list_the_newest_runs_and_the_best_trials_of_many(history, houses, monkeypatch):
    monkeypatch.setattr(server, "RUNS_PER_DATASET", 3)
    monkeypatch.setattr(server, "LEADERBOARD_SIZE", 2)
    ids = [
        record_run(history, houses, "price", data_name="houses", scores=[float(i)], family_index=i) for i in range(5)
    ]
    (group,) = datasets(history.run_summaries())
    assert group["n_runs"] == 5
    assert [r["id"] for r in group["runs"]] == ids[::-1][:3]
    assert [e["cv_mean"] for e in group["leaderboard"]] == [0.0, 1.0]  # rmse: lowest first, all runs count


def test_the_leaderboard_lists_each_configuration_once_by_label_and_source(history, houses):
    for score in (9.0, 4.0, 6.0):  # the same defaults trained three times
        record_run(history, houses, "price", data_name="houses", scores=[score], family_index=0)
    run_id = record_run(history, houses, "price", data_name="houses", scores=[5.0], family_index=3)
    rec = recommend(profile(houses, "price"), strategy="defaults")[3]
    trial = history.add_trial(
        run_id, family=rec.family, source="refine", recommended=rec.params, params=rec.params | {"learning_rate": 0.05}
    )
    history.finish_trial(
        trial, family=rec.family, params=rec.params | {"learning_rate": 0.05}, scores=[4.5], fit_seconds=0.1
    )
    history.record_reference(run_id, "trivial", [30.0], params={"strategy": "mean"})
    (group,) = datasets(history.run_summaries())
    board = [(e["label"], e["cv_mean"], e["source"]) for e in group["leaderboard"]]
    assert board == [
        ("Linear", 4.0, "defaults"),
        ("HistGradientBoosting", 4.5, "refine"),
        ("HistGradientBoosting", 5.0, "defaults"),
        ("trivial predictor", 30.0, "reference"),
    ]
    assert group["runs"][0]["trials"][0]["label"] == "HistGradientBoosting"
    # two rows of one family say what sets each apart: the values that differ from library defaults
    hgb = [e["differs"] for e in group["leaderboard"] if e["label"] == "HistGradientBoosting"]
    assert hgb[0].startswith("learning_rate=0.05") and "learning_rate" not in hgb[1] and hgb[0] != hgb[1]
    assert [e["differs"] for e in group["leaderboard"]][-1] == ""  # the trivial predictor has no hyperparameters


def test_a_single_held_out_score_has_no_spread_and_folds_have_theirs(history, houses):
    record_run(history, houses, "price", data_name="houses", scores=[4.0, 6.0], family_index=0)
    record_run(history, houses, "price", data_name="houses", scores=[5.0], family_index=3)  # Dask, large frames
    (group,) = datasets(history.run_summaries())
    assert sorted(e["cv_std"] is None for e in group["leaderboard"]) == [False, True]
    listed = [run["trials"][0]["cv_std"] for run in group["runs"]]
    assert sorted(listed, key=lambda std: std is None) == [1.0, None]  # the sidebar shows "5.0000", no "± 0"


def test_unfinished_and_failed_trials_are_listed_but_not_ranked(history, houses):
    record_run(history, houses, "price", data_name="houses")  # pending
    failed = record_run(history, houses, "price", data_name="houses")
    history.fail_trial(history.run(failed)["trials"][0]["id"], "ValueError: boom")
    (group,) = datasets(history.run_summaries())
    assert len(group["runs"]) == 2 and group["leaderboard"] == []


def test_trials_scored_with_another_metric_stay_out_of_the_leaderboard(history, houses):
    prof = profile(houses, "price", metric="mae")
    rec = recommend(prof, strategy="defaults")[0]
    old = history.start_run(prof, data_name="houses", n_columns=7, strategy="defaults")
    trial = history.add_trial(old, family=rec.family, source=rec.source, recommended=rec.params, params=rec.params)
    history.finish_trial(trial, family=rec.family, params=rec.params, scores=[1.0], fit_seconds=0.1)
    record_run(history, houses, "price", data_name="houses", scores=[5.0])  # rmse, newer
    (group,) = datasets(history.run_summaries())
    assert group["metric"] == "rmse"
    assert [e["cv_mean"] for e in group["leaderboard"]] == [5.0]


def test_a_runs_trials_are_listed_best_first(history, houses):
    run_id = record_run(history, houses, "price", data_name="houses", scores=[7.0])  # rmse
    rec = recommend(profile(houses, "price"), strategy="defaults")[1]
    for score in ([3.0], None, [5.0]):
        trial = history.add_trial(run_id, family=rec.family, source="refine", recommended=rec.params, params=rec.params)
        if score:
            history.finish_trial(trial, family=rec.family, params=rec.params, scores=score, fit_seconds=0.1)
    (group,) = datasets(history.run_summaries())
    assert [t["cv_mean"] for t in group["runs"][0]["trials"]] == [3.0, 5.0, 7.0, None]


def test_llm_status_defaults_to_openai_and_the_default_model(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("LLM_CASH_MODEL", raising=False)
    assert llm_status() == {"model": DEFAULT_MODEL, "host": "api.openai.com"}


def test_a_local_endpoint_needs_no_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:11434/v1")
    assert llm_status()["host"] == "localhost:11434"


def test_installing_the_package_enables_both_extensions():
    """``pip install`` ships the prebuilt labextension and enables the server extension."""

    def jupyter(*args):
        done = subprocess.run([sys.executable, "-m", "jupyter", *args], capture_output=True, text=True)
        return done.stdout + done.stderr

    assert re.search(r"llm-cash-magic v[\d.]+ \S*enabled\S* \S*OK", jupyter("labextension", "list"))
    assert re.search(r"llm_cash_magic \S*enabled", jupyter("server", "extension", "list"))
