"""LLM requests in the history: schema 2 migrates a schema-1 file in place, keeping every run."""

from __future__ import annotations

import sqlite3

from llm_cash_magic import profile
from llm_cash_magic.record import SCHEMA_VERSION, History
from llm_cash_magic.record.migrations import MIGRATIONS


def schema_1_file(path, prof) -> str:
    """A history file as version 1 of the package wrote it, with one run in it."""
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[1].split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    return History(path).start_run(prof, data_name="old", n_columns=7, strategy="defaults")


def test_a_schema_1_history_is_migrated_and_keeps_its_runs(tmp_path, houses, monkeypatch):
    path = tmp_path / "history.sqlite"
    prof = profile(houses, "price")
    monkeypatch.setattr("llm_cash_magic.record.history.SCHEMA_VERSION", 1)
    run_id = schema_1_file(path, prof)
    monkeypatch.setattr("llm_cash_magic.record.history.SCHEMA_VERSION", SCHEMA_VERSION)

    history = History(path)
    assert [r["id"] for r in history.runs()] == [run_id]
    assert history.requests() == []
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3


def test_a_recorded_request_reads_back_with_its_json_fields(history):
    request_id = history.record_request(
        run_id="r1",
        strategy="zero-shot",
        purpose="first",
        model="m",
        endpoint="host:1",
        temperature=0.0,
        seed=0,
        cache_key="k",
        messages=[{"role": "user", "content": "hi"}],
        response="{}",
        recommendations=[],
        repairs=["line 1: no family"],
        usage={"total_tokens": 3},
        first_token_seconds=0.1,
        latency_seconds=0.2,
        status="ok",
    )
    (row,) = history.requests("r1")
    assert row["id"] == request_id and row["messages"] == [{"role": "user", "content": "hi"}]
    assert row["repairs"] == ["line 1: no family"] and row["usage"] == {"total_tokens": 3}


def test_forgetting_everything_forgets_the_requests(history, houses):
    history.record_request(
        run_id=None,
        strategy="zero-shot",
        purpose="first",
        model="m",
        endpoint="h",
        cache_key="k",
        messages=[],
        status="failed",
    )
    history.forget_all()
    assert history.requests() == []
