"""%%cash and %cash in an in-process IPython: the happy path, subcommands, and every bad input."""

from __future__ import annotations

import json
import sqlite3
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError

from llm_cash_magic import History


def test_a_lone_cell_magic_trains_the_top_recommendation(ip, houses, capsys):
    ip.user_ns["df"] = houses
    result = ip.run_cell("%%cash df target=price")
    assert result.success, result.error_in_exec
    out = capsys.readouterr().out
    assert "df: 300 rows × 5 features" in out and "task regression" in out
    assert "'house_id' (monotone integer, unique per row)" in out
    assert "Recommendations" in out and "rmse: " in out

    [run] = History.from_environment().runs()
    [trial] = [t for t in run["trials"] if t["source"] != "reference"]
    assert trial["status"] == "done" and trial["cv_mean"] == pytest.approx(ip.user_ns["cash_scores"].mean())
    assert ip.rl_next_input is None  # a terminal: no prompt filled with code that already ran
    assert f"(%cash code {run['id']} prints its code)" in out
    ip.run_line_magic("cash", f"code {run['id']}")
    assert capsys.readouterr().out == trial["code"] + "\n" and "cash_model = Pipeline(" in trial["code"]
    assert len(ip.user_ns["cash_model"].predict(houses.head(2))) == 2


def test_the_cell_body_is_kept_as_notes(ip, houses):
    ip.user_ns["df"] = houses
    ip.run_cell_magic("cash", "df target=price --auto", "prices are in euros\nI care about big houses\n")
    assert History.from_environment().runs()[0]["notes"] == "prices are in euros\nI care about big houses"


def test_the_line_form_and_options(ip, churn, capsys):
    ip.user_ns["frames"] = SimpleNamespace(churn=churn)
    ip.run_line_magic("cash", "frames.churn target=churned metric=accuracy cv=3 seed=4 n=2 strategy=defaults")
    out = capsys.readouterr().out
    assert "metric accuracy" in out and "over 3 folds" in out
    [run] = History.from_environment().runs()
    assert run["options"]["seed"] == 4 and len(run["recommendations"]) == 2
    assert "StratifiedKFold(n_splits=3, shuffle=True, random_state=4)" in run["trials"][0]["code"]


def test_dropped_target_rows_and_reduced_folds_are_noted(ip, capsys):
    df = pd.DataFrame({"x": np.arange(40) % 9, "y": ["a"] * 34 + ["b"] * 3 + [None] * 3})
    ip.user_ns["df"] = df
    ip.run_line_magic("cash", "df target=y")
    out = capsys.readouterr().out
    assert "dropped 3 rows whose target 'y' is missing" in out
    assert "cv=5 reduced to 3: the smallest class has only 3 rows" in out


def test_dry_run_stores_and_runs_nothing(ip, houses, capsys):
    ip.user_ns["df"] = houses
    ip.run_line_magic("cash", "df target=price --dry-run")
    assert "dry run: strategy offline sends nothing" in capsys.readouterr().out
    assert History.from_environment().runs() == [] and ip.rl_next_input is None and "cash_model" not in ip.user_ns


def test_a_training_failure_is_one_line_and_recorded(ip, capsys):
    df = pd.DataFrame({"x": np.arange(30) % 5, "y": np.linspace(0, 1, 30)})
    ip.user_ns["df"] = df
    ip.run_cell("%cash df target=y")
    ip.user_ns["df"] = "gone"  # the code the magic generated refers to df by name
    trial = History.from_environment().runs()[0]["trials"][0]
    from llm_cash_magic.pipeline import execute

    error = execute(trial["code"], ip.user_ns, History.from_environment(), trial["id"])
    assert error.startswith("TypeError") and "\n" not in error
    assert History.from_environment().trial(trial["id"])["status"] == "failed"


BAD_LINES = [
    ("", "missing the DataFrame's name"),
    ("target=price", "missing the DataFrame's name"),
    ("df", "missing target=<column>"),
    ("dff target=price", "name 'dff' is not defined in the notebook; did you mean 'df'?"),
    ("number target=price", "'number' is a int, not a pandas or Dask DataFrame"),
    ("df target=prize", "target column 'prize' is not in the DataFrame; did you mean 'price'?"),
    ("df target=price colour=red", "unknown option 'colour'; allowed: target, task, metric"),
    ("df target=price --fast", "unknown flag '--fast'; allowed: --auto, --blend"),
    ("df target=price cv=1", "cv='1' must be an integer from 2 to 20"),
    ("df target=price n=0", "n='0' must be an integer from 1 to 20"),
    ("df target=price seed=x", "seed='x' must be an integer"),
    ("df target=price task=foo", "task='foo' is not a task; use one of: binary, multiclass, regression"),
    ("df target=price metric=auc", "metric='auc' is not a metric; use one of: roc_auc"),
    ("df target=price metric=roc_auc", "metric='roc_auc' is not available for regression tasks; use one of: rmse"),
    ("df target=price strategy=magic", "strategy='magic' is not a strategy; use one of: auto, zero-shot"),
    ("df target=price extra", "unexpected 'extra'"),
    ('df target="price', "could not read the options"),
]


@pytest.mark.parametrize("line, message", BAD_LINES)
def test_bad_options_get_one_line_and_store_nothing(ip, houses, line, message):
    ip.user_ns.update(df=houses, number=3)
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("cash", line, "notes")
    assert message in str(info.value) and "\n" not in str(info.value)
    assert History.from_environment().runs() == []


BAD_FRAMES = [
    (pd.DataFrame(columns=["x", "price"]), "the DataFrame is empty"),
    (pd.DataFrame({"price": [1.0, 2.0]}), "has only the target column"),
    (pd.DataFrame([[1, 2, 3]], columns=["x", "x", "price"]), "duplicate column names: 'x'"),
    (pd.DataFrame({0: [1, 2], "price": [1, 2]}), "column names must be strings"),
    (pd.DataFrame({"x": [1, 2], "price": [np.nan, np.nan]}), "target 'price' has no values"),
    (pd.DataFrame({"x": [1, 2, 3], "price": [4, 4, 4]}), "target 'price' is constant"),
    (pd.DataFrame({"x": range(5), "price": ["a", "a", "b", "b", "c"]}), "class 'c' of target 'price' has a single row"),
]


@pytest.mark.parametrize("df, message", BAD_FRAMES)
def test_bad_frames_get_one_line_and_store_nothing(ip, df, message):
    ip.user_ns["df"] = df
    with pytest.raises(UsageError, match=message):
        ip.run_line_magic("cash", "df target=price")
    assert History.from_environment().runs() == []


def test_in_a_notebook_a_usage_error_shows_no_traceback(ip, houses, capsys):
    ip.user_ns["df"] = houses
    result = ip.run_cell("%%cash df target=prize")
    captured = capsys.readouterr()
    assert isinstance(result.error_in_exec, UsageError)
    assert "Traceback" not in captured.out + captured.err
    assert "UsageError: target column 'prize' is not in the DataFrame" in captured.err


class TestSubcommands:
    def train(self, ip, df):
        ip.user_ns["df"] = df
        ip.run_line_magic("cash", "df target=price strategy=defaults")  # small data: linear first

    def test_history_table_and_json(self, ip, houses, capsys):
        self.train(ip, houses)
        capsys.readouterr()
        ip.run_line_magic("cash", "history  # what ran so far")
        table = capsys.readouterr().out
        run_id = History.from_environment().runs()[0]["id"]
        assert run_id in table and "Linear" in table and "llm_cash_magic history (1 run)" in table
        ip.run_line_magic("cash", "history --json")
        assert json.loads(capsys.readouterr().out)[0]["id"] == run_id

    def test_history_lists_what_a_run_trained_not_a_better_reference(self, ip, houses, history, capsys):
        import llm_cash_magic as cash

        run_id = history.start_run(cash.profile(houses, "price"), data_name="df", n_columns=4, strategy="offline")
        trial = history.add_trial(run_id, family="linear", source="offline", recommended={}, params={})
        history.finish_trial(trial, family="linear", params={}, scores=[9.87654], fit_seconds=1)
        history.record_reference(run_id, "lightgbm", [1.23456], params={})  # LightGBM's defaults did better
        ip.run_line_magic("cash", "history")
        row = next(line for line in capsys.readouterr().out.splitlines() if run_id in line)
        assert "Linear" in row and "9.8765" in row and "1.2346" not in row and "LightGBM" not in row

    def test_forget_one_and_all(self, ip, houses, capsys):
        self.train(ip, houses)
        self.train(ip, houses)
        first = History.from_environment().runs()[-1]["id"]
        ip.run_line_magic("cash", f"forget {first[:6]}")
        assert f"forgot run {first}\n" in capsys.readouterr().out  # the whole id, though a prefix was given
        assert len(History.from_environment().runs()) == 1
        ip.run_line_magic("cash", "forget --all")
        assert History.from_environment().runs() == []
        with pytest.raises(UsageError, match="usage: %cash forget <run-id> | %cash forget --all"):
            ip.run_line_magic("cash", "forget")

    def test_export(self, ip, houses, tmp_path, capsys):
        self.train(ip, houses)
        path = tmp_path / "out.jsonl"
        ip.run_line_magic("cash", f"export {path}")
        assert f"exported 1 run to {path}" in capsys.readouterr().out
        assert json.loads(path.read_text())["data_name"] == "df"

    @pytest.mark.parametrize(
        "where, message", [("nowhere/x.jsonl", "No such file or directory"), (".", "Is a directory")]
    )
    def test_export_where_nothing_can_be_written(self, ip, tmp_path, where, message):
        with pytest.raises(UsageError, match=f"cannot write .*: {message}"):
            ip.run_line_magic("cash", f"export {tmp_path / where}")

    def test_a_home_that_cannot_be_opened(self, ip, home, houses):
        home.parent.mkdir(exist_ok=True)
        home.write_text("not a folder")
        ip.user_ns["df"] = houses
        for line in ("history", "df target=price strategy=defaults"):
            with pytest.raises(UsageError, match="cannot open the history .* set \\$LLM_CASH_HOME"):
                ip.run_line_magic("cash", line)

    def test_config_shows_where_the_history_lives(self, ip, home, capsys):
        ip.run_line_magic("cash", "config")
        assert str(home / "history.sqlite") in capsys.readouterr().out

    def test_unknown_history_argument(self, ip):
        with pytest.raises(UsageError, match="unknown argument '--csv' for %cash history"):
            ip.run_line_magic("cash", "history --csv")


def test_a_dataframe_named_like_a_subcommand_still_works(ip, houses):
    ip.user_ns["history"] = houses
    ip.run_line_magic("cash", "history target=price")
    assert History.from_environment().runs()[0]["data_name"] == "history"


def test_unloading_removes_the_input_transformer(ip):
    from llm_cash_magic.frontends.magic import _run_lone_cell_magic_as_line

    assert _run_lone_cell_magic_as_line in ip.input_transformers_cleanup
    ip.run_line_magic("unload_ext", "llm_cash_magic")
    assert _run_lone_cell_magic_as_line not in ip.input_transformers_cleanup
    ip.run_line_magic("load_ext", "llm_cash_magic")


def test_a_damaged_history_is_moved_aside_and_the_run_goes_on(ip, houses, capsys):
    ip.user_ns["df"] = houses
    for _ in range(8):
        ip.run_line_magic("cash", "df target=price strategy=defaults n=1 cv=2")
    path = History.from_environment().path
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(path, "r+b") as fh:
        fh.seek(4096)
        fh.write(b"\xab" * 8192)
    with pytest.warns(UserWarning, match="malformed"):
        ip.run_line_magic("cash", "history")
    ip.run_line_magic("cash", "df target=price strategy=defaults n=1 cv=2")
    assert len(History.from_environment().runs()) == 1


def test_the_code_never_overwrites_the_users_variables(ip, houses):
    ip.user_ns.update(train=houses, X="my X", model="my model", folds=3)
    ip.run_line_magic("cash", "train target=price strategy=defaults n=1 cv=3 --auto")
    assert ip.user_ns["train"] is houses and ip.user_ns["folds"] == 3
    assert (ip.user_ns["X"], ip.user_ns["model"]) == ("my X", "my model")
    assert History.from_environment().runs()[0]["trials"][0]["status"] == "done"


def test_a_trailing_comment_is_ignored(ip, houses):
    ip.user_ns["df"] = houses
    result = ip.run_cell("%%cash df target=price strategy=defaults n=1 cv=2  # don't forget: prices in euros")
    assert result.success, result.error_in_exec
    assert History.from_environment().runs()[0]["options"]["cv"] == 2


def test_infinite_targets_are_said_to_be_infinite(ip, capsys):
    df = pd.DataFrame({"x": np.arange(40) % 9, "y": np.r_[np.linspace(0, 1, 36), [np.inf, -np.inf, np.nan, np.inf]]})
    ip.user_ns["df"] = df
    ip.run_line_magic("cash", "df target=y strategy=defaults n=1 cv=2")
    assert "dropped 4 rows whose target 'y' is missing (1) or infinite (3)" in capsys.readouterr().out


def test_the_usage_line_lists_every_option(ip):
    with pytest.raises(UsageError, match=r"\[refine=…\] \[--auto\] \[--blend\] \[--dry-run\] \[--fresh\]"):
        ip.run_line_magic("cash", "df")


@pytest.mark.parametrize(
    "line, problem",
    [
        ("refine abc ²", "usage: %cash refine <run-id> [trials or a time such as 5m, default 10 trials]"),
        ("df target=price n=²", "n='²' must be an integer from 1 to 20"),
        ("df target=price refine=5x", "refine='5x' must be an integer from 0 to 10000 trials, or a time such as 90s"),
        ("df target=price refine=0.5s", "refine='0.5s': a time budget runs from 1s to 168h"),
        ("df target=price " + "x" * 200_000, "the line has 200,016 characters; its options fit in far fewer"),
        (
            "df target=price " + "y" * 5_000,
            "unexpected 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy…': options are key=value",
        ),
    ],
)
def test_odd_lines_get_one_short_line(ip, houses, line, problem):
    ip.user_ns["df"] = houses
    with pytest.raises(UsageError) as error:
        ip.run_line_magic("cash", line)
    assert problem in str(error.value) and len(str(error.value)) < 400


def test_braces_and_dollars_in_a_line_are_not_expanded(ip, houses):
    ip.user_ns["df"] = houses.rename(columns={"price": "price{x}$y"})
    ip.user_ns["x"], ip.user_ns["y"] = "BAD", "BAD"
    ip.run_line_magic("cash", "df target=price{x}$y --dry-run")  # the column's name, as typed


def odd_frames():
    rng = np.random.default_rng(3)
    n = 300
    x = rng.normal(size=n)
    yield "tuples and ints", pd.DataFrame({"mix": [(1, 2) if i % 2 else i for i in range(n)], "x": x, "y": x + 1})
    yield "numpy str names", pd.DataFrame({np.str_("a"): x, np.str_("b"): rng.normal(size=n), np.str_("y"): 2 * x})
    yield "huge feature values", pd.DataFrame({"big": x * 1e300, "x": x, "y": x})
    yield "heavy tail for rmsle", pd.DataFrame({"x": x, "y": np.exp(3 * x + rng.normal(size=n))})


@pytest.mark.parametrize("name, df", list(odd_frames()), ids=[name for name, _ in odd_frames()])
@pytest.mark.parametrize("strategy", ["defaults", "offline"])
def test_odd_frames_train(ip, name, df, strategy, capsys):
    ip.user_ns["df"] = df
    metric = " metric=rmsle" if "rmsle" in name else ""
    ip.run_line_magic("cash", f"df target=y cv=3 strategy={strategy} --auto{metric}")
    assert "training failed" not in capsys.readouterr().out
    [run] = History.from_environment().runs()
    assert [t["status"] for t in run["trials"] if t["source"] != "reference"] == ["done"]


@pytest.mark.parametrize(
    "y, problem",
    [(np.arange(60) * (1 + 1j), "holds complex numbers"), (np.tile([1e308, -1e308, 1.0], 20), "rescale it first")],
)
def test_targets_no_model_learns_are_refused_up_front(ip, y, problem):
    ip.user_ns["df"] = pd.DataFrame({"x": np.arange(60) % 7, "y": y})
    with pytest.raises(UsageError, match=problem):
        ip.run_line_magic("cash", "df target=y --auto")
    assert History.from_environment().runs() == []


@pytest.mark.parametrize("columns", [80, 100])
def test_terminal_output_fits_the_terminal_width(ip, houses, capsys, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    ip.user_ns["df"] = houses
    ip.run_line_magic("cash", "df target=price strategy=offline n=3 --auto")
    ip.run_line_magic("cash", "df target=price refine=2")
    ip.run_line_magic("cash", "history")
    lines = capsys.readouterr().out.splitlines()
    assert any("Recommendations" in line for line in lines) and any("history (2 runs)" in line for line in lines)
    assert any("refine" in line.lower() for line in lines)
    too_wide = [line for line in lines if len(line) > columns]
    assert not too_wide, too_wide
    assert all(run["id"] in "\n".join(lines) for run in History.from_environment().runs())  # ids unbroken


def test_a_long_training_is_announced_from_lightgbm_defaults_time_on_the_same_folds(houses):
    import dataclasses

    import llm_cash_magic as cash
    from llm_cash_magic.frontends.terminal import duration, expected_line
    from llm_cash_magic.recommenders import Recommendation

    slow = Recommendation("catboost", {}, "test", "offline", time_factor=12.0)
    refs = {"lightgbm": {"fit_seconds": 4.0, "cv_scores": [0.9] * 5}}
    assert expected_line(slow, refs) == (  # 5 folds, then a fit on all rows: about a fold's time × 5/4
        "expected to take about 60 s: 48 s to validate, 12× what LightGBM's defaults took (4.0 s) "
        "as on similar tasks, then the final fit on every row"
    )
    one_split = {"lightgbm": {"fit_seconds": 4.0, "cv_scores": [0.9]}}  # 80 % of the rows, then all of them
    assert expected_line(slow, one_split).startswith("expected to take about 2 min: 48 s to validate")
    assert expected_line(Recommendation("catboost", {}, "test", "offline", time_factor=1.6), refs) is None  # 8 s
    assert expected_line(Recommendation("catboost", {}, "test", "llm:x"), refs) is None  # no time factor
    assert expected_line(slow, {}) is None  # no reference measured
    assert [duration(s) for s in (8.46, 45.2, 720, 5400)] == ["8.5 s", "45 s", "12 min", "1.5 h"]

    big = dataclasses.replace(cash.profile(houses, "price"), n_rows=2_000_000)
    long = dataclasses.replace(slow, time_factor=100.0)  # 500 s on 2,000,000 rows: a sample is offered
    assert expected_line(long, refs, big, "trips").endswith(
        "; to try 50,000 rows first, interrupt and run `cash_sample = trips.sample(50000, random_state=0)`, "
        "then this %%cash line with cash_sample for trips"
    )
    assert "sample" not in expected_line(slow, refs, big, "trips")  # 48 s: worth the wait
    assert "sample" not in expected_line(long, refs, cash.profile(houses, "price"), "trips")  # 300 rows


def test_ctrl_c_while_the_references_are_measured_is_one_line_and_an_interrupted_trial(ip, houses, capsys, monkeypatch):
    from llm_cash_magic.run import references

    def interrupted(*args, **kwargs):  # Ctrl-C during LightGBM's folds, before the training
        raise KeyboardInterrupt

    monkeypatch.setattr(references, "measure", interrupted)
    ip.user_ns["df"] = houses
    with pytest.raises(UsageError, match="interrupted while measuring the references: nothing was trained"):
        ip.run_line_magic("cash", "df target=price strategy=offline n=2 --auto --no-race")  # IPython: one line
    out = capsys.readouterr().out
    assert (
        "measuring LightGBM's defaults and the trivial predictor on the same 5 folds first (once for df)" in out
    )  # said before the wait
    [run] = History.from_environment().runs()
    [trial] = History.from_environment().run(run["id"])["trials"]
    assert trial["status"] == "failed" and trial["error"] == "interrupted"  # not left pending


def test_the_magic_says_how_long_training_should_take(ip, houses, capsys, monkeypatch):
    from llm_cash_magic.frontends import terminal

    monkeypatch.setattr(terminal, "SAY_EXPECTED_FROM", 0.0)  # announce even this small table's training
    ip.user_ns["df"] = houses
    ip.run_line_magic("cash", "df target=price strategy=offline n=3 --auto --no-race")
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("expected to take about "))
    assert "× what LightGBM's defaults took (" in line and line.endswith("then the final fit on every row")
    assert out.index(line) < out.index("rmse: ")  # said before the training's own output
