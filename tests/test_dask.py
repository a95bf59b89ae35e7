"""``%%cash`` on a Dask DataFrame, on a real ``distributed`` LocalCluster (2 worker processes): the
profile equals the pandas one of the same rows, the generated code trains with ``lightgbm.dask`` or
``xgboost.dask`` and predicts on Dask and pandas frames alike, and a real kernel runs the whole cell."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbclient import NotebookClient

from llm_cash_magic import CashError, History, profile
from llm_cash_magic.codegen.distributed import generate_dask_code
from llm_cash_magic.pipeline import RunOptions, plan, recommend, refine, refined_recommendation, start_run
from llm_cash_magic.profiling import frames
from llm_cash_magic.profiling.dask_frames import is_dask_frame, profile_dask
from llm_cash_magic.recommenders.llm.settings import LLMSettings
from llm_cash_magic.space import validate

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with distributed.Client(cluster) as connected:
        yield connected
    cluster.close()


def mixed(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Every kind of column, missing values, a categorical dtype, an id and two targets."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "area": rng.normal(size=n),
            "rooms": rng.integers(0, 50, n),
            "row_id": np.arange(n),
            "city": rng.choice(["lyon", "nice", "paris"], n),
            "garden": rng.random(n) > 0.5,
            "kind": pd.Categorical(rng.choice(["flat", "house"], n)),
            "sold": pd.date_range("2020-01-01", periods=n, freq="h"),
            "note id": [f"n{i}" for i in range(n)],
        }
    )
    df.loc[5, "area"] = np.nan
    df.loc[9, "city"] = None
    df["price"] = 3 * df["area"] + df["rooms"] + rng.normal(size=n)
    df.loc[7, "price"] = np.nan
    df["sold_fast"] = np.where(df["area"] + (df["city"] == "nice") + rng.normal(0, 0.5, n) > 0.5, "yes", "no")
    return df


@pytest.mark.parametrize("target", ["price", "sold_fast", "garden", "rooms"])
def test_the_profile_equals_the_pandas_profile_of_the_same_rows(client, target):
    df = mixed()
    ddf = dd.from_pandas(df, npartitions=5)
    on_pandas, on_dask = profile(df, target), profile_dask(ddf, target)
    assert on_dask == on_pandas  # columns, kinds, counts, ranges, skewness, fingerprint, …
    assert on_dask.fingerprint == on_pandas.fingerprint
    regression = on_pandas.task == "regression"
    assert on_dask.target_stats == (pytest.approx(on_pandas.target_stats) if regression else on_pandas.target_stats)


def test_above_the_sample_size_the_counts_stay_exact_and_the_sample_is_the_pandas_one(client, monkeypatch):
    monkeypatch.setattr(frames, "SAMPLE_ROWS", 400)  # the client picks the rows; the workers only take them
    df = mixed()
    on_pandas, on_dask = profile(df, "price"), profile_dask(dd.from_pandas(df, npartitions=4), "price")
    assert on_dask == on_pandas and on_dask.sample_rows == 400
    exact = ("target_min", "target_max", "target_mean", "target_std")
    assert {k: on_dask.target_stats[k] for k in exact} == pytest.approx({k: on_pandas.target_stats[k] for k in exact})


def test_bad_input_gets_the_same_one_line_errors(client):
    ddf = dd.from_pandas(mixed(), npartitions=2)
    with pytest.raises(CashError, match=r"target column 'prise' is not in the DataFrame; did you mean 'price'\?"):
        profile_dask(ddf, "prise")
    with pytest.raises(CashError, match="target 'price' has no values"):
        profile_dask(ddf.assign(price=np.nan), "price")


def test_only_families_that_train_on_the_cluster_are_recommended_and_the_plan_says_why(client, history):
    ddf = dd.from_pandas(mixed().drop(columns=["price"]), npartitions=3)
    assert is_dask_frame(ddf) and not is_dask_frame(mixed())
    planned = plan(ddf, RunOptions(data="ddf", target="sold_fast", strategy="offline"), LLMSettings(), history)
    recs = list(recommend(planned))
    assert len(recs) == 5 and {r.family for r in recs} <= {"lightgbm", "xgboost"}
    assert any("LightGBM (lightgbm.dask), XGBoost (xgboost.dask)" in note for note in planned.notes)
    with pytest.raises(CashError, match="--blend is not available for a Dask DataFrame"):
        plan(ddf, RunOptions(data="ddf", target="sold_fast", flags=frozenset({"blend"})), LLMSettings(), history)


def test_refine_runs_its_trials_on_the_cluster_one_held_out_split_each(client, history):
    ddf = dd.from_pandas(mixed().drop(columns=["price"]), npartitions=3)
    options = RunOptions(data="ddf", target="sold_fast", strategy="offline", n=2, refine=3)
    planned = plan(ddf, options, LLMSettings(), history)
    assert planned.cv == 1  # one held-out split: what the history's reuse of a trial matches on
    recs = list(recommend(planned))
    run_id = start_run(history, planned, recs)
    stop = [KeyboardInterrupt()]

    def interrupt_once(outcome):
        if stop:
            raise stop.pop()

    first = refine(ddf, planned, recs, 3, history=history, run_id=run_id, on_trial=interrupt_once)
    assert first.interrupted and len(first.trials) == 1  # Ctrl-C keeps the finished trials
    resumed = refine(ddf, planned, recs, 3, history=history, run_id=run_id)
    assert len(resumed.trials) == 4 and not resumed.interrupted
    done = [t for t in history.run(run_id)["trials"] if t["status"] == "done"]
    assert done and {t["family"] for t in done} <= {"lightgbm", "xgboost"}  # only what trains on Dask
    assert all(len(t["cv_scores"]) == 1 and 0.5 < t["cv_mean"] <= 1 for t in done)  # roc_auc, one split
    best = refined_recommendation(resumed, planned)
    assert best.family in ("lightgbm", "xgboost")
    again = plan(ddf, options, LLMSettings(), history)  # a new run: measured configurations are reused
    reused = refine(ddf, again, recs[:1], 1, history=history, run_id=start_run(history, again, recs[:1]))
    assert reused.trials[0].reused and reused.trials[0].score == pytest.approx(first.trials[0].score)


@pytest.mark.parametrize("name", ["lightgbm", "xgboost"])
@pytest.mark.parametrize("target", ["sold_fast", "price"])
def test_the_code_trains_on_the_cluster_and_predicts_on_dask_and_pandas_frames(client, target, name):
    df = mixed().drop(columns=["sold_fast" if target == "price" else "price"])
    ddf = dd.from_pandas(df, npartitions=4)
    prof = profile_dask(ddf, target)
    config = validate(name, {"n_estimators": 300, "early_stopping": True}, prof.task)
    code = generate_dask_code(prof, config, data_name="ddf")
    stopping = {  # lightgbm.dask cannot stop early: checkpoints on the held-out rows; XGBoost stops itself
        "lightgbm": "for rounds in [25, 50, 100, 200, 300]:",
        "xgboost": "eval_set=[(X_valid, y_valid)]",
    }
    assert stopping[name] in code
    namespace = {"ddf": ddf}
    exec(code, namespace)  # generated by us from validated values, as the kernel runs it
    model, scores, rounds = namespace["cash_model"], namespace["cash_scores"], namespace["cash_rounds"]
    assert rounds["cap"] == 300 and 1 <= rounds["final"] <= 300
    assert name != "lightgbm" or rounds["final"] in (25, 50, 100, 200, 300)
    assert model.estimator.get_params()["n_estimators"] == rounds["final"]
    assert scores.shape == (1,) and (scores[0] > 0.8 if target == "sold_fast" else scores[0] < 2.0)
    rows = df.head(50).drop(columns=[target])
    here, there = model.predict(rows), model.predict(dd.from_pandas(rows, npartitions=2)).compute()
    assert list(here) == list(there)  # the same model, run here and on the cluster
    if target == "sold_fast":
        assert set(here) <= {"yes", "no"} and model.predict_proba(rows).shape == (50, 2)


def test_the_magic_refines_on_the_cluster_and_trains_the_best(client, ip, capsys):
    ip.user_ns["ddf"] = dd.from_pandas(mixed().drop(columns=["sold_fast"]), npartitions=3)
    ip.run_line_magic("cash", "ddf target=price n=2 refine=2")
    out = capsys.readouterr().out
    assert "Refinement: 2 trials (0 pruned, 0 failed)" in out and "held-out rows: rmse" in out
    (run,) = History.from_environment().runs()
    assert "measuring LightGBM's defaults on the same held-out split first (once for ddf)" in out
    trials = [t for t in run["trials"] if t["source"] != "reference"]
    searched, trained = trials[:2], trials[-1]
    best = min(searched, key=lambda t: t["cv_mean"])
    assert trained["params"] == best["params"] and trained["status"] == "done"
    assert type(ip.user_ns["cash_model"]).__name__ == "CashDaskModel"


def test_the_panel_trains_a_card_and_refines_on_the_cluster_without_blend(client, history):
    from llm_cash_magic.frontends.panel import Panel

    ddf = dd.from_pandas(mixed().drop(columns=["sold_fast"]), npartitions=3)
    planned = plan(ddf, RunOptions(data="ddf", target="price", strategy="defaults", n=1), LLMSettings(), history)
    namespace = {"ddf": ddf}
    panel = Panel(planned, "", history, namespace, data=ddf)  # as the magic builds it for a Dask frame
    panel.stream()
    assert not hasattr(panel, "blend_button")
    (card,) = panel.cards
    card.run_button.click()
    assert type(namespace["cash_model"]).__name__ == "CashDaskModel"
    trial = history.run(panel.run_id)["trials"][0]
    assert trial["status"] == "done"
    assert f"rmse {trial['cv_mean']:.4f}</b> on the held-out rows" in card.view.status.value
    assert "rmse on the same folds: LightGBM defaults" in card.view.status.value  # measured on the cluster
    assert "trivial predictor" not in card.view.status.value  # measured on pandas data only
    panel.refine_n.value = 2
    panel.refine_button.click()
    trials = history.run(panel.run_id)["trials"]
    trials = [t for t in trials if t["source"] != "reference"]
    searched, trained = trials[1:-1], trials[-1]
    assert len(searched) == 2 and searched[0]["details"].get("reused") == trial["id"]  # the card's own, not refit
    assert trained["source"] == "refine" and trained["status"] == "done" and len(trained["cv_scores"]) == 1
    assert "2 trials in the study" in panel.refine_view.status.value


# The kernel connects to the test's cluster, as a notebook connects to a real one: a LocalCluster
# started in the kernel shares its process group, and Jupyter's interrupt (SIGINT to the group)
# kills its workers (dask/distributed#1925).
KERNEL_SETUP = """\
%load_ext llm_cash_magic
import numpy as np
import pandas as pd
import dask.dataframe as dd
from distributed import Client
client = Client({address!r})
rng = np.random.default_rng(0)
pdf = pd.DataFrame({{"area": rng.uniform(30, 200, {rows}), "city": rng.choice(["a", "b", "c"], {rows})}})
pdf["price"] = 2000 * pdf["area"] + (pdf["city"] == "a") * 5e4 + rng.normal(0, 1000, {rows})
ddf = dd.from_pandas(pdf, npartitions=4)
"""


@pytest.mark.kernel
def test_cash_on_a_dask_frame_in_a_real_kernel_trains_on_the_cluster_and_records_it(client, history):
    setup = KERNEL_SETUP.format(address=client.scheduler.address, rows=4000)
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(setup),
            nbformat.v4.new_code_cell("%%cash ddf target=price n=3 --auto"),
            nbformat.v4.new_code_cell("print(type(cash_model).__name__, cash_model.predict(pdf.head(2)).shape)"),
            nbformat.v4.new_code_cell("%cash history"),
        ]
    )
    NotebookClient(nb, kernel_name="python3", timeout=300).execute()
    text = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in nb.cells[1].outputs)
    assert "itself distributed are recommended" in text and "no race on a Dask DataFrame" in text
    assert "held-out rows: rmse" in text and "final fit on all rows with" in text
    assert "CashDaskModel (2,)" in nb.cells[2].outputs[0]["text"]
    (run,) = history.runs()
    trial, reference = run["trials"]
    assert reference["source"] == "reference" and len(reference["cv_scores"]) == 1  # LightGBM's, on the cluster
    assert "LightGBM defaults" in text  # the result next to it
    assert trial["family"] in ("lightgbm", "xgboost") and trial["status"] == "done" and trial["cv_mean"] > 0
    listed = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in nb.cells[3].outputs)
    assert f"{trial['cv_mean']:.4f}" in listed and "± 0.0000" not in listed  # one held-out score, no spread


@pytest.mark.kernel
def test_interrupting_a_distributed_training_says_one_line_and_keeps_the_cluster(client, history):
    from jupyter_client.manager import start_new_kernel

    manager, kernel = start_new_kernel(kernel_name="python3")
    seen = []

    def output(message):
        text = message["content"].get("text", "")
        seen.append(text)
        if ": training " in text:  # the generated code runs now: interrupt it
            time.sleep(2)
            manager.interrupt_kernel()

    try:
        setup = KERNEL_SETUP.format(address=client.scheduler.address, rows=100_000)
        assert kernel.execute_interactive(setup, timeout=120)["content"]["status"] == "ok"
        reply = kernel.execute_interactive("%%cash ddf target=price n=1 --auto", timeout=300, output_hook=output)
        assert reply["content"]["status"] == "error"
        assert reply["content"]["evalue"].startswith("training interrupted: trial ")
        after = kernel.execute_interactive("print(ddf.area.count().compute())", timeout=300, output_hook=output)
        printed = [text.strip() for text in seen if text.strip()]
        assert after["content"]["status"] == "ok" and printed[-1] == "100000"  # the cluster still works
    finally:
        kernel.stop_channels()
        manager.shutdown_kernel(now=True)
    (run,) = history.runs()
    assert run["trials"][0]["status"] == "failed" and run["trials"][0]["error"] == "interrupted"


def test_without_distributed_a_dask_frame_gets_one_line(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        sys.modules["distributed"] = None  # as if the [dask] extra were not installed
        import pandas as pd, dask.dataframe as dd
        from IPython.testing.globalipapp import start_ipython
        from IPython.core.error import UsageError
        ip = start_ipython()
        ip.run_line_magic("load_ext", "llm_cash_magic")
        ip.user_ns["ddf"] = dd.from_pandas(pd.DataFrame({"x": range(20), "y": [0, 1] * 10}), npartitions=2)
        try:
            ip.run_line_magic("cash", "ddf target=y --auto")
        except UsageError as error:
            print(error)
        """
    )
    environment = os.environ | {"LLM_CASH_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=environment)
    assert out.stdout.strip().splitlines()[-1] == (
        'a Dask DataFrame needs distributed, not installed here: pip install "llm_cash_magic[dask]"'
    )


def test_an_llm_is_told_the_families_that_train_on_the_cluster_and_others_are_left_out(client, llm_env, history):
    llm_env.reply(
        '{"family": "random_forest", "params": {"n_estimators": 50}, "rationale": "robust"}\n'
        '{"family": "lightgbm", "params": {"num_leaves": 15}, "rationale": "boosting"}\n'
    )
    ddf = dd.from_pandas(mixed().drop(columns=["sold_fast"]), npartitions=2)
    options = RunOptions(data="ddf", target="price", strategy="zero-shot", n=2)
    planned = plan(ddf, options, LLMSettings.resolve(), history)
    recs = list(recommend(planned, "prices in euros"))
    assert [r.family for r in recs] == ["lightgbm"]
    (request,) = llm_env.chat_requests
    told = request.messages[-1]["content"]
    assert "prices in euros" in told and "Only these model families can train on this data: lightgbm" in told
