"""A pandas frame above ``LARGE_ROWS``: validated on one held-out split and fitted on all rows, its
refinement searching a sample recorded as a dataset of its own. The thresholds are lowered so that
a 1,000-row frame takes the route, with everything else real (kernel-less IPython, SQLite, the code)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError

from llm_cash_magic import History, pipeline
from llm_cash_magic.frontends.options import parse
from llm_cash_magic.recommenders.llm.settings import LLMSettings


@pytest.fixture
def large(monkeypatch):
    monkeypatch.setattr(pipeline, "LARGE_ROWS", 800)
    monkeypatch.setattr(pipeline, "SEARCH_ROWS", 300)
    rng = np.random.default_rng(3)
    n = 1000
    df = pd.DataFrame({"area": rng.uniform(30, 200, n), "city": rng.choice(["a", "b", "c"], n)})
    df["sold"] = np.where(df["area"] / 100 + (df["city"] == "a") + rng.normal(0, 0.4, n) > 1.2, "yes", "no")
    return df


def test_the_plan_says_up_front_one_held_out_split_and_a_sample_for_the_search(large):
    planned = pipeline.plan(large, parse("df target=sold"), LLMSettings(), History.from_environment())
    assert planned.large and planned.cv == 1 and not planned.can_blend
    (note,) = planned.notes
    assert note.startswith("1,000 rows: each model is validated on one stratified held-out split of 20% of the rows")
    assert "a refinement searches a 300-row sample" in note
    with pytest.raises(pipeline.CashError, match=r"^--blend is not available above 800 rows \(1,000 here\)"):
        pipeline.plan(large, parse("df target=sold --blend"), LLMSettings(), History.from_environment())


def test_refine_searches_a_sample_of_its_own_and_the_best_trains_on_every_row(ip, capsys, large):
    ip.user_ns["df"] = large
    ip.run_line_magic("cash", "df target=sold n=2 refine=3")
    out = capsys.readouterr().out
    history = History.from_environment()
    main, sample = sorted(history.runs(), key=lambda r: "sample_of" in r["options"])
    assert f"refining on a 300-row sample of df (run {sample['id']})" in out
    assert sample["options"]["sample_of"] == main["id"] and sample["fingerprint"] != main["fingerprint"]
    assert sample["n_rows"] == 300 and main["n_rows"] == 1000
    assert len(sample["trials"]) == 3 and all(len(t["cv_scores"]) == 5 for t in sample["trials"] if t["cv_scores"])
    (trained,) = [t for t in main["trials"] if t["source"] == "refine"]  # the best, on one split of every row
    best = max((t for t in sample["trials"] if t["status"] == "done"), key=lambda t: t["cv_mean"])
    assert trained["params"] == best["params"] and len(trained["cv_scores"]) == 1
    assert "StratifiedShuffleSplit(n_splits=1, test_size=0.2" in trained["code"]
    assert "on the held-out rows" in out and "over 1 folds" not in out
    assert (
        "measuring LightGBM's defaults and the trivial predictor on the same held-out split first (once for df)" in out
    )
    for name in ("trivial", "lightgbm"):  # measured on the same split
        assert len(history.reference(main["fingerprint"], main["metric"], name, None, 1, 0)["cv_scores"]) == 1

    ip.run_line_magic("cash", f"refine {main['id']} 2")  # resumed: the same sample, run and study
    history_now = {r["id"]: r for r in history.runs()}
    assert len(history_now) == 2 and len(history_now[sample["id"]]["trials"]) == 5
    assert len([t for t in history_now[main["id"]]["trials"] if t["source"] == "refine"]) == 2


def test_the_panel_refines_on_the_sample(large, history):
    from llm_cash_magic.frontends.panel import Panel

    planned = pipeline.plan(large, parse("df target=sold n=2 strategy=defaults"), LLMSettings(), history)
    panel = Panel(planned, "", history, {"df": large}, data=large)
    panel.stream()
    panel.refine_n.value = 2
    panel.refine_button.click()
    status = panel.refine_view.status.value
    assert "2 trials in the study" in status and "trained as code" in status
    runs = {r["id"]: r for r in history.runs()}
    (sample,) = [r for r in runs.values() if r["options"].get("sample_of") == panel.run_id]
    refined = [t for t in runs[panel.run_id]["trials"] if t["source"] == "refine"]
    assert len(sample["trials"]) == 2 and len(refined) == 1 and len(refined[0]["cv_scores"]) == 1


def test_a_blend_in_the_line_gets_one_line_not_a_traceback(ip, large):
    ip.user_ns["df"] = large
    with pytest.raises(UsageError, match="--blend is not available above 800 rows"):
        ip.run_line_magic("cash", "df target=sold --blend")
