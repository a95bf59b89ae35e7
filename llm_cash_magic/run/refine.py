"""Warm-started refinement: the recommendations become the first trials of an Optuna TPE search.

The study searches every family and its space (``space.py``); each recommendation is enqueued
so that TPE starts from it, each trial is cross-validated exactly like generated code, hopeless
trials are pruned after their first folds, and every finished trial is recorded in the history
(it feeds the next meta-informed prompt). Studies persist in Optuna's own SQLite file next to
the history, one study per run, so a refinement can be resumed or opened in optuna-dashboard.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import optuna
import pandas as pd

from ..codegen import as_trained, build
from ..errors import CashError
from ..metrics import METRICS
from ..profiling import TaskProfile
from ..profiling.dask_frames import is_dask_frame
from ..recommenders import Recommendation
from ..space import Config, Param, families_for, family, validate
from ..text import clip, error_line
from .evaluation import cross_validate, training_data

PRUNE_BELOW = 25.0  # a trial among the worst quarter at the same fold, after half its folds, stops


class TrialLog(Protocol):
    """Where refinement trials are recorded (``record.History``); Optuna keeps its studies next to it."""

    path: Path

    def add_trial(self, run_id: str, *, family: str, source: str, recommended: dict, params: dict) -> str: ...

    def finish_trial(
        self, trial_id: str, *, family: str, params: dict, scores, fit_seconds: float, details: dict | None = None
    ) -> None: ...

    def find_trial(self, fingerprint: str, metric: str, family: str, params: dict, cv: int, seed: int) -> dict | None:
        """A finished trial of exactly this configuration on the same data and folds, if any."""

    def fail_trial(self, trial_id: str, error: str) -> None: ...


@dataclass(frozen=True)
class TrialOutcome:
    """One finished (or pruned, or failed) trial, as the progress views show it."""

    number: int
    family: str
    params: dict
    score: float | None  # mean CV score in the metric's natural sign; None unless complete
    state: str  # "complete", "pruned", "failed"
    warm_start: bool  # an enqueued recommendation rather than a TPE suggestion
    history_trial: str  # the trial's id in the History
    reused: bool = False  # its scores are a trial's the history measured before, on the same folds


@dataclass(frozen=True)
class RefineResult:
    study_name: str
    storage: str
    trials: list[TrialOutcome]  # every trial of the study so far, resumed ones included
    interrupted: bool

    def best(self, metric: str) -> TrialOutcome | None:
        done = [t for t in self.trials if t.state == "complete"]
        return METRICS[metric].best(done, score=lambda t: t.score)

    def best_warm_start(self, metric: str) -> TrialOutcome | None:
        warm = RefineResult(self.study_name, self.storage, [t for t in self.trials if t.warm_start], False)
        return warm.best(metric)


def storage_url(history: TrialLog) -> str:
    return f"sqlite:///{history.path.with_name('optuna.sqlite')}"


def study_name(run_id: str) -> str:
    return f"llm_cash_magic-{run_id}"


def refine(
    df: pd.DataFrame,
    profile: TaskProfile,
    recommendations: list[Recommendation],
    n_trials: int | None,
    *,
    history: TrialLog,
    run_id: str,
    cv: int = 5,
    seed: int = 0,
    families: tuple[str, ...] | None = None,
    on_trial: Callable[[TrialOutcome], None] | None = None,
    on_fold: Callable[[int, int], None] | None = None,
    timeout: float | None = None,
) -> RefineResult:
    """Run ``n_trials`` more trials of the run's study (created, warm-started, on first use), or
    with ``timeout``, start trials for that many seconds (and at most ``n_trials``, if given).

    ``families`` limits the search (default: every family); the recommendations' families are
    always included. A configuration the history already measured on these folds is not fitted
    again: its scores are reused (and the trial says so). A trial's library warnings are counted
    in its record instead of printed. ``on_fold(trial_number, fold)`` follows each fold. A
    KeyboardInterrupt stops the search, records the trial it stopped as interrupted and keeps
    every trial finished so far. On a Dask DataFrame each trial is scored on the cluster, on one
    held-out split (``holdout``; ``cv`` is then 1), one trial after another.
    """
    searched = [f.name for f in families_for(profile.task)] if families is None else [family(f).name for f in families]
    searched += [r.family for r in recommendations if r.family not in searched]
    if n_trials is None and timeout is None:
        raise CashError("a refinement needs a number of trials or a time budget")
    if n_trials is not None and n_trials < 1:
        raise CashError(f"refine={n_trials} must be at least 1")
    evaluation = _evaluation(df, profile, cv, seed)
    metric = METRICS[profile.metric]
    storage = storage_url(history)
    with _quiet_optuna():
        study = optuna.create_study(
            storage=storage,
            study_name=study_name(run_id),
            load_if_exists=True,
            direction="maximize" if metric.greater_is_better else "minimize",
            sampler=tpe_sampler(seed),
            pruner=pruner(len(recommendations), evaluation.steps),
        )
    if study.trials:  # resuming: a sampler seeded as before would replay the same suggestions
        study.sampler = tpe_sampler(seed + len(study.trials))
    else:
        for i, rec in enumerate(recommendations):
            study.enqueue_trial(_encode(rec, profile.task), user_attrs={"recommendation": i})

    def objective(trial: optuna.Trial) -> float:
        fam = family(trial.suggest_categorical("family", searched))
        params = {p.name: _suggest(trial, fam.name, p) for p in fam.params_for(profile.task)}
        config = evaluation.trained(validate(fam.name, params, profile.task, n_rows=evaluation.n_rows))
        index = trial.user_attrs.get("recommendation")
        # recorded as trained, as the magic's are
        recommended = config.params if index is None else evaluation.trained(recommendations[index].config).params
        trial_id = history.add_trial(
            run_id, family=config.family, source="refine", recommended=recommended, params=config.params
        )
        trial.set_user_attr("history_trial", trial_id)
        fold_scores: list[float] = []

        def report(fold: int, score: float, fitted: bool = True) -> None:
            fold_scores.append(score)
            trial.report(float(np.mean(fold_scores)), fold)
            if fitted and fold < evaluation.steps:  # a trial with every fold scored is kept, not pruned
                if trial.should_prune():
                    raise optuna.TrialPruned()
                if on_fold:
                    on_fold(trial.number, fold)

        known = history.find_trial(profile.fingerprint, profile.metric, config.family, config.params, cv, seed)
        if known:  # measured before on these very folds: its scores, not another fit
            for fold, score in enumerate(known["cv_scores"], start=1):
                report(fold, score, fitted=False)
            history.finish_trial(
                trial_id,
                family=config.family,
                params=config.params,
                scores=known["cv_scores"],
                fit_seconds=0.0,
                details={"reused": known["id"]},
            )
            trial.set_user_attr("reused", known["id"])
            return float(np.mean(known["cv_scores"]))
        started = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:  # counted in the trial's record, not printed
            warnings.simplefilter("always")
            try:
                scores = evaluation.scores(config, report)
            except optuna.TrialPruned:
                history.fail_trial(trial_id, f"pruned: worse than {PRUNE_BELOW:g} % of the trials after the same folds")
                raise
            except KeyboardInterrupt:
                history.fail_trial(trial_id, "interrupted")
                raise
            except Exception as exc:  # a config that cannot train on this data is a failed trial
                history.fail_trial(trial_id, error_line(exc))
                raise
        history.finish_trial(
            trial_id,
            family=config.family,
            params=config.params,
            scores=scores,
            fit_seconds=time.perf_counter() - started,
            details=_warned(caught),
        )
        return float(np.mean(scores))

    def callback(_study: optuna.Study, frozen: optuna.trial.FrozenTrial) -> None:
        if on_trial:
            on_trial(_outcome(frozen))

    interrupted = False
    with _quiet_optuna():
        try:
            study.optimize(objective, n_trials=n_trials, timeout=timeout, catch=(Exception,), callbacks=[callback])
        except KeyboardInterrupt:
            interrupted = True
    finished = [t for t in study.trials if t.state.is_finished()]
    return RefineResult(study.study_name, storage, [_outcome(t) for t in finished], interrupted)


class Evaluation(Protocol):
    """How a trial's configuration is scored, step (fold) by step."""

    steps: int  # the scores a complete trial has
    n_rows: int | None  # the rows its fits train on, where they cap a parameter (see ``validate``)

    def scores(self, config: Config, report: Callable[[int, float], None]) -> np.ndarray:
        """The scores in the metric's natural sign; ``report(step, score)`` after each, which may raise."""

    def trained(self, config: Config) -> Config:
        """``config`` as its fits train it (what the data forced on it), as the history records it."""


@dataclass(frozen=True)
class CrossValidation:
    """A pandas DataFrame's trials: cross-validated in this process exactly as generated code does."""

    profile: TaskProfile
    X: pd.DataFrame
    y: pd.Series
    steps: int
    seed: int

    @property
    def n_rows(self) -> int:
        return len(self.X)

    def trained(self, config: Config) -> Config:
        return as_trained(self.profile, config, self.steps)

    def scores(self, config: Config, report: Callable[[int, float], None]) -> np.ndarray:
        model = build(self.profile, config, self.seed, self.steps)
        return cross_validate(self.profile, model, self.X, self.y, cv=self.steps, seed=self.seed, on_fold=report)


def _evaluation(df, profile: TaskProfile, cv: int, seed: int) -> Evaluation:
    if is_dask_frame(df):
        from .holdout import DaskHoldout  # Dask, imported only for a Dask frame

        return DaskHoldout(df, profile, seed)
    return CrossValidation(profile, *training_data(df, profile), cv, seed)


def pruner(n_recommendations: int, cv: int) -> optuna.pruners.BasePruner:
    """Stops a trial only when, after at least half its folds, it is among the worst ``PRUNE_BELOW`` %
    of the trials at the same fold. The recommendations come first and are strong, so a median rule
    would cut most new trials after a fold and turn the search into best-of-the-recommendations."""
    return optuna.pruners.PercentilePruner(
        PRUNE_BELOW, n_startup_trials=max(5, n_recommendations), n_warmup_steps=max(1, cv // 2)
    )


def tpe_sampler(seed: int) -> optuna.samplers.TPESampler:
    """TPE as refinements and the benchmark's search use it: the family and its parameters modelled
    jointly (``group`` splits the conditional space by family, as Optuna advises), and a short random
    start, since recommendations enqueued first already count as starting trials."""
    with warnings.catch_warnings():  # multivariate and group are marked experimental
        warnings.simplefilter("ignore")
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=3, multivariate=True, group=True)


def study_trials(history: TrialLog, run_id: str) -> list[TrialOutcome]:
    """The finished trials of a run's study so far; none before its first refinement."""
    with _quiet_optuna():
        try:
            study = optuna.load_study(study_name=study_name(run_id), storage=storage_url(history))
        except KeyError:
            return []
    return [_outcome(t) for t in study.trials if t.state.is_finished()]


def _suggest(trial: optuna.Trial, family_name: str, p: Param):
    key = f"{family_name}.{p.name}"
    if p.type == "bool":
        return trial.suggest_categorical(key, [True, False])
    if p.type == "categorical":
        return trial.suggest_categorical(key, list(p.choices))
    if p.nullable and not trial.suggest_categorical(f"{key}.limited", [True, False]):
        return None
    if p.type == "int":
        return trial.suggest_int(key, int(p.low), int(p.high), log=p.log)
    return trial.suggest_float(key, p.low, p.high, log=p.log)


def _encode(rec: Recommendation, task: str) -> dict:
    """A recommendation as the parameter names ``_suggest`` uses, for ``enqueue_trial``."""
    params = {"family": rec.family}
    for p in family(rec.family).params_for(task):
        value, key = rec.params[p.name], f"{rec.family}.{p.name}"
        if p.nullable and p.type != "categorical":
            params[f"{key}.limited"] = value is not None
            if value is None:
                continue
        params[key] = value
    return params


def _warned(caught: list[warnings.WarningMessage]) -> dict:
    """What a trial's warnings leave in its record: how many, and the first one's message."""
    if not caught:
        return {}
    first = caught[0]
    return {"warnings": len(caught), "first_warning": f"{first.category.__name__}: {clip(first.message, 200)}"}


def _outcome(t: optuna.trial.FrozenTrial) -> TrialOutcome:
    fam = t.params.get("family", "")
    params = {
        k.split(".", 1)[1]: v for k, v in t.params.items() if k.startswith(f"{fam}.") and not k.endswith(".limited")
    }
    state = {"COMPLETE": "complete", "PRUNED": "pruned"}.get(t.state.name, "failed")
    return TrialOutcome(
        t.number,
        fam,
        params,
        t.value if state == "complete" else None,
        state,
        "recommendation" in t.user_attrs,
        t.user_attrs.get("history_trial", ""),
        "reused" in t.user_attrs,
    )


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Optuna logs every trial at INFO and a failed one's traceback at WARNING; our own progress view
    says what matters, and the history keeps a failed trial's error in one line."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)
