"""The stages of one ``%%cash`` run in order, as plain functions shared by the magic, the panel and
the Python API: the one module that imports every stage.

    profiling → recommenders → space → codegen → run → record
    plan        recommend                trial_code  execute   start_run, the code's own record_result

Nothing here renders or parses user input; failures are CashErrors with one-line messages.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

import pandas as pd

from .codegen import BLEND, as_trained, blend_params, effective_cv, generate_blend_code, generate_code
from .codegen.distributed import dask_families, dask_note, generate_dask_code
from .codegen.training import validation_words
from .errors import CashError, Interrupted
from .profiling import TaskProfile, profile
from .profiling.dask_frames import is_dask_frame, missing_targets, profile_dask
from .recommenders import (
    LLM_STRATEGIES,
    Recommendation,
    Recommender,
    auto_past_tasks,
    get_recommender,
    resolve_auto,
)
from .recommenders.base import Notify, quiet
from .recommenders.llm.settings import LLMSettings
from .record import History, new_run_id
from .run import delivery
from .run.execute import execute as run_code
from .space import Config, validate
from .text import plural

LARGE_ROWS = 2_000_000  # above it, a pandas frame is validated on one held-out split and searched on a sample
SEARCH_ROWS = 200_000  # the sample a large frame's refinement searches on

if TYPE_CHECKING:  # refine imports Optuna, which only refinements need
    from .run.race import Lap
    from .run.refine import RefineResult, TrialOutcome


@dataclass(frozen=True)
class RunOptions:
    """What the ``%%cash`` line asked for (``frontends.options`` parses it)."""

    data: str
    target: str
    task: str | None = None
    metric: str | None = None
    strategy: str = "auto"
    n: int = LLMSettings.n  # the magic's default (``CashMagics.n``)
    cv: int = 5
    seed: int = 0
    refine: int = 0  # trials of a refinement (0: none) ...
    refine_seconds: float = 0.0  # ... or the seconds it may take
    flags: frozenset[str] = field(default_factory=frozenset)

    def flag(self, name: str) -> bool:
        return name in self.flags

    def to_dict(self) -> dict:
        return {
            "task": self.task,
            "metric": self.metric,
            "strategy": self.strategy,
            "n": self.n,
            "cv": self.cv,
            "seed": self.seed,
            "refine": self.refine,
            "refine_seconds": self.refine_seconds,
            "flags": sorted(self.flags),
        }


@dataclass
class Plan:
    """A profiled frame and everything decided before recommending."""

    options: RunOptions
    profile: TaskProfile
    n_columns: int
    cv: int  # the folds trials are scored on; 1 on a Dask DataFrame: one held-out split
    strategy: str
    recommender: Recommender
    notes: list[str] = field(default_factory=list)  # shown to the user: dropped rows, reduced folds
    banner: str = ""
    run_id: str = field(default_factory=new_run_id)  # LLM requests are recorded under it
    dask: bool = False  # the data is a Dask DataFrame: training runs on its cluster
    large: bool = False  # a pandas frame above LARGE_ROWS: one held-out split, a refinement on a sample

    @property
    def families(self) -> tuple[str, ...] | None:
        """The families that may be recommended, where not every installed one can train."""
        return dask_families() if self.dask else None

    @property
    def can_blend(self) -> bool:
        """A blend's weights come from out-of-fold predictions: folds, not one held-out split."""
        return self.cv > 1


def plan(
    df: pd.DataFrame, options: RunOptions, settings: LLMSettings, history: History, notify: Notify = quiet
) -> Plan:
    """Profile ``df`` and choose the recommender; raises CashError before anything is stored.

    ``settings`` say where the LLM is; ``--fresh`` turns off the replay of stored answers.
    ``notify`` receives the recommender's one-line notes.
    """
    if options.flag("blend") and options.n < 2:
        raise CashError(f"--blend blends the n recommendations; n={options.n} leaves nothing to blend, use n=2 or more")
    dask = is_dask_frame(df)
    if dask:
        _check_dask_options(options)
        prof = profile_dask(df, options.target, task=options.task, metric=options.metric)
    else:
        prof = profile(df, options.target, task=options.task, metric=options.metric)
    notes = []
    if prof.n_rows_dropped:
        notes.append(
            _dropped_note(prof, missing_targets(df, prof.target) if dask else int(df[prof.target].isna().sum()))
        )
    large = not dask and prof.n_rows > LARGE_ROWS
    if dask:  # one held-out split: each training is itself distributed
        cv, cv_note = 1, dask_note()
    elif large:
        cv, cv_note = 1, _large_note(prof, options)
    else:
        cv, cv_note = effective_cv(prof, options.cv)
    if cv_note:
        notes.append(cv_note)
    settings = settings.replace(cache=not options.flag("fresh"))
    strategy, banner = options.strategy, ""
    if strategy == "auto":
        strategy, banner = resolve_auto(settings, len(auto_past_tasks(prof, settings, history)))
    if strategy in LLM_STRATEGIES and settings.url_problem():
        raise CashError(f"{settings.url_problem()} (%config CashMagics.base_url = …, or $OPENAI_BASE_URL)")
    if strategy in LLM_STRATEGIES and not settings.configured and not options.flag("dry-run"):
        raise CashError(
            f"strategy={strategy} needs an LLM endpoint: set ${settings.api_key_env}, or "
            '%config CashMagics.base_url = "http://…/v1" for a local server (see %cash config)'
        )
    run_id = new_run_id()
    recommender = get_recommender(
        strategy,
        settings=settings,
        history=history,
        run_id=run_id,
        notify=notify,
        families=dask_families() if dask else None,
    )
    return Plan(options, prof, len(df.columns), cv, strategy, recommender, notes, banner, run_id, dask, large)


def _large_note(prof: TaskProfile, options: RunOptions) -> str:
    """What a frame above ``LARGE_ROWS`` gets instead of folds; a CashError for a blend, which needs them."""
    if options.flag("blend"):
        raise CashError(
            f"--blend is not available above {LARGE_ROWS:,} rows ({prof.n_rows:,} here): its weights need "
            f"{options.cv} folds of every row; blend on a sample, e.g. df.sample({SEARCH_ROWS}, random_state=0)"
        )
    return (
        f"{prof.n_rows:,} rows: each model is validated on {validation_words(1, prof.is_classification)} "
        f"instead of {options.cv} folds, then fitted on all rows; a refinement searches a "
        f"{SEARCH_ROWS:,}-row sample (a dataset of its own in the history)"
    )


def _check_dask_options(options: RunOptions) -> None:
    """One line for what a Dask DataFrame cannot have, and for a missing ``[dask]`` extra."""
    for name in ("dask", "distributed"):
        try:
            importlib.import_module(name)
        except ImportError:
            raise CashError(
                f'a Dask DataFrame needs {name}, not installed here: pip install "llm_cash_magic[dask]"'
            ) from None
    if options.flag("blend"):
        raise CashError("--blend is not available for a Dask DataFrame; it trains one model on the cluster")


def _dropped_note(prof: TaskProfile, n_missing: int) -> str:
    """Which rows were dropped: those whose target is missing, infinite (a number's), or either."""
    n_infinite = prof.n_rows_dropped - n_missing
    why = (
        "missing"
        if not n_infinite
        else "infinite"
        if not n_missing
        else f"missing ({n_missing:,}) or infinite ({n_infinite:,})"
    )
    return f"dropped {prof.n_rows_dropped:,} rows whose target {prof.target!r} is {why}"


def replan(df: pd.DataFrame, run: dict, history: History) -> tuple[Plan, list[Recommendation]]:
    """The plan and recommendations of a stored run, for continuing it on the same, unchanged data."""
    stored = run["options"]
    options = RunOptions(
        data=run["data_name"],
        target=run["profile"]["target"],
        task=run["task"],
        metric=run["metric"],
        strategy="defaults",  # the recommendations are stored
        n=stored["n"],
        cv=stored["cv"],
        seed=stored["seed"],
    )
    again = plan(df, options, LLMSettings(), history)
    if again.profile.fingerprint != run["fingerprint"]:
        raise CashError(
            f"{options.data!r} changed since run {run['id']} (its fingerprint differs); start a new run instead"
        )
    return again, [Recommendation.from_dict(r) for r in run["recommendations"]]


def recommend(plan: Plan, notes: str = "") -> Iterator[Recommendation]:
    """The plan's recommendations as they arrive; a CashError at the end if there was none, and
    ``Interrupted`` (one line, never a traceback from inside an HTTP library) on Ctrl-C."""
    received = 0
    try:
        for rec in plan.recommender.recommend(plan.profile, n=plan.options.n, notes=recommender_notes(plan, notes)):
            if plan.families and rec.family not in plan.families:
                continue
            received += 1
            yield rec
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted while the {plan.strategy} recommender answered; {plural(received, 'recommendation')} "
            "had arrived"
        ) from None
    if not received:
        raise CashError(f"the {plan.strategy} recommender returned no recommendation")


def recommender_notes(plan: Plan, notes: str) -> str:
    """The user's notes as the recommender reads them: where only some families can train, an LLM
    is told which (and ``recommend`` leaves out what it proposes all the same)."""
    if not plan.families:
        return notes
    return f"{notes}\n\nOnly these model families can train on this data: {', '.join(plan.families)}.".strip()


def start_run(history: History, plan: Plan, recommendations: list[Recommendation], notes: str = "") -> str:
    return history.start_run(
        plan.profile,
        data_name=plan.options.data,
        n_columns=plan.n_columns,
        strategy=plan.strategy,
        notes=notes,
        options=plan.options.to_dict() | {"cv_used": plan.cv},
        recommendations=[r.to_dict() for r in recommendations],
        run_id=plan.run_id,
    )


def prepare_trial(
    history: History, run_id: str, plan: Plan, rec: Recommendation, params: dict | None = None
) -> tuple[str, str]:
    """Register a trial of ``rec`` (with the user's ``params`` edits, if any) and generate its code.

    Both the recommended and the edited params are stored as the code trains them on this data,
    so that what the data forced on both (``as_trained``) never counts as a user override.
    """
    config = validate(rec.family, rec.params if params is None else params, plan.profile.task)
    if plan.families and config.family not in plan.families:
        raise CashError(f"{config.family} does not train on a Dask DataFrame; use one of: {', '.join(plan.families)}")
    trial_id = history.add_trial(
        run_id,
        family=rec.family,
        source=rec.source,
        recommended=_trained_params(plan, rec.family, rec.params),
        params=_trained_params(plan, rec.family, config.params),
    )
    code = trial_code(plan, rec, config.params, trial_id)
    history.set_trial_code(trial_id, code)
    return trial_id, code


def trial_code(plan: Plan, rec: Recommendation, params: dict, trial_id: str | None = None) -> str:
    """The code that trains ``rec`` with ``params``; without a ``trial_id`` it records nothing (a copy)."""
    config = validate(rec.family, params, plan.profile.task)
    if plan.dask:
        return generate_dask_code(
            plan.profile,
            config,
            data_name=plan.options.data,
            seed=plan.options.seed,
            trial_id=trial_id,
            source=rec.source,
        )
    return generate_code(
        plan.profile,
        config,
        data_name=plan.options.data,
        cv=plan.cv,
        seed=plan.options.seed,
        trial_id=trial_id,
        source=rec.source,
    )


def prepare_blend_trial(
    history: History, run_id: str, plan: Plan, recs: list[Recommendation], params: list[dict] | None = None
) -> tuple[str, str]:
    """Register a trial of the blend of ``recs`` (with the user's ``params`` edits of
    each, if any) and generate its code; stored as ``prepare_trial`` stores a single one."""
    if not plan.can_blend:
        where = "a Dask DataFrame" if plan.dask else f"{plan.profile.n_rows:,} rows validated on one held-out split"
        raise CashError(f"a blend is not available for {where}; its weights need folds of every row")
    edited = params or [r.params for r in recs]
    configs = [validate(r.family, p, plan.profile.task) for r, p in zip(recs, edited, strict=True)]
    recommended = [as_trained(plan.profile, Config(r.family, r.params), plan.cv) for r in recs]
    source = recs[0].source
    trial_id = history.add_trial(
        run_id,
        family=BLEND,
        source=source,
        recommended=blend_params(recommended),
        params=blend_params([as_trained(plan.profile, c, plan.cv) for c in configs]),
    )
    code = generate_blend_code(
        plan.profile,
        configs,
        data_name=plan.options.data,
        cv=plan.cv,
        seed=plan.options.seed,
        trial_id=trial_id,
        source=source,
    )
    history.set_trial_code(trial_id, code)
    return trial_id, code


def _trained_params(plan: Plan, family_name: str, params: dict) -> dict:
    """``params`` as generated code trains them on the plan's data (see ``as_trained``)."""
    if plan.dask:
        return validate(family_name, params, plan.profile.task).params  # the Dask code forces nothing
    return as_trained(plan.profile, Config(family_name, params), plan.cv).params


def references(
    history: History,
    plan: Plan,
    df: pd.DataFrame,
    run_id: str,
    on_measure: Callable[[str], None] = lambda _: None,
    trial_id: str | None = None,
) -> dict[str, dict]:
    """The two references every result is shown next to, on the same folds ("trivial" and
    "lightgbm", see ``run.references``; on a Dask DataFrame LightGBM's alone), as finished trials.
    Measured once per dataset, metric and folds (recorded under ``run_id``), then read from the
    history: each dataset pays for them once.
    ``on_measure(name)`` is told before a reference is measured rather than read. Ctrl-C records
    ``trial_id`` (the training they come before) as interrupted and raises ``Interrupted``."""
    try:
        return _references(history, plan, df, run_id, on_measure)
    except KeyboardInterrupt:
        if trial_id:
            history.fail_trial(trial_id, "interrupted")
        recorded = f" (trial {trial_id} is recorded as interrupted)" if trial_id else ""
        raise Interrupted(f"interrupted while measuring the references: nothing was trained{recorded}") from None


def _references(history: History, plan: Plan, df: pd.DataFrame, run_id: str, on_measure) -> dict[str, dict]:
    from .run import references as measured  # scikit-learn, imported only when a result is shown

    prof, seed = plan.profile, plan.options.seed
    found = {}
    for name, params in measured.reference_params(prof).items():
        if plan.dask and name != "lightgbm":  # the trivial predictor is measured on pandas data only
            continue
        trial = history.reference(prof.fingerprint, prof.metric, name, params, plan.cv, seed)
        if trial is None:
            on_measure(name)
            scores, seconds = measured.measure(name, prof, df, cv=plan.cv, seed=seed)
            history.record_reference(run_id, name, scores, params=params, fit_seconds=seconds)
            trial = history.reference(prof.fingerprint, prof.metric, name, params, plan.cv, seed)
        found[name] = trial
    return found


def execute(code: str, namespace: dict, history: History, trial_id: str) -> str | None:
    """Run generated code in ``namespace`` (the user's); returns an error line, recorded as the
    trial's failure, or None on success (the code recorded its result itself). Ctrl-C records the
    trial as interrupted and raises ``Interrupted``: one line, never a traceback from a library."""
    try:
        error = run_code(code, namespace, f"trial {trial_id}")
    except KeyboardInterrupt:
        history.fail_trial(trial_id, "interrupted")
        raise Interrupted(f"training interrupted: trial {trial_id} is recorded as interrupted") from None
    if error:
        history.fail_trial(trial_id, error)
    return error


def deliver(
    code: str,
    trial_id: str,
    history: History,
    namespace: dict,
    *,
    below: str | None,
    on_fold: delivery.OnFold,
    on_done: Callable[[delivery.Delivery], None],
) -> bool:
    """A Run's code to a new notebook cell below ``below``, or into this kernel (``run.delivery``);
    a run that stops before the code records its result is recorded as the trial's failure."""
    return delivery.deliver_and_run(
        code,
        trial_id,
        namespace,
        below=below,
        on_fold=on_fold,
        on_done=on_done,
        on_failure=partial(history.fail_trial, trial_id),
    )


def refine(
    df: pd.DataFrame,
    plan: Plan,
    recommendations: list[Recommendation],
    n_trials: int | None,
    *,
    history: History,
    run_id: str,
    timeout: float | None = None,
    on_trial: Callable[[TrialOutcome], None] | None = None,
    on_fold: Callable[[int, int], None] | None = None,
) -> RefineResult:
    """``n_trials`` more trials of the run's search (or as many as ``timeout`` seconds allow),
    warm-started by ``recommendations`` (``run.refine``)."""
    from .run.refine import refine as search  # Optuna, imported only when a refinement starts

    return search(
        df,
        plan.profile,
        recommendations,
        n_trials,
        history=history,
        run_id=run_id,
        cv=plan.cv,
        seed=plan.options.seed,
        families=plan.families,
        timeout=timeout,
        on_trial=on_trial,
        on_fold=on_fold,
    )


def race(
    df: pd.DataFrame,
    plan: Plan,
    recommendations: list[Recommendation],
    on_lap: Callable[[Lap], None] | None = None,
    *,
    history: History | None = None,
    run_id: str | None = None,
) -> tuple[Recommendation, list[Lap]]:
    """The recommendation a run without the panel trains: the winner of a race of the top few on the
    user's data (``run.race``), else the first; ``Interrupted`` on Ctrl-C, with nothing trained.
    With a ``history``, each raced recommendation of run ``run_id`` keeps its lap (``race``)."""
    from .run.race import race as run_race  # scikit-learn, imported only when a race starts
    from .run.race import winner

    try:
        laps = run_race(df, plan.profile, recommendations, seed=plan.options.seed, on_lap=on_lap)
    except KeyboardInterrupt:
        raise Interrupted("interrupted during the race of the top recommendations") from None
    best = winner(laps, plan.profile.metric)
    if history is not None and run_id is not None:
        kept = [r.to_dict() for r in recommendations]
        for rank, lap in enumerate(laps):  # the laps of the first len(laps), in their order
            kept[rank]["race"] = _lap_record(lap)
        history.set_recommendations(run_id, kept)
    return (best.recommendation if best else recommendations[0]), laps


def _lap_record(lap: Lap) -> dict:
    """A lap as the history keeps it: its score on the held-out thirds (how many, where more than one),
    its seconds, why it did not finish."""
    record = {"score": lap.score, "seconds": round(lap.seconds, 3)} | ({"folds": lap.folds} if lap.folds > 1 else {})
    return record | ({"error": lap.error} if lap.error else {}) | ({"skipped": lap.skipped} if lap.skipped else {})


def recommend_for(
    profile: TaskProfile,
    strategy: str = "auto",
    n: int = LLMSettings.n,
    notes: str = "",
    settings: LLMSettings | None = None,
    history: History | None = None,
    notify: Notify = print,
) -> list[Recommendation]:
    """Recommendations for ``profile`` (the Python API's ``llm_cash_magic.recommend``): the LLM of
    ``settings`` (default: the environment's), learning from ``history`` (default: yours)."""
    if not isinstance(n, int) or n < 1:
        raise CashError(f"n={n!r} must be a positive integer")
    settings = settings or LLMSettings.resolve()
    history = history or History.from_environment()
    if strategy == "auto":
        strategy, _ = resolve_auto(settings, len(auto_past_tasks(profile, settings, history)))
    recommender = get_recommender(strategy, settings=settings, history=history, notify=notify)
    return list(recommender.recommend(profile, n=n, notes=notes))


def search_data(
    df: pd.DataFrame, plan: Plan, history: History, recommendations: list[Recommendation], run_id: str
) -> tuple[pd.DataFrame, Plan, str]:
    """Where a refinement of run ``run_id`` searches: the data itself (data, plan, run), or for a large
    pandas frame a fixed-seed sample of ``SEARCH_ROWS`` rows, cross-validated as usual and recorded
    as a run of its own, with its own profile and fingerprint: a sample's scores never stand for the
    whole frame's. The sample's run names ``run_id`` (``sample_of``), whose plan trains the best."""
    if not plan.large:
        return df, plan, run_id
    from .run.evaluation import sample_positions, training_rows  # scikit-learn, only for a large frame

    rows = training_rows(df, plan.profile)
    sample = rows.iloc[sample_positions(rows[plan.profile.target], plan.profile, SEARCH_ROWS, plan.options.seed)]
    options = plan.options
    searched = profile(sample, options.target, task=plan.profile.task, metric=plan.profile.metric)
    cv, _ = effective_cv(searched, options.cv)
    sampled = Plan(options, searched, plan.n_columns, cv, plan.strategy, plan.recommender, run_id=new_run_id())
    existing = [r for r in history.runs(searched.fingerprint) if r["options"].get("sample_of") == run_id]
    if existing:  # a refinement resumed: the same sample, the same run and study
        sampled.run_id = existing[0]["id"]
    else:
        history.start_run(
            searched,
            data_name=options.data,
            n_columns=plan.n_columns,
            strategy=plan.strategy,
            options=options.to_dict() | {"cv_used": cv, "sample_of": run_id, "sample_rows": len(sample)},
            recommendations=[r.to_dict() for r in recommendations],
            run_id=sampled.run_id,
        )
    return sample, sampled, sampled.run_id


def refined_recommendation(result: RefineResult, plan: Plan) -> Recommendation:
    """The best trial of a refinement, as a recommendation to generate code for."""
    best = result.best(plan.profile.metric)
    if best is None:
        raise CashError(f"no refinement trial finished ({len(result.trials)} pruned or failed)")
    warm = result.best_warm_start(plan.profile.metric)
    n = len(result.trials)
    if best.warm_start:
        why = f"a recommendation stayed best after {n} refinement trials"
    elif warm is None:
        why = f"best of {n} refinement trials"
    else:
        why = f"best of {n} refinement trials; the best recommendation scored {warm.score:.4g}"
    config = validate(best.family, best.params, plan.profile.task)
    return Recommendation(config.family, config.params, why, "refine", config.notes)
