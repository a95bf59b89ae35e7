"""What each benchmarked strategy proposes for a task, given its training split only.

A strategy returns a ``Plan``: the configurations it fits once (``single``), races (``race``) or
cross-validates on the training split before refitting the best (``search``), or blends; or, for
Optuna's TPE, a sampler that must see each result before proposing the next. A K strategy spends
at most K model fits per fold, so those compare at equal budget; each strategy's help says its own.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import optuna
import pandas as pd

from ..errors import CashError
from ..pipeline import RunOptions
from ..profiling import TaskProfile
from ..recommenders import DefaultsRecommender, Recommendation, get_recommender
from ..recommenders.llm.settings import LLMSettings
from ..recommenders.offline import OfflineRecommender
from ..record import History
from ..run.race import RACE_SIZE
from ..run.refine import tpe_sampler
from ..space import FAMILIES, Config, validate
from .pool import from_flaml
from .sampling import quiet_study, random_configs


@dataclass(frozen=True)
class Plan:
    """How a strategy spends its budget: fit one config, race some (``run.race``: one held-out third
    each, the winner refit), search among some, blend some, or TPE."""

    single: Config | None = None
    race: tuple[Recommendation, ...] = ()  # their time factors budget the race
    search: tuple[Config, ...] = ()
    blend: tuple[Config, ...] = ()
    tpe_trials: int = 0


@dataclass(frozen=True)
class Context:
    name: str  # the task's name (for leave-one-out)
    profile: TaskProfile  # of the training split
    X: pd.DataFrame
    y: pd.Series
    k: int
    seed: int


@dataclass(frozen=True)
class Strategy:
    name: str
    plan: Callable[[Context], Plan]
    help: str
    requires: tuple[str, ...] = ()  # optional packages it needs


def _lightgbm_defaults(ctx: Context) -> Plan:
    return Plan(single=validate("lightgbm", {}, ctx.profile.task))


def _defaults(ctx: Context) -> Plan:
    rec = next(DefaultsRecommender().recommend(ctx.profile, n=1))
    return Plan(single=rec.config)


def _flaml(ctx: Context) -> Plan:
    from flaml.default import suggest_config

    suggested = suggest_config(ctx.profile.task, ctx.X, ctx.y, "lgbm", k=1)[0]["hyperparameters"]
    return Plan(single=validate("lightgbm", from_flaml(suggested), ctx.profile.task))


def _random(ctx: Context) -> Plan:
    return Plan(search=tuple(random_configs(ctx.profile.task, ctx.k, seed=10_000 + ctx.seed)))


def _tpe(ctx: Context) -> Plan:
    return Plan(tpe_trials=ctx.k)


PLAIN = tuple(name for name, fam in FAMILIES.items() if fam.requires is None)  # without optional extras


def offline_recommender(ctx: Context, families: tuple[str, ...] = tuple(FAMILIES)):
    """The shipped knowledge without the evaluated task (leave-one-out) and without any history."""
    return OfflineRecommender(exclude=(ctx.name,), families=families)


def recommendations(ctx: Context, strategy: str, n: int) -> list:
    """``n`` recommendations of ``strategy`` for the task, leave-one-out: the offline recommender
    and meta-informed prompts never see the evaluated task, nor the user's history (an LLM's
    requests go to a history of their own, thrown away). ``offline-plain`` is the offline
    recommender of a plain install, without the optional families."""
    if strategy in ("offline", "offline-plain"):
        families = PLAIN if strategy == "offline-plain" else tuple(FAMILIES)
        return list(offline_recommender(ctx, families).recommend(ctx.profile, n=n))
    with tempfile.TemporaryDirectory() as tmp:
        recommender = get_recommender(strategy, history=History(Path(tmp) / "history.sqlite"), exclude=(ctx.name,))
        return list(recommender.recommend(ctx.profile, n=n))


def _offline(ctx: Context, n: int) -> list[Config]:
    return [r.config for r in recommendations(ctx, "offline", n)]


def _offline_top1(ctx: Context) -> Plan:
    return Plan(single=_offline(ctx, 1)[0])


def _offline_top1_plain(ctx: Context) -> Plan:
    return Plan(single=recommendations(ctx, "offline-plain", 1)[0].config)


def _offline_auto(strategy: str) -> Callable[[Context], Plan]:
    def plan(ctx: Context) -> Plan:
        return Plan(race=tuple(recommendations(ctx, strategy, RunOptions.n)[:RACE_SIZE]))  # as `%%cash --auto`

    return plan


def _offline_best(ctx: Context) -> Plan:
    return Plan(search=tuple(_offline(ctx, ctx.k)))


def _offline_blend(ctx: Context) -> Plan:
    return Plan(blend=tuple(_offline(ctx, ctx.k)))


def _llm(strategy: str, blend: bool) -> Callable[[Context], Plan]:
    def plan(ctx: Context) -> Plan:
        configs = tuple(r.config for r in recommendations(ctx, strategy, ctx.k if blend else 1))
        return Plan(blend=configs) if blend and len(configs) > 1 else Plan(single=configs[0])

    return plan


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy("lightgbm-defaults", _lightgbm_defaults, "LightGBM with its library defaults (1 fit)"),
        Strategy("defaults", _defaults, "the `defaults` recommender's first pick (1 fit)"),
        Strategy("flaml-zero-shot", _flaml, "FLAML's zero-shot LightGBM config, `flaml.default` (1 fit)", ("flaml",)),
        Strategy("random-K", _random, "random search over every family: K configs cross-validated, best refit"),
        Strategy("tpe-K", _tpe, "Optuna TPE over every family: K configs cross-validated, best refit"),
        Strategy("offline-top1", _offline_top1, "the offline recommender's first pick (1 fit)"),
        Strategy(
            "offline-top1-plain",
            _offline_top1_plain,
            "the offline first pick of a plain install, without the optional XGBoost and CatBoost (1 fit)",
        ),
        Strategy(
            "offline-auto",
            _offline_auto("offline"),
            f"what `--auto` trains: the offline top {RACE_SIZE} raced on a held-out third of the training split "
            "within a budget of about two fits (on all three thirds where their laps are quick), the winner fit",
        ),
        Strategy(
            "offline-auto-plain",
            _offline_auto("offline-plain"),
            "`--auto` on a plain install, without the optional XGBoost and CatBoost",
        ),
        Strategy("offline-best-of-K", _offline_best, "the offline top K cross-validated, best refit"),
        Strategy(
            "offline-blend-K",
            _offline_blend,
            "blend of the offline top K, weighted by ensemble selection on out-of-fold predictions (K × cv fits)",
        ),
    )
}
LLM_STRATEGIES = {
    f"{name}-{kind}": Strategy(f"{name}-{kind}", _llm(name, kind == "blend-K"), f"LLM {name}, {kind}")
    for name in ("zero-shot", "meta-informed")
    for kind in ("top1", "blend-K")
}


def budgeted(name: str) -> Strategy | None:
    """A K strategy at a budget of its own, whatever ``--k`` says: ``tpe-20``, ``offline-blend-10``."""
    prefix, _, budget = name.rpartition("-")
    template = STRATEGIES.get(f"{prefix}-K")
    if template is None or not budget.isdecimal() or int(budget) < 1:
        return None
    k = int(budget)
    return Strategy(name, lambda ctx: template.plan(dataclasses.replace(ctx, k=k)), f"{template.help} (K = {k})")


def llm_configured() -> bool:
    """Whether an LLM endpoint is configured (the environment, as the magic reads it)."""
    return LLMSettings.resolve().configured


def available(names: list[str] | None = None) -> list[Strategy]:
    """The strategies to run: the given names, or every one whose requirements are met."""
    known = STRATEGIES | LLM_STRATEGIES
    if names:
        chosen = [known.get(n) or budgeted(n) for n in names]
        unknown = [n for n, s in zip(names, chosen, strict=True) if s is None]
        if unknown:
            raise CashError(
                f"unknown strategy {unknown[0]!r}; known: {', '.join(known)} (a K strategy also at a budget "
                "of its own: tpe-20, offline-blend-10)"
            )
        return chosen
    chosen = [s for s in STRATEGIES.values() if all(_installed(p) for p in s.requires)]
    return chosen + (list(LLM_STRATEGIES.values()) if llm_configured() else [])


def _installed(package: str) -> bool:
    from importlib.util import find_spec

    return find_spec(package) is not None


def tpe_study(seed: int) -> optuna.Study:
    return quiet_study(tpe_sampler(seed))
