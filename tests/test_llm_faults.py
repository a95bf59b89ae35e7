"""Faults: whatever the endpoint does, the run completes with validated recommendations, the
offline recommender answers for what the LLM did not, and the user reads one line saying why."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from conftest import API_KEY
from fake_openai import Reply, sse_events

from llm_cash_magic import profile
from llm_cash_magic.recommenders.llm.recommender import LLMRecommender
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


def test_credentials_in_the_base_url_are_never_shown(llm_settings, houses, history):
    url = f"http://alice:hunter2pw@127.0.0.1:{closed_port()}/v1"
    recs, notices = run(llm_settings.replace(base_url=url), houses, history)
    assert_offline_answered(recs, notices, "cannot reach http://****@127.0.0.1:")
    assert "hunter2pw" not in json.dumps(history.requests()) and "alice" not in notices[0]


def test_a_401_without_any_key_says_that_none_is_set(fake_llm, llm_settings, houses, history, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")  # a base URL alone counts as configured
    fake_llm.reply(Reply(status=401, error="Missing bearer authentication in header"))
    recs, notices = run(llm_settings, houses, history)
    assert_offline_answered(recs, notices, "needs an API key (HTTP 401) and none is set: $OPENAI_API_KEY is empty")


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
    assert_offline_answered(recs, notices, "sent nothing before the first token (1 try with a 0.3 s timeout")


def test_a_timeout_that_is_retried_says_how_long_it_took_in_all(fake_llm, llm_settings, houses, history):
    fake_llm.reply(*[Reply(ANSWER, header_delay=1.0)] * 3)
    recs, notices = run(llm_settings.replace(timeout=0.3, max_retries=2), houses, history)
    assert_offline_answered(recs, notices, "sent nothing before the first token (3 tries with a 0.3 s timeout, ")
    seconds = float(notices[0].split("timeout, ")[1].split(" s in all")[0])
    assert seconds >= 0.9 and len(fake_llm.chat_requests) == 3


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
    fake_llm.reply(
        '{"family": "tabpfn", "params": {"depth": 6}}\n'
        '{"family": "lightgbm", "params": {"boosting_type": "dart", "learning_rate": 0.1}}\n',
        '{"family": "TabPFN"}\n',
    )
    recs, notices = run(llm_settings, houses, history, n=2)
    assert recs[0].family == "lightgbm" and "boosting_type" not in recs[0].params
    assert recs[0].notes == ("dropped unknown hyperparameter 'boosting_type' for lightgbm",)
    assert recs[1].source == "offline"
    assert sum("unknown model family" in n for n in notices) == 2


def test_a_requests_problems_are_one_line_and_every_one_is_recorded(fake_llm, llm_settings, houses, history):
    unknown = ["tabpfn", "autogluon", "svm", "lasso_lars", "gaussian_process"]
    fake_llm.reply(
        "\n".join(json.dumps({"family": f, "params": {}}) for f in unknown),
        "\n".join(json.dumps({"family": f.upper(), "params": {}}) for f in unknown),
    )
    recs, notices = run(llm_settings, houses, history)
    assert {r.source for r in recs} == {"offline"} and len(recs) == 3
    dropped = [n for n in notices if "unknown model family" in n]
    assert len(dropped) == 2 and len(notices) == 6  # per request its problems and its summary; asking again; fill
    assert dropped[0].startswith("LLM answer, 5 problems: line 1: unknown model family 'tabpfn'")
    assert dropped[0].endswith("(and 4 more; %cash export lists them all)")
    assert [len(request["repairs"]) for request in history.requests()] == [5, 5]


def test_output_that_breaks_json_or_float_costs_its_line_not_the_run(fake_llm, llm_settings, houses, history):
    fake_llm.reply(
        '{"family": "lightgbm", "params": {"n_estimators": ' + "9" * 400 + "}}\n"
        '{"family": "knn", "params": {"p": ' + "[" * 3000 + "]" * 3000 + "}}\n" + ANSWER
    )
    recs, notices = run(llm_settings, houses, history)
    assert [r.family for r in recs] == ["lightgbm", "lightgbm", "random_forest"]
    assert {r.source for r in recs} == {"llm:fake-model"}
    assert recs[0].params["n_estimators"] == 2000 and "projected to 2000" in recs[0].notes[0]
    assert notices[0] == "LLM answer, 1 problem: line 2: JSON nested too deeply"


def test_values_of_the_wrong_type_and_far_out_of_range(fake_llm, llm_settings, houses, history):
    fake_llm.reply(
        '{"family": "random_forest", "params": {"n_estimators": "many", "max_depth": 1e308,'
        ' "bootstrap": [1], "max_features": {"a": 1}}}\n'
    )
    (rec,), _ = run(llm_settings, houses, history, n=1)
    assert rec.params["n_estimators"] == 100 and rec.params["max_depth"] == 100
    assert rec.params["bootstrap"] is True
    assert rec.params["max_features"] in family("random_forest").param("max_features").choices
    assert len(rec.notes) == 4


# ---- answers that never end: every read is bounded --------------------------------------------
@pytest.mark.parametrize(
    "forever, bounds, reason",
    [
        ("keep-alive", {"timeout": 1.5, "deadline": 30.0}, "sent no content for 1.5 s in the middle of the answer"),
        ("tokens", {"timeout": 5.0, "deadline": 2.0}, "took longer than 2 s in all to answer; gave up"),
    ],
)
def test_an_answer_that_never_ends_is_given_up_and_the_offline_recommender_fills_in(
    forever, bounds, reason, fake_llm, llm_settings, houses, history
):
    fake_llm.reply(Reply(json.dumps(LINES[0]) + "\n", forever=forever, interval=0.2))
    started = time.monotonic()
    recs, notices = run(llm_settings.replace(**bounds), houses, history)
    assert time.monotonic() - started < 10
    assert recs[0].source == "llm:fake-model" and {r.source for r in recs[1:]} == {"offline"}
    assert any(reason in n for n in notices)
    [request] = history.requests()
    assert request["status"] == "failed" and reason in request["error"]


def test_prose_forever_counts_towards_the_unusable_lines(fake_llm, llm_settings, houses, history):
    fake_llm.reply(Reply(forever="prose", interval=0.01), Reply(forever="prose", interval=0.01))
    recs, notices = run(llm_settings.replace(deadline=30.0), houses, history, n=2)
    assert {r.source for r in recs} == {"offline"}
    assert sum("gave up after 14 unusable lines (14 of them prose)" in n for n in notices) == 2
    assert [r["status"] for r in history.requests()] == ["ok", "ok"]


def test_an_integer_of_thousands_of_digits_costs_only_its_line(fake_llm, llm_settings, houses, history):
    huge = '{"family": "lightgbm", "params": {"n_estimators": ' + "9" * 4301 + "}}"
    fake_llm.reply(huge + "\n" + ANSWER)
    recs, notices = run(llm_settings, houses, history)
    assert [r.family for r in recs] == ["lightgbm", "random_forest", "linear"]
    assert all(r.source == "llm:fake-model" for r in recs)
    assert any("line 1: not valid JSON (Exceeds the limit (4300 digits)" in n for n in notices)


def test_ctrl_c_while_the_answer_streams_keeps_what_arrived_and_says_so_in_one_line(
    fake_llm, llm_env, houses, history, tmp_path
):
    """In a real kernel, interrupted as Jupyter's stop button does (SIGINT to the kernel), once the
    first recommendation is in and the model streams on without end."""
    from jupyter_client.manager import start_new_kernel

    fake_llm.reply(Reply(ANSWER[: ANSWER.index("\n", 60) + 1], forever="tokens", interval=0.1))
    frame = tmp_path / "houses.pkl"
    houses.to_pickle(frame)
    km, kc = start_new_kernel(kernel_name="python3")  # its environment: this test's LLM and history
    try:
        for code in (f"import pandas as pd\nhouses = pd.read_pickle({str(frame)!r})", "%load_ext llm_cash_magic"):
            assert kc.execute_interactive(code, timeout=120)["content"]["status"] == "ok"
        printed = []
        msg_id = kc.execute("%cash houses target=price strategy=zero-shot n=3 --auto")
        assert fake_llm.streaming_forever.wait(120)
        time.sleep(0.5)  # the first recommendation has arrived by then
        km.interrupt_kernel()
        while True:
            msg = kc.get_iopub_msg(timeout=120)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                printed.append(msg["content"]["text"])
            if msg["msg_type"] == "error":
                printed.append("Traceback: " + msg["content"]["ename"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    out = " ".join("".join(printed).split())
    assert "interrupted while the zero-shot recommender answered; 1 recommendation had arrived" in out
    assert "keeps them, and nothing was trained" in out and "Traceback" not in out
    [run_] = history.runs()
    assert len(run_["recommendations"]) == 1 and run_["trials"] == []
    assert [r["status"] for r in history.requests()] == ["cancelled"]
