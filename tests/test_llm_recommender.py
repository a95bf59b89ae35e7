"""The LLM recommender against a real OpenAI-compatible server: streaming, repair, the one
follow-up, the offline fill, the replay cache and what the history records."""

from __future__ import annotations

import json
import threading

import pytest
from fake_openai import Reply

from llm_cash_magic import profile
from llm_cash_magic.recommenders.llm import prompts
from llm_cash_magic.recommenders.llm.recommender import LLMRecommender, max_problems

LINES = [
    {"family": "lightgbm", "params": {"learning_rate": 0.05, "num_leaves": 63}, "rationale": "boosting leads"},
    {"family": "random_forest", "params": {"n_estimators": 300}, "rationale": "robust — très bien € ✓"},
    {"family": "linear", "params": {"alpha": 10.0}, "rationale": "a strong baseline"},
]
ANSWER = "\n".join(json.dumps(line, ensure_ascii=False) for line in LINES) + "\n"


@pytest.fixture
def recommender(llm_settings, history):
    notices: list[str] = []
    rec = LLMRecommender("zero-shot", llm_settings, history, run_id="run-1", notify=notices.append)
    rec.notices = notices
    return rec


@pytest.fixture
def prof(houses):
    return profile(houses, "price")


def test_each_recommendation_arrives_while_the_answer_is_still_streaming(fake_llm, recommender, prof):
    first_line = ANSWER.index("\n") + 1
    gate = threading.Event()
    fake_llm.reply(Reply(ANSWER, delta_size=first_line, gate=gate, gate_after=2))  # role, line 1, then wait
    stream = recommender.recommend(prof, n=3)
    try:
        first = next(stream)  # the server is holding the rest of the answer back
        assert first.family == "lightgbm" and not gate.is_set()
    finally:
        gate.set()
    assert [r.family for r in stream] == ["random_forest", "linear"]


@pytest.mark.parametrize("write_size", [1, 3, 10])
def test_bytes_cut_mid_line_and_mid_utf8_character_change_nothing(fake_llm, recommender, prof, write_size):
    fake_llm.reply(Reply(ANSWER, delta_size=5, write_size=write_size))
    recs = list(recommender.recommend(prof, n=3))
    assert [r.rationale for r in recs] == [line["rationale"] for line in LINES]


def test_recommendations_are_validated_and_marked_as_the_llms(fake_llm, recommender, prof):
    fake_llm.reply(ANSWER)
    rec = next(recommender.recommend(prof, n=3))
    assert rec.source == "llm:fake-model"
    assert rec.params["learning_rate"] == 0.05 and rec.params["n_estimators"] == 100


def test_the_request_carries_model_temperature_seed_and_streaming(fake_llm, recommender, prof):
    fake_llm.reply(ANSWER)
    list(recommender.recommend(prof, n=3))
    body = fake_llm.chat_requests[0].json
    assert (body["model"], body["temperature"], body["seed"], body["stream"]) == ("fake-model", 0.0, 0, True)
    assert fake_llm.chat_requests[0].headers["authorization"].startswith("Bearer sk-test-")


def test_unset_temperature_and_seed_are_not_sent(fake_llm, llm_settings, history, prof):
    fake_llm.reply(ANSWER)
    settings = llm_settings.replace(temperature=None, seed=None)  # a reasoning model's configuration
    list(LLMRecommender("zero-shot", settings, history, notify=print).recommend(prof, n=3))
    assert not {"temperature", "seed", "max_tokens"} & set(fake_llm.chat_requests[0].json)


def test_without_streaming_the_whole_answer_is_read_at_once(fake_llm, llm_settings, history, prof):
    fake_llm.reply(ANSWER)
    recs = list(LLMRecommender("zero-shot", llm_settings.replace(stream=False), history).recommend(prof, n=3))
    assert [r.family for r in recs] == ["lightgbm", "random_forest", "linear"]
    assert "stream" not in fake_llm.chat_requests[0].json


def test_reading_stops_at_the_first_line_beyond_the_n_asked_for(fake_llm, recommender, prof, history):
    gate = threading.Event()  # after the role and three lines the server holds the rest: never sent
    fake_llm.reply(Reply(ANSWER + json.dumps(LINES[2]) * 200, delta_size=len(ANSWER), gate=gate, gate_after=2))
    try:
        recs = list(recommender.recommend(prof, n=2))
        assert not gate.is_set()
    finally:
        gate.set()
    assert [r.family for r in recs] == ["lightgbm", "random_forest"]
    (row,) = history.requests()
    assert row["status"] == "ok" and row["repairs"] == []
    assert "max_tokens" not in fake_llm.chat_requests[0].json  # a reasoning model's thinking is never cut


def test_a_model_repeating_one_line_is_given_up_after_a_bounded_number_of_problems(
    fake_llm, recommender, prof, history
):
    same = json.dumps(LINES[0]) + "\n"
    fake_llm.reply(same * 200, json.dumps(LINES[1]))
    recs = list(recommender.recommend(prof, n=2))
    assert [r.source for r in recs] == ["llm:fake-model"] * 2
    assert len(recommender.notices) == 4  # the first request's problems and summary, asking again, its summary
    assert "15 problems: line 2: the same configuration as recommendation #1 (and 14 more" in recommender.notices[0]
    repairs = history.requests()[0]["repairs"]
    assert len(repairs) == max_problems(2) + 1 == 15  # the rest was never read, and that is said
    assert repairs[-1] == "gave up after 14 unusable lines (0 of them prose)"
    ask = fake_llm.chat_requests[1].messages[3]["content"]
    assert ask.count("the same configuration") == prompts.MAX_LISTED and "- and 5 more" in ask


def test_a_short_answer_gets_one_follow_up_that_lists_its_problems(fake_llm, recommender, prof):
    fake_llm.reply(
        '{"family": "tabpfn", "params": {}}\n' + ANSWER, json.dumps(LINES[0] | {"family": "extra_trees", "params": {}})
    )
    recs = list(recommender.recommend(prof, n=4))
    assert [r.family for r in recs] == ["lightgbm", "random_forest", "linear", "extra_trees"]
    first, follow_up = fake_llm.chat_requests
    assert follow_up.messages[:2] == first.messages
    assert follow_up.messages[2] == {"role": "assistant", "content": '{"family": "tabpfn", "params": {}}\n' + ANSWER}
    ask = follow_up.messages[3]["content"]
    assert "line 1: unknown model family 'tabpfn'" in ask and "gave 3 usable configurations; 1 more is needed" in ask
    assert "Answer with exactly 1 new configuration in the same format" in ask
    assert '"family": "lightgbm"' in ask  # already accepted: not to be repeated


def test_still_short_after_the_follow_up_the_offline_recommender_fills_in(fake_llm, recommender, prof):
    fake_llm.reply(json.dumps(LINES[0]), "sorry, I cannot help with that")
    recs = list(recommender.recommend(prof, n=4))
    assert len(fake_llm.chat_requests) == 2  # one follow-up, no more
    assert recs[0].source == "llm:fake-model"
    assert {r.source for r in recs[1:]} == {"offline"}
    assert len({(r.family, json.dumps(r.params, sort_keys=True)) for r in recs}) == 4
    assert "the LLM gave 1 usable recommendation of the 4 asked for; the offline recommender adds the other 3" in (
        recommender.notices
    )


def test_an_answer_without_json_is_a_problem_the_user_and_the_follow_up_see(fake_llm, recommender, prof):
    fake_llm.reply("| family | learning rate |\n|---|---|\n| LightGBM | 0.05 |\n", ANSWER)
    recs = list(recommender.recommend(prof, n=3))
    assert {r.source for r in recs} == {"llm:fake-model"}
    assert recommender.notices[0] == "LLM answer, 1 problem: no JSON object found in the answer"
    ask = fake_llm.chat_requests[1].messages[3]["content"]
    assert "gave 0 usable configurations; 3 more are needed.\nThese could not be used:\n- no JSON object found" in ask


def test_the_same_configuration_n_times_is_kept_once(fake_llm, recommender, prof):
    same = json.dumps(LINES[0])
    fake_llm.reply("\n".join([same] * 5), "\n".join([same] * 4))
    recs = list(recommender.recommend(prof, n=5))
    assert sum(r.family == "lightgbm" and r.source.startswith("llm") for r in recs) == 1
    assert len({(r.family, json.dumps(r.params, sort_keys=True)) for r in recs}) == len(recs) == 5
    assert sum("same configuration as recommendation #1" in n for n in recommender.notices) == 2  # per request


def test_every_request_is_recorded_with_messages_answer_repairs_tokens_and_timings(
    fake_llm, recommender, prof, history
):
    answer = ANSWER + '{"family": "linear", "params": {"alpha": 1e9}}\n'
    fake_llm.reply(answer)
    recs = list(recommender.recommend(prof, n=4))
    (row,) = history.requests("run-1")
    assert row["strategy"] == "zero-shot" and row["purpose"] == "first" and row["status"] == "ok"
    assert row["model"] == "fake-model" and row["endpoint"] == fake_llm.url.split("/")[2]
    assert row["messages"] == fake_llm.chat_requests[0].messages  # exactly what was sent
    assert row["response"] == answer
    assert [r["family"] for r in row["recommendations"]] == [r.family for r in recs]
    assert any("projected" in note for note in row["recommendations"][3]["notes"])
    assert row["usage"] == {"prompt_tokens": 120, "completion_tokens": 80, "total_tokens": 200}
    assert 0 < row["first_token_seconds"] <= row["latency_seconds"]
    assert (row["temperature"], row["seed"]) == (0.0, 0)


def test_the_same_request_again_replays_the_stored_answer_without_sending(fake_llm, llm_settings, history, prof):
    fake_llm.reply(ANSWER)
    first = list(LLMRecommender("zero-shot", llm_settings, history).recommend(prof, n=3))
    again = list(LLMRecommender("zero-shot", llm_settings, history, run_id="r2").recommend(prof, n=3))
    assert again == first
    assert len(fake_llm.chat_requests) == 1
    (replay,) = history.requests("r2")
    assert replay["replay_of"] == history.requests()[0]["id"] and replay["response"] == ANSWER


def test_a_change_of_temperature_is_a_new_request(fake_llm, llm_settings, history, prof):
    fake_llm.reply(ANSWER, ANSWER)
    list(LLMRecommender("zero-shot", llm_settings, history).recommend(prof, n=3))
    list(LLMRecommender("zero-shot", llm_settings.replace(temperature=0.7), history).recommend(prof, n=3))
    assert len(fake_llm.chat_requests) == 2


def test_fresh_bypasses_the_stored_answer(fake_llm, llm_settings, history, prof):
    fake_llm.reply(ANSWER, ANSWER)
    list(LLMRecommender("zero-shot", llm_settings, history).recommend(prof, n=3))
    list(LLMRecommender("zero-shot", llm_settings.replace(cache=False), history).recommend(prof, n=3))
    assert len(fake_llm.chat_requests) == 2


def test_an_answer_without_any_usable_line_is_not_replayed(fake_llm, llm_settings, history, prof):
    fake_llm.reply("no idea", "still no idea", ANSWER)
    list(LLMRecommender("zero-shot", llm_settings, history).recommend(prof, n=3))
    recs = list(LLMRecommender("zero-shot", llm_settings, history).recommend(prof, n=3))
    assert len(fake_llm.chat_requests) == 3
    assert {r.source for r in recs} == {"llm:fake-model"}


def test_a_consumer_that_stops_early_closes_the_stream_and_records_the_request(fake_llm, recommender, prof, history):
    fake_llm.reply(ANSWER)
    stream = recommender.recommend(prof, n=3)
    next(stream)
    stream.close()
    (row,) = history.requests()
    assert row["status"] == "cancelled" and len(row["recommendations"]) == 1
