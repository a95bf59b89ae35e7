"""The benchmark: every strategy on every task at equal budget, scored on a held-out test split.

Per task and seed: an outer split (75 % train / 25 % test, stratified for classification) that
no strategy sees the test part of; each strategy plans on the training split (searches
cross-validate on it), its final model is fit on the training split and scored on the test
split. The yardstick is the reference pool (the knowledge base's pool of configurations, each
fit on train and scored on test): a strategy's percentile among the pool's test scores is our
analogue of the paper's leaderboard p_rank.

Every fit runs in a child process with a time limit, and every result is appended to a JSONL
file under ``work`` keyed by what was fit, so an interrupted run resumes where it stopped and
strategies that fit the same configuration share the fit.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
from sklearn.model_selection import train_test_split

from ..codegen import build
from ..metrics import METRICS, percentiles
from ..profiling import TaskProfile, profile
from ..recommenders.offline import knowledge
from ..run.evaluation import cross_validate, fit_blend, fit_final, score
from ..run.race import RACE_FOLDS, RACE_ROWS, Lap, race_score, replayed, winner, within_budget
from ..space import Config
from .evaluate import Outcome, features_and_target, one_thread, run_bounded
from .pool import config_key
from .progress import progress_bar
from .sampling import suggest_config
from .strategies import Context, Plan, Strategy, tpe_study

TEST_SHARE = 0.25
RACE = f"race{RACE_FOLDS}x{RACE_ROWS}"  # a race's cache key names its settings: changed, it runs again


@dataclass(frozen=True)
class Task:
    """A benchmark task: a name and how to load (frame, target, task kind)."""

    name: str
    load: Callable[[int | None, int], tuple[pd.DataFrame, str, str]]  # (max_rows, seed) → frame, target, task


@dataclass(frozen=True)
class Settings:
    k: int = 10
    cv: int = 3
    seeds: tuple[int, ...] = (0,)
    max_rows: int = 2000
    seconds: float = 60.0  # per model fit; a search's CV gets cv times this, a blend k times
    workers: int = 1
    pool: bool = True  # fit the reference pool too, for percentiles (on large data, hours per task)


@dataclass(frozen=True)
class Result:
    """One strategy on one task and seed."""

    task: str
    seed: int
    strategy: str
    metric: str
    test_score: float | None
    percentile: float
    fit_seconds: float
    chosen: str  # the configuration(s) it ended with, in short
    note: str = ""


def run(tasks: list[Task], strategies: list[Strategy], settings: Settings, work: Path) -> list[Result]:
    """Every strategy on every task and seed; resumes from ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    results = []
    with progress_bar() as bar:
        overall = bar.add_task("benchmark", total=len(tasks) * len(settings.seeds))
        for task in tasks:
            for seed in settings.seeds:
                results += _run_task(task, seed, strategies, settings, work, bar)
                bar.advance(overall)
    return results


class _Cache:
    """Fits already done for one task and seed, appended as JSONL and keyed by what was fit."""

    def __init__(self, path: Path):
        self.path = path
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        self.done = {r["key"]: Outcome(r["value"], r["seconds"], r["error"]) for r in map(json.loads, lines)}

    def run(self, jobs: dict, settings: Settings, seconds: float, bar=None, progress=None) -> None:
        for key in jobs.keys() & self.done.keys():  # a fit done under a longer limit times out under this one
            outcome = self.done[key]
            if outcome.error is None and outcome.seconds > seconds:
                self.done[key] = Outcome(None, outcome.seconds, f"timed out after {seconds:g} s")
        todo = {key: job for key, job in jobs.items() if key not in self.done}
        with self.path.open("a", encoding="utf-8") as fh:
            for key, outcome in run_bounded(todo, workers=settings.workers, seconds=seconds):
                value = outcome.value
                if outcome.error is None and not all(math.isfinite(v) for v in np.ravel(value)):
                    outcome = Outcome(None, outcome.seconds, "non-finite score")
                self.done[key] = outcome
                fh.write(
                    json.dumps(
                        {
                            "key": key,
                            "value": outcome.value,
                            "seconds": round(outcome.seconds, 3),
                            "error": outcome.error,
                        }
                    )
                    + "\n"
                )
                fh.flush()
                if bar is not None:
                    bar.advance(progress)


@dataclass
class Split:
    """One task and seed: the training split strategies see, the held-out test split, and the fits
    already done for them."""

    profile: TaskProfile  # of the training split: what a user with only those rows would see
    train: pd.DataFrame
    X_train: pd.DataFrame
    y_train: pd.Series
    X_test: pd.DataFrame
    y_test: pd.Series
    context: Context
    cache: _Cache
    with_pool: bool = True

    def fit_key(self, config: Config) -> str:
        return f"fit {config_key(config)}"

    def holdout_job(self, config: Config, cv: int):
        """Fit on the training split as generated code does (one that stops early learns its rounds
        from ``cv`` folds first), score on the test split."""
        model = build(self.profile, config, self.context.seed)
        one_thread(model.model)
        seed = self.context.seed
        return lambda: score(
            self.profile,
            fit_final(self.profile, model, self.X_train, self.y_train, cv=cv, seed=seed),
            self.X_test,
            self.y_test,
        )

    def holdout(self, configs: list[Config], settings: Settings, bar=None, progress=None) -> None:
        """Test scores of ``configs`` (and of the reference pool) into the cache, each fit bounded."""
        fits = {self.fit_key(c): self.holdout_job(c, settings.cv) for c in list(self.pool()) + configs}
        self.cache.run(fits, settings, settings.seconds, bar, progress)

    def pool(self) -> list[Config]:
        return list(knowledge.load().pool(self.profile.task)) if self.with_pool else []

    def percentile(self, test: float | None) -> float:
        """``test``'s percentile among the reference pool's test scores (call ``holdout`` first);
        NaN without a pool."""
        if not self.with_pool:
            return math.nan
        reference = [self.cache.done[self.fit_key(c)].value for c in self.pool()]
        return float(percentiles([test], reference, METRICS[self.profile.metric])[0])


def split(task: Task, seed: int, settings: Settings, work: Path) -> Split:
    frame, target, kind = task.load(settings.max_rows, seed)
    X, y = features_and_target(frame, target)
    stratify = y if kind != "regression" else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SHARE, random_state=seed, stratify=stratify
    )
    train = pd.concat([X_train, y_train], axis=1)
    prof = profile(train, target, task=kind)
    ctx = Context(task.name, prof, X_train, y_train, settings.k, seed)
    cache = _Cache(work / f"{task.name}-seed{seed}-rows{settings.max_rows}-cv{settings.cv}.jsonl")
    return Split(prof, train, X_train, y_train, X_test, y_test, ctx, cache, settings.pool)


def _run_task(task: Task, seed: int, strategies: list[Strategy], settings: Settings, work: Path, bar) -> list[Result]:
    data = split(task, seed, settings, work)
    prof, ctx, cache = data.profile, data.context, data.cache

    def blend_job(configs):  # the generated code itself: out-of-fold predictions, ensemble selection, refit
        return lambda: score(
            prof, fit_blend(prof, configs, data.train, cv=settings.cv, seed=seed), data.X_test, data.y_test
        )

    def cv_job(config):
        model = build(prof, config, seed)
        one_thread(model.model)
        return lambda: float(
            np.mean(cross_validate(prof, model, data.X_train, data.y_train, cv=settings.cv, seed=seed))
        )

    def race_job(config, fold: int):
        return lambda: race_score(prof, config, data.X_train, data.y_train, seed, prepare=one_thread, fold=fold)

    plans, notes = {}, {}
    for strategy in strategies:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                plans[strategy.name] = strategy.plan(ctx)
        except Exception as exc:  # a strategy that cannot plan is reported, the others go on
            notes[strategy.name] = f"{type(exc).__name__}: {exc}"[:200]
    singles = {config_key(c): c for c in data.pool()}
    searched, raced = {}, {}
    for plan in plans.values():
        if plan.single:
            singles[config_key(plan.single)] = plan.single
        searched |= {config_key(c): c for c in plan.search}
        raced |= {config_key(r.config): r for r in plan.race}
    progress = bar.add_task(f"  {task.name} (seed {seed})", total=len(singles) + len(searched) + len(raced))
    data.holdout(list(singles.values()), settings, bar, progress)
    cache.run(
        {f"cv {k}": cv_job(c) for k, c in searched.items()}, settings, settings.seconds * settings.cv, bar, progress
    )
    laps = {
        name: _run_race(plan.race, cache, race_job, settings, bar, progress)
        for name, plan in plans.items()
        if plan.race
    }

    tpe_chosen = {}
    for name, plan in plans.items():
        if plan.tpe_trials:
            tpe_chosen[name] = _run_tpe(prof, plan.tpe_trials, seed, cache, cv_job, settings)
    finals = {}
    for name, plan in plans.items():
        candidates = list(plan.search) or tpe_chosen.get(name, [])
        if candidates:
            finals[name] = _best(prof, candidates, cache)
        elif plan.race:
            finals[name] = (winner(laps[name], prof.metric) or laps[name][0]).recommendation.config
        elif plan.single:
            finals[name] = plan.single
    data.holdout([c for c in finals.values() if c], settings)
    blends = {name: plan.blend for name, plan in plans.items() if plan.blend}
    blend_fits = {_blend_key(c): blend_job(list(c)) for c in blends.values()}
    members = max((len(c) for c in blends.values()), default=settings.k)
    cache.run(blend_fits, settings, settings.seconds * members * (settings.cv + 1))
    bar.remove_task(progress)

    results = []
    for strategy in strategies:
        name = strategy.name
        plan = plans.get(name)
        outcome, seconds, chosen = None, 0.0, "—"
        if name in blends:
            outcome = cache.done[_blend_key(blends[name])]
            seconds, chosen = outcome.seconds, "blend of " + ", ".join(c.family for c in blends[name])
        elif finals.get(name):
            outcome = cache.done[data.fit_key(finals[name])]
            seconds = outcome.seconds + _search_seconds(plan, tpe_chosen.get(name, []), cache)
            seconds += sum(lap.seconds for lap in laps.get(name, []))
            chosen = finals[name].family
        elif plan is not None:
            notes.setdefault(name, "every configuration it tried failed")
        test = outcome.value if outcome else None
        if outcome and outcome.error:
            notes[name] = outcome.error
        results.append(
            Result(
                task.name,
                seed,
                name,
                prof.metric,
                test,
                data.percentile(test),
                round(seconds, 2),
                chosen,
                notes.get(name, ""),
            )
        )
    return results


def _run_tpe(prof: TaskProfile, trials: int, seed: int, cache: _Cache, cv_job, settings: Settings) -> list[Config]:
    """Optuna TPE over every family, one cross-validated configuration at a time."""
    study = tpe_study(seed)
    tried = []
    for _ in range(trials):
        trial = study.ask()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            config = suggest_config(trial, prof.task)
        key = f"cv {config_key(config)}"
        cache.run({key: cv_job(config)}, settings, settings.seconds * settings.cv)
        value = cache.done[key].value
        if value is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, METRICS[prof.metric].signed(value))
        tried.append(config)
    return tried


def _run_race(recs, cache: _Cache, race_job, settings: Settings, bar, progress) -> list[Lap]:
    """The race as ``run.race`` runs it: the first pick's lap, then each challenger its budget admits,
    stopped at what the budget has left, then the finishers' other folds where it has room. A lap
    runs to the benchmark's own limit and is cached so, whatever the budget it met: the deadline is
    applied to the cached lap, so that the laps of one configuration agree across strategies and
    resumed runs."""

    def run_lap(rec, left: float | None, fold: int) -> Lap:
        key = f"{RACE}{'' if fold == 1 else f' fold {fold}'} {config_key(rec.config)}"
        counted = bar if fold == 1 else None  # the progress bar counts the first laps only
        cache.run({key: race_job(rec.config, fold)}, settings, settings.seconds, counted, progress)
        outcome = cache.done[key]
        return replayed(rec, outcome.value, outcome.seconds, left, outcome.error)

    def not_run(lap: Lap) -> None:
        if lap.skipped and not lap.seconds:  # a lap that ran (and was stopped) advanced the bar already
            bar.advance(progress)

    return within_budget(list(recs), run_lap, on_lap=not_run)


def _best(prof: TaskProfile, candidates: list[Config], cache: _Cache) -> Config | None:
    """The candidate with the best cross-validated score on the training split."""
    scored = [(cache.done[f"cv {config_key(c)}"].value, c) for c in candidates]
    scored = [(v, c) for v, c in scored if v is not None]
    best = METRICS[prof.metric].best(scored, score=lambda vc: vc[0])
    return best[1] if best else None


def _search_seconds(plan: Plan, tpe_tried: list[Config], cache: _Cache) -> float:
    return sum(cache.done[f"cv {config_key(c)}"].seconds for c in list(plan.search) + tpe_tried)


def _blend_key(configs) -> str:
    return "selected blend " + hashlib.sha256("|".join(map(config_key, configs)).encode()).hexdigest()[:16]
