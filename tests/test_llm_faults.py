"""Faults: whatever the endpoint does, the run completes with validated recommendations, the
offline recommender answers for what the LLM did not, and the user reads one line saying why."""

from __future__ import annotations

import json
import socket
import threading

import pytest
from conftest import API_KEY
from fake_openai import Reply, sse_events

from llm_cash_magic import profile
from llm_cash_magic.llm.recommender import LLMRecommender
from llm_cash_magic.space import family

LINES = [
    {"family": "lightgbm", "params": {"learning_rate": 0.05}, "rationale": "boosting"},
    {"family": "random_forest", "params": {"n_estimators": 300}, "rationale": "a forest"},
    {"family": "linear", "params": {"alpha": 10.0}, "rationale": "a baseline"},
]
ANSWER = "\n".join(json.dumps(line) for line in LINES) + "\n"


def run(settings, houses, history, n=3):
    """Recommend through the LLM; returns (recommendations, notices the user saw)."""
    notices: list[str] = []
    recommender = LLMRecommender("zero-shot", settings, history, notify=notices.append)
    return list(recommender.recommend(profile(houses, "price"), n=n)), notices


def assert_offline_answered(recs, notices, reason: str):
    assert recs and {r.source for r in recs} == {"offline"}
    (notice,) = notices
    assert reason in notice and notice.endswith("the offline recommender answers instead")
    assert "\n" not in notice and API_KEY not in notice


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_endpoint(llm_settings, houses, history):
    settings = llm_settings.replace(base_url=f"http://127.0.0.1:{closed_port()}/v1")
    recs, notices = run(settings, houses, history)
    assert_offline_answered(recs, notices, "cannot reach http://127.0.0.1:")
    assert "is the server running?" in notices[0]


def test_a_host_that_does_not_resolve(llm_settings, houses, history):
    recs, notices = run(llm_settings.replace(base_url="http://llm.invalid/v1"), houses, history)
    assert_offline_answered(recs, notices, "cannot resolve the host llm.invalid (DNS failure)")


def test_a_wrong_key_is_named_as_such_and_never_printed(fake_llm, llm_settings, houses, history):
    fake_llm.reply(Reply(status=401, error=f"Incorrect API key provided: {API_KEY}"))  # servers echo keys
    recs, notices = run(llm_settings, houses, history)
    assert_offline_answered(recs, notices, "rejected the API key in $OPENAI_API_KEY (HTTP 401); check that key")
    assert API_KEY not in json.dumps(history.requests())


def test_an_unknown_model_lists_the_models_the_endpoint_serves(fake_llm, llm_settings, houses, history):
    fake_llm.reply(Reply(status=404, error="The model `gpt-17` does not exist"))
    recs, notices = run(llm_settings.replace(model="gpt-17"), houses, history)
    assert_offline_answered(recs, notices, "model 'gpt-17' is not served by 127.0.0.1:")
    assert "it serves: fake-model" in notices[0]


def test_rate_limits_are_retried_with_backoff_then_given_up(fake_llm, llm_settings, houses, history):
    limited = Reply(status=429, error="Rate limit reached", headers={"retry-after-ms": "5"})
    fake_llm.reply(limited, limited, limited)
    recs, notices = run(llm_settings.replace(max_retries=2), houses, history)
    assert len(fake_llm.chat_requests) == 3
    assert_offline_answered(recs, notices, "answered HTTP 429 after 2 retries: Rate limit reached")


def test_a_server_error_that_passes_is_retried_transparently(fake_llm, llm_settings, houses, history):
    fake_llm.reply(Reply(status=503, error="overloaded", headers={"retry-after-ms": "5"}), ANSWER)
    recs, notices = run(llm_settings.replace(max_retries=2), houses, history)
    assert [r.source for r in recs] == ["llm:fake-model"] * 3
    assert len(fake_llm.chat_requests) == 2 and not any("failed" in n for n in notices)


def test_a_server_error_that_persists_gives_up(fake_llm, llm_settings, houses, history):
    broken = Reply(status=500, error="internal error", headers={"retry-after-ms": "5"})
    fake_llm.reply(broken, broken)
    recs, notices = run(llm_settings.replace(max_retries=1), houses, history)
    assert_offline_answered(recs, notices, "answered HTTP 500 after 1 retries: internal error")


def test_no_first_token_within_the_timeout(fake_llm, llm_settings, houses, history):
    fake_llm.reply(Reply(ANSWER, header_delay=1.5))
    recs, notices = run(llm_settings.replace(timeout=0.3), houses, history)
    assert_offline_answered(recs, notices, "sent nothing for 0.3 s before the first token")


def test_a_stream_that_stalls_after_the_headers(fake_llm, llm_settings, houses, history):
    gate = threading.Event()
    fake_llm.reply(Reply(ANSWER, gate=gate, gate_after=1))
    try:
        recs, notices = run(llm_settings.replace(timeout=0.3), houses, history)
    finally:
        gate.set()
    assert_offline_answered(recs, notices, "before the first token")


def test_a_stream_that_stops_mid_line_keeps_the_finished_lines(fake_llm, llm_settings, houses, history):
    reply = Reply(ANSWER, delta_size=10)
    events = sse_events(reply, {"stream": True})
    middle_of_line_2 = (ANSWER.index("\n") + 25) // 10 + 1  # the event holding it (event 0 is the role)
    reply.cut_after = sum(len(e) for e in events[:middle_of_line_2])
    fake_llm.reply(reply)
    recs, notices = run(llm_settings, houses, history)
    assert recs[0].source == "llm:fake-model" and recs[0].family == "lightgbm"
    assert {r.source for r in recs[1:]} == {"offline"} and len(recs) == 3
    assert notices[-1].endswith("broke off in the middle of the answer; the offline recommender adds the other 2")
    assert history.requests()[0]["status"] == "failed"


@pytest.mark.parametrize("stream", [True, False])
def test_http_200_with_a_body_that_is_not_openai(fake_llm, llm_settings, houses, history, stream):
    fake_llm.reply(Reply(raw=b"<html><body>Welcome to nginx!</body></html>"))
    recs, notices = run(llm_settings.replace(stream=stream), houses, history)
    assert_offline_answered(recs, notices, "answered HTTP 200 but not in the OpenAI format")


def test_a_stream_whose_events_are_not_json(fake_llm, llm_settings, houses, history):
    fake_llm.reply(Reply(raw=b"data: {not json\n\n", headers={"Content-Type": "text/event-stream"}))
    recs, notices = run(llm_settings, houses, history)
    assert_offline_answered(recs, notices, "sent a stream that is not in the OpenAI format")


def test_families_and_parameters_that_do_not_exist(fake_llm, llm_settings, houses, history):
    fake_llm.reply('{"family": "catboost", "params": {"depth": 6}}\n'
                   '{"family": "lightgbm", "params": {"boosting_type": "dart", "learning_rate": 0.1}}\n',
                   '{"family": "TabPFN"}\n')
    recs, notices = run(llm_settings, houses, history, n=2)
    assert recs[0].family == "lightgbm" and "boosting_type" not in recs[0].params
    assert recs[0].notes == ("dropped unknown hyperparameter 'boosting_type' for lightgbm",)
    assert recs[1].source == "offline"
    assert sum("unknown model family" in n for n in notices) == 2


def test_values_of_the_wrong_type_and_far_out_of_range(fake_llm, llm_settings, houses, history):
    fake_llm.reply('{"family": "random_forest", "params": {"n_estimators": "many", "max_depth": 1e308,'
                   ' "bootstrap": [1], "max_features": {"a": 1}}}\n')
    (rec,), _ = run(llm_settings, houses, history, n=1)
    assert rec.params["n_estimators"] == 100 and rec.params["max_depth"] == 100
    assert rec.params["bootstrap"] is True
    assert rec.params["max_features"] in family("random_forest").param("max_features").choices
    assert len(rec.notes) == 4
