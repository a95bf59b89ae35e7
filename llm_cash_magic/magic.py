"""``%%cash`` / ``%cash``: parse the line, find the DataFrame, run the pipeline, show the result.

No business logic lives here: the steps are in ``pipeline``, the views in ``render``. Every
CashError becomes an IPython UsageError, which notebooks show as one line without a traceback.
"""

from __future__ import annotations

import difflib
import json
import shlex

import pandas as pd
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from . import bridge, pipeline, render
from .errors import CashError
from .history import History
from .options import parse
from .recommenders import Recommendation
from .space import family

SUBCOMMANDS = ("history", "forget", "export", "config", "refine")


@magics_class
class CashMagics(Magics):
    """Recommend a model and hyperparameters for a DataFrame, then train it in a new cell."""

    @line_cell_magic
    def cash(self, line: str, cell: str | None = None):
        """%%cash <dataframe> target=<column> [task=…] [metric=…] [strategy=…] [n=…] [cv=…] [seed=…]
        [--auto] [--dry-run]

        The cell body (optional) is free-text notes for the recommender. Line form: the same
        options, or a subcommand: history [--json], forget <run-id>|--all, export [file.jsonl], config.
        """
        try:
            words = line.split()
            if words and words[0] in SUBCOMMANDS and not any(w.startswith("target=") for w in words):
                return self._subcommand(words[0], line.split(None, 1)[1] if len(words) > 1 else "")
            self._run(line, cell or "")
        except CashError as exc:
            raise UsageError(str(exc)) from None

    # ---- a run ------------------------------------------------------------------------------
    def _run(self, line: str, notes: str) -> None:
        options = parse(line)
        df = self._dataframe(options.data)
        plan = pipeline.plan(df, options)
        render.show(render.profile_summary(plan.profile, options.data, plan.notes))
        if plan.banner:
            print(plan.banner)
        recs = list(plan.recommender.recommend(plan.profile, n=options.n, notes=notes.strip()))
        if not recs:
            raise CashError(f"the {plan.strategy} recommender returned no recommendation")
        render.show(render.recommendations_table(recs, plan.profile.task))
        if options.flag("dry-run"):
            print(f"dry run: strategy {plan.strategy} sends nothing; nothing was stored or run")
            return
        history = History()
        run_id = pipeline.start_run(history, plan, recs, notes.strip())
        chosen = recs[0]
        if options.refine:
            chosen = self._refine(df, plan, recs, history, run_id, options.refine)
        self._train(history, run_id, plan, chosen)

    def _train(self, history: History, run_id: str, plan: pipeline.Plan, rec: Recommendation) -> None:
        trial_id, code = pipeline.prepare_trial(history, run_id, plan, rec)
        if bridge.run_in_frontend(self.shell, code, below=bridge.cell_id(self.shell)):
            print(f"run {run_id}: training {family(rec.family).label} ({rec.source}) in the new cell below")
            return
        self.shell.set_next_input(code, replace=False)
        print(f"run {run_id}: training {family(rec.family).label} ({rec.source}); its code is in the new cell below")
        error = pipeline.execute(code, self.shell.user_ns, history, trial_id)
        if error:
            print(f"training failed: {error} (run the cell below to see the full traceback)")

    def _refine(self, df, plan: pipeline.Plan, recs: list[Recommendation], history: History, run_id: str,
                n_trials: int) -> Recommendation:
        from .refine import refine

        with render.RefineProgress(n_trials, plan.profile.metric) as progress:
            result = refine(df, plan.profile, recs, n_trials, history=history, run_id=run_id, cv=plan.cv,
                            seed=plan.options.seed, on_trial=progress.update)
        render.show(render.refine_table(result, plan.profile.metric))
        if result.interrupted:
            print(f"refinement interrupted: the {len(result.trials)} finished trials are kept; "
                  f"resume with %cash refine {run_id} <trials>")
        return pipeline.refined_recommendation(result, plan)

    def _dataframe(self, name: str) -> pd.DataFrame:
        head, *attrs = name.split(".")
        ns = self.shell.user_ns
        if head not in ns:
            frames = [k for k, v in ns.items() if isinstance(v, pd.DataFrame) and not k.startswith("_")]
            close = difflib.get_close_matches(head, frames, n=3)
            hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise CashError(f"name {head!r} is not defined in the notebook{hint}")
        value = ns[head]
        for attr in attrs:
            if not hasattr(value, attr):
                raise CashError(f"{name!r}: {type(value).__name__} has no attribute {attr!r}")
            value = getattr(value, attr)
        if not isinstance(value, pd.DataFrame):
            raise CashError(f"{name!r} is a {type(value).__name__}, not a pandas DataFrame")
        return value

    # ---- subcommands ------------------------------------------------------------------------
    def _subcommand(self, name: str, rest: str) -> None:
        args = shlex.split(rest)
        history = History()
        if name == "history":
            unknown = [a for a in args if a != "--json"]
            if unknown:
                raise CashError(f"unknown argument {unknown[0]!r} for %cash history; allowed: --json")
            runs = history.runs()
            if "--json" in args:
                print(json.dumps(runs, indent=2, sort_keys=True))
            else:
                render.show(render.history_table(runs))
        elif name == "forget":
            if args == ["--all"]:
                print(f"forgot {history.forget_all()} runs")
            elif len(args) == 1 and not args[0].startswith("-"):
                history.forget(args[0])
                print(f"forgot run {args[0]}")
            else:
                raise CashError("usage: %cash forget <run-id> | %cash forget --all")
        elif name == "refine":
            self._resume_refinement(args, history)
        elif name == "export":
            if len(args) > 1:
                raise CashError("usage: %cash export [file.jsonl]")
            path = args[0] if args else "cash_history.jsonl"
            print(f"exported {history.export_jsonl(path)} runs to {path}")
        else:  # config
            print(f"history: {history.path}")
            print("recommender: defaults (library defaults ranked by the data's size and kinds)")


    def _resume_refinement(self, args: list[str], history: History) -> None:
        """``%cash refine <run-id> [trials]``: continue a run's study on the same, unchanged data."""
        if not 1 <= len(args) <= 2 or (len(args) == 2 and not args[1].isdigit()):
            raise CashError("usage: %cash refine <run-id> [trials, default 10]")
        run = history.run(history.resolve(args[0]))
        df = self._dataframe(run["data_name"])
        plan, recs = pipeline.replan(df, run)
        n_trials = int(args[1]) if len(args) == 2 else 10
        self._train(history, run["id"], plan, self._refine(df, plan, recs, history, run["id"], n_trials))


def _run_lone_cell_magic_as_line(lines: list[str]) -> list[str]:
    """IPython refuses a cell magic with an empty body, so run a lone ``%%cash …`` as ``%cash …``."""
    lone = lines and (lines[0].startswith("%%cash ") or lines[0].rstrip() == "%%cash")
    if lone and not "".join(lines[1:]).strip():
        return [lines[0][1:]] + lines[1:]
    return lines


def load_ipython_extension(ip) -> None:
    ip.register_magics(CashMagics)
    bridge.connect()
    if _run_lone_cell_magic_as_line not in ip.input_transformers_cleanup:
        ip.input_transformers_cleanup.append(_run_lone_cell_magic_as_line)


def unload_ipython_extension(ip) -> None:
    bridge.disconnect()
    if _run_lone_cell_magic_as_line in ip.input_transformers_cleanup:
        ip.input_transformers_cleanup.remove(_run_lone_cell_magic_as_line)
