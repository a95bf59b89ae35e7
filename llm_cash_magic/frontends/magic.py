"""``%%cash`` / ``%cash``: parse the line, find the DataFrame, run the pipeline, show the result.

In a Jupyter kernel a run shows the panel (``panel``); with ``--auto``, ``--blend``, ``--dry-run``,
``refine=`` or in terminal IPython it prints rich tables and trains in a new cell below the winner of a
race of the top recommendations on the data (``run.race``; with ``refine=``, the best trial; with
``--blend``, a blend of all). No business logic lives here: the steps are in ``pipeline``, the views in
``terminal`` and ``panel``. Every CashError becomes an IPython UsageError, which notebooks show as one
line without a traceback.
The LLM settings are traitlets: ``%config CashMagics.model = "…"`` or ``c.CashMagics.model``
in ``ipython_config.py``; unset ones fall back to the environment (see ``recommenders.llm.settings``).
"""

from __future__ import annotations

import difflib
import json
import re

import pandas as pd
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from traitlets import Bool, Float, Int, TraitError, Unicode, validate

from .. import pipeline
from ..errors import CashError, Interrupted
from ..recommenders import LLM_STRATEGIES, Recommendation, offline, resolve_auto
from ..recommenders.llm.settings import DEFAULT_MODEL, LLMSettings
from ..record import History
from ..run import bridge
from ..space import family
from ..text import fit_width, plural
from . import panel, terminal
from .options import parse, refine_budget, split_line

SUBCOMMANDS = ("history", "forget", "export", "config", "refine", "code")
_DEFAULTS = LLMSettings()
_LLM_TRAITS = (
    "model",
    "base_url",
    "api_key_env",
    "temperature",
    "seed",
    "timeout",
    "deadline",
    "max_retries",
    "k",
    "n",
    "send_column_names",
    "stream",
)
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@magics_class
class CashMagics(Magics):
    """Recommend a model and hyperparameters for a DataFrame, then train it in a new cell."""

    model = Unicode(
        None, allow_none=True, help=(f"Model name at the endpoint. Unset: $LLM_CASH_MODEL, else {DEFAULT_MODEL}.")
    ).tag(config=True)
    base_url = Unicode(
        None,
        allow_none=True,
        help=(
            "OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 (Ollama). Unset: $OPENAI_BASE_URL, else OpenAI."
        ),
    ).tag(config=True)
    api_key_env = Unicode(
        _DEFAULTS.api_key_env,
        help=("Name of the environment variable holding the API key; the key itself is never configured here."),
    ).tag(config=True)
    temperature = Float(
        _DEFAULTS.temperature,
        allow_none=True,
        min=0.0,
        max=2.0,
        help=("Sampling temperature; None sends none (reasoning models accept only their own)."),
    ).tag(config=True)
    seed = Int(_DEFAULTS.seed, allow_none=True, min=0, help="Sampling seed; None sends none.").tag(config=True)
    timeout = Float(
        _DEFAULTS.timeout, min=0.1, help=("Seconds to wait for the connection and for each piece of the answer.")
    ).tag(config=True)
    deadline = Float(
        _DEFAULTS.deadline,
        min=1.0,
        help="Seconds for the whole answer, however steadily it streams; then the offline recommender fills in.",
    ).tag(config=True)
    max_retries = Int(
        _DEFAULTS.max_retries, min=0, max=10, help=("Retries with backoff on connection errors, 429 and 5xx.")
    ).tag(config=True)
    k = Int(_DEFAULTS.k, min=0, max=50, help="Similar past tasks shown to meta-informed prompts.").tag(config=True)
    n = Int(_DEFAULTS.n, min=1, max=20, help="Recommendations when the %%cash line has no n=.").tag(config=True)
    send_column_names = Bool(
        _DEFAULTS.send_column_names, help=("Send column names to the LLM (off: the prompt has aggregate numbers only).")
    ).tag(config=True)
    stream = Bool(
        _DEFAULTS.stream, help="Stream the answer so each recommendation shows as soon as its line is in."
    ).tag(config=True)

    @validate("api_key_env")
    def _a_variable_name(self, proposal):
        """A key pasted here is refused, in a line that does not repeat it."""
        if not _VARIABLE_NAME.fullmatch(proposal.value):
            raise TraitError(
                "CashMagics.api_key_env takes the name of the environment variable that holds the key "
                "(like OPENAI_API_KEY), never the key itself; refused, the setting is unchanged"
            )
        return proposal.value

    def llm_settings(self) -> LLMSettings:
        """The effective LLM settings: these traits, else the environment, else the defaults."""
        return LLMSettings.resolve(**{name: getattr(self, name) for name in _LLM_TRAITS})

    @no_var_expand  # a line is options, never a template: {…} and $… stay as typed, and long lines stay fast
    @line_cell_magic
    def cash(self, line: str, cell: str | None = None):
        """%%cash <dataframe> target=<column> [task=…] [metric=…] [strategy=…] [n=…] [cv=…] [seed=…]
        [--auto] [--blend] [--dry-run] [--no-race]

        The cell body (optional) is free-text notes for the recommender. Line form: the same
        options, or a subcommand: history [--json], forget <run-id>|--all, export [file.jsonl], config.
        """
        try:
            words = split_line(line)
            if words and words[0] in SUBCOMMANDS and not any(w.startswith("target=") for w in words):
                return self._subcommand(words[0], words[1:])
            self._run(line, cell or "")
        except CashError as exc:
            raise UsageError(str(exc)) from None

    # ---- a run ------------------------------------------------------------------------------
    def _run(self, line: str, notes: str) -> None:
        settings = self.llm_settings()
        options = parse(line, n=settings.n)
        df = self._dataframe(options.data)
        history = History.from_environment()
        plan = pipeline.plan(df, options, settings, history, notify=say)
        notes = notes.strip()
        if (
            any(options.flag(f) for f in ("auto", "blend", "dry-run"))
            or options.refine
            or options.refine_seconds
            or not panel.has_widget_frontend(self.shell)
        ):
            self._run_top(df, plan, notes, history, settings)
        else:
            panel.show_panel(
                plan,
                notes,
                history,
                self.shell.user_ns,
                data=df,  # its Refine button searches on it
                cell=bridge.cell_id(self.shell),
                prepare_blend=pipeline.prepare_blend_trial if plan.can_blend else None,
            )

    def _run_top(
        self, df: pd.DataFrame, plan: pipeline.Plan, notes: str, history: History, settings: LLMSettings
    ) -> None:
        """Without the panel: rich tables, then the race's winner (or the best refinement, or the
        blend) trained in a new cell below."""
        options = plan.options
        terminal.show(terminal.profile_summary(plan.profile, options.data, plan.notes))
        if plan.banner:
            say(plan.banner)
        if options.flag("dry-run") and plan.strategy in LLM_STRATEGIES:
            print(
                terminal.messages_text(
                    plan.recommender.messages(plan.profile, options.n, pipeline.recommender_notes(plan, notes))
                )
            )
            say(
                f"dry run: the exact messages strategy {plan.strategy} would send to {settings.host}; "
                "nothing was sent, stored or run"
            )
            return
        recs = []
        try:
            for rec in pipeline.recommend(plan, notes):
                recs.append(rec)
        except Interrupted as stop:
            if not recs:
                raise
            terminal.show(terminal.recommendations_table(recs, plan.profile.task))
            run_id = pipeline.start_run(history, plan, recs, notes)
            say(f"{stop}; run {run_id} keeps them, and nothing was trained")
            return
        if options.flag("blend") and len(recs) < 2:
            raise CashError(f"--blend needs 2 or more recommendations; the {plan.strategy} recommender gave 1")
        terminal.show(terminal.recommendations_table(recs, plan.profile.task))
        if options.flag("dry-run"):
            say(f"dry run: strategy {plan.strategy} sends nothing; nothing was stored or run")
            return
        run_id = pipeline.start_run(history, plan, recs, notes)
        if options.flag("blend"):
            trial_id, code = pipeline.prepare_blend_trial(history, run_id, plan, recs)
            what = f"a blend of all {len(recs)}, weighted by ensemble selection"
            self._execute(df, plan, history, run_id, trial_id, code, what)
            return
        chosen = recs[0]
        if options.refine or options.refine_seconds:
            chosen = self._refine(df, plan, recs, history, run_id, options.refine, options.refine_seconds)
        elif plan.dask and len(recs) > 1 and not options.flag("no-race"):
            say("no race on a Dask DataFrame (each lap would be a training on the cluster): training #1")
        elif len(recs) > 1 and not options.flag("no-race"):
            try:
                chosen = self._race(df, plan, recs, history, run_id)
            except Interrupted as stop:
                say(f"{stop}; run {run_id} keeps the recommendations, and nothing was trained")
                return
        self._train(df, history, run_id, plan, chosen)

    def _race(
        self, df, plan: pipeline.Plan, recs: list[Recommendation], history: History, run_id: str
    ) -> Recommendation:
        """The top few race on a held-out third of the data; the winner is trained (``run.race``)."""
        metric = plan.profile.metric
        say("racing the top recommendations on a held-out third of the rows (--no-race trains #1 directly)")
        chosen, laps = pipeline.race(
            df, plan, recs, lambda lap: say(terminal.lap_line(lap, recs, metric)), history=history, run_id=run_id
        )
        say(terminal.race_outcome(chosen, recs, laps))
        return chosen

    def _train(self, df, history: History, run_id: str, plan: pipeline.Plan, rec: Recommendation) -> None:
        trial_id, code = pipeline.prepare_trial(history, run_id, plan, rec)
        what = f"{family(rec.family).label} ({rec.source})"
        self._execute(df, plan, history, run_id, trial_id, code, what, rec)

    def _execute(
        self,
        df,
        plan: pipeline.Plan,
        history: History,
        run_id: str,
        trial_id: str,
        code: str,
        what: str,
        rec: Recommendation | None = None,
    ) -> None:
        """The code to a new cell below, run there (or here); the references it is compared with
        are measured first (once per dataset), so that the cell's own output names them, and so
        that a long training can be announced from LightGBM's time on the same folds."""

        said = False

        def measuring(name: str) -> None:  # a wait before training, minutes on large data: say why, once
            nonlocal said
            if not said:
                said = True
                where = "held-out split" if plan.large or plan.dask else f"{plan.cv} folds"
                what = "LightGBM's defaults" if plan.dask else "LightGBM's defaults and the trivial predictor"
                say(f"measuring {what} on the same {where} first (once for {plan.options.data})")

        refs = pipeline.references(history, plan, df, run_id, on_measure=measuring, trial_id=trial_id)
        expected = terminal.expected_line(rec, refs, plan.profile, plan.options.data) if rec else None
        if expected:
            say(expected)
        if bridge.run_in_frontend(self.shell, code, below=bridge.cell_id(self.shell)):
            say(f"run {run_id}: training {what} in the new cell below")
            return
        if panel.has_widget_frontend(self.shell):
            self.shell.set_next_input(code, replace=False)
            say(f"run {run_id}: training {what}; its code is in the new cell below")
        else:  # a terminal: a prompt filled with code that already ran invites running it twice
            say(f"run {run_id}: training {what} (%cash code {run_id} prints its code)")
        error = pipeline.execute(code, self.shell.user_ns, history, trial_id)
        if error:
            where = "the cell below" if panel.has_widget_frontend(self.shell) else f"%cash code {run_id}"
            say(f"training failed: {error} (run {where} to see the full traceback)")

    def _refine(
        self,
        df,
        plan: pipeline.Plan,
        recs: list[Recommendation],
        history: History,
        run_id: str,
        n_trials: int,
        seconds: float = 0.0,
    ) -> Recommendation:
        """A refinement of ``n_trials`` trials, or of ``seconds`` (then as many trials as fit); on a
        large frame it searches a sample of it (``pipeline.search_data``)."""
        data, searched, search_run = pipeline.search_data(df, plan, history, recs, run_id)
        if search_run != run_id:
            say(
                f"refining on a {len(data):,}-row sample of {plan.options.data} (run {search_run}); "
                f"the best then trains on all {plan.profile.n_rows:,} rows"
            )
        metric = plan.profile.metric
        with terminal.RefineProgress(n_trials or None, metric, searched.cv, seconds or None) as progress:
            result = pipeline.refine(
                data,
                searched,
                recs,
                n_trials or None,
                history=history,
                run_id=search_run,
                timeout=seconds or None,
                on_trial=progress.update,
                on_fold=progress.fold,
            )
        terminal.show(terminal.refine_table(result, metric))
        if result.interrupted:
            say(
                f"refinement interrupted: the {len(result.trials)} finished trials are kept; "
                f"resume with %cash refine {run_id} <trials or a time such as 5m>"
            )
        return pipeline.refined_recommendation(result, plan)

    def _dataframe(self, name: str) -> pd.DataFrame:
        head, *attrs = name.split(".")
        ns = self.shell.user_ns
        if head not in ns:
            frames = [k for k, v in ns.items() if _is_frame(v) and not k.startswith("_")]
            close = difflib.get_close_matches(head, frames, n=3)
            hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise CashError(f"name {head!r} is not defined in the notebook{hint}")
        value = ns[head]
        for attr in attrs:
            if not hasattr(value, attr):
                raise CashError(f"{name!r}: {type(value).__name__} has no attribute {attr!r}")
            value = getattr(value, attr)
        if not _is_frame(value):
            raise CashError(f"{name!r} is a {type(value).__name__}, not a pandas or Dask DataFrame")
        return value

    # ---- subcommands ------------------------------------------------------------------------
    def _subcommand(self, name: str, args: list[str]) -> None:
        history = History.from_environment()
        if name == "history":
            unknown = [a for a in args if a != "--json"]
            if unknown:
                raise CashError(f"unknown argument {unknown[0]!r} for %cash history; allowed: --json")
            runs = history.runs()
            if "--json" in args:
                print(json.dumps(runs, indent=2, sort_keys=True))
            else:
                terminal.show(terminal.history_table(runs))
        elif name == "forget":
            if args == ["--all"]:
                say(f"forgot {plural(history.forget_all(), 'run')}")
            elif len(args) == 1 and not args[0].startswith("-"):
                say(f"forgot run {history.forget(args[0])}")
            else:
                raise CashError("usage: %cash forget <run-id> | %cash forget --all")
        elif name == "refine":
            self._resume_refinement(args, history)
        elif name == "code":
            if len(args) > 1:
                raise CashError("usage: %cash code [run-id] (default: the newest run)")
            print(self._code(history, args[0] if args else None))
        elif name == "export":
            if len(args) > 1:
                raise CashError("usage: %cash export [file.jsonl]")
            path = args[0] if args else "cash_history.jsonl"
            say(f"exported {plural(history.export_jsonl(path), 'run')} to {path}")
        else:  # config
            if args:
                raise CashError("usage: %cash config (change settings with %config CashMagics.<name> = …)")
            settings = self.llm_settings()
            say(f"history: {history.path}")
            if settings.configured:
                say(
                    f"strategy auto → {settings.model} at {settings.host}: meta-informed when the history has "
                    "similar past tasks, else zero-shot"
                )
            else:
                say(resolve_auto(settings)[1])
            say("\n".join(settings.describe()))
            kb = offline.load()
            held = f"{plural(kb.n_tasks, 'task')} in {plural(len(kb.tasks), 'entry', 'entries')}"
            say(f"knowledge base: {kb.path} (version {kb.version}, {held})")
            say(
                "change with %config CashMagics.<name> = … (or c.CashMagics.<name> in ipython_config.py); "
                "%config CashMagics lists every setting"
            )

    @staticmethod
    def _code(history: History, run_id: str | None) -> str:
        """The code of a run's newest trained trial (the newest run's by default)."""
        runs = [history.run(history.resolve(run_id))] if run_id else history.runs(limit=1)
        trials = [t for run in runs for t in run["trials"] if t["code"]]
        if not trials:
            raise CashError("no trained trial there yet; see %cash history")
        return trials[-1]["code"]

    def _resume_refinement(self, args: list[str], history: History) -> None:
        """``%cash refine <run-id> [trials or time]``: continue a run's study on the same, unchanged data."""
        usage = CashError("usage: %cash refine <run-id> [trials or a time such as 5m, default 10 trials]")
        if not 1 <= len(args) <= 2:
            raise usage
        try:
            n_trials, seconds = refine_budget(args[1]) if len(args) == 2 else (10, 0.0)
        except CashError:
            raise usage from None
        if not (n_trials or seconds):
            raise usage
        run = history.run(history.resolve(args[0]))
        if run["options"].get("sample_of"):  # a large frame's sample: its refinement trains for the frame's run
            run = history.run(run["options"]["sample_of"])
        df = self._dataframe(run["data_name"])
        plan, recs = pipeline.replan(df, run, history)
        refined = self._refine(df, plan, recs, history, run["id"], n_trials, seconds)
        self._train(df, history, run["id"], plan, refined)


def say(text: str) -> None:
    """Prose for the user, wrapped to the terminal's width (data, code and prompts print verbatim)."""
    print(fit_width(text))


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


def _is_frame(value) -> bool:
    """Whether ``value`` is data ``%%cash`` takes: a pandas DataFrame, or a Dask one."""
    return isinstance(value, pd.DataFrame) or pipeline.is_dask_frame(value)
