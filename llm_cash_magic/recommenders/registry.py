"""The strategies ``%%cash`` accepts (one registry, like ``FAMILIES`` and ``METRICS``), and the
recommender each one builds."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import CashError
from ..profiling import TaskProfile
from ..space import FAMILIES
from ..text import plural
from .base import Notify, PastTask, PastTaskSource, Recommender, quiet
from .defaults import DefaultsRecommender
from .llm.recommender import LLMHistory, LLMRecommender
from .llm.settings import LLMSettings
from .offline import OfflineRecommender, past_tasks


@dataclass(frozen=True)
class Strategy:
    name: str
    help: str
    uses_llm: bool = False


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy(
            "auto",
            "meta-informed with an LLM endpoint and similar past tasks, zero-shot with an endpoint "
            "only, offline without one",
        ),
        Strategy("zero-shot", "an LLM shown the task profile and the hyperparameter grid", uses_llm=True),
        Strategy(
            "meta-informed",
            "an LLM also shown the most similar past tasks and how configurations did there",
            uses_llm=True,
        ),
        Strategy("offline", "the built-in meta-learner over the knowledge base and your history"),
        Strategy("defaults", "each family's library defaults, ranked by a rule on the data's size"),
    )
}
LLM_STRATEGIES = tuple(name for name, s in STRATEGIES.items() if s.uses_llm)


def get_recommender(
    strategy: str,
    *,
    settings: LLMSettings | None = None,
    history: LLMHistory | None = None,
    run_id: str | None = None,
    exclude: tuple[str, ...] = (),
    notify: Notify = quiet,
    families: tuple[str, ...] | None = None,
) -> Recommender:
    """The recommender for a concrete strategy name; 'auto' must be resolved by the caller.

    LLM strategies use ``settings`` (default: from the environment) and record their requests in
    ``history`` under ``run_id``; the offline recommender learns from ``history`` too. ``exclude``
    names knowledge-base tasks left out (the benchmark's leave-one-out); ``notify`` receives the
    recommender's one-line notes. ``families`` limits the offline and defaults recommenders to
    those that can train on the data (an LLM is told in the pipeline's notes).
    """
    if strategy == "auto":
        raise ValueError("resolve strategy 'auto' first (resolve_auto)")
    if strategy not in STRATEGIES:
        raise CashError(f"strategy={strategy!r} is not a strategy; use one of: {', '.join(STRATEGIES)}")
    if strategy in LLM_STRATEGIES:
        if history is None:
            raise ValueError(f"strategy {strategy} records its requests: pass a history")
        return LLMRecommender(
            strategy, settings or LLMSettings.resolve(), history, run_id=run_id, exclude=exclude, notify=notify
        )
    if strategy == "offline":
        return OfflineRecommender(history=history, exclude=exclude, notify=notify, families=families or tuple(FAMILIES))
    return DefaultsRecommender(families)


def resolve_auto(settings: LLMSettings, n_past_tasks: int = 0) -> tuple[str, str]:
    """The strategy 'auto' stands for, and a one-line banner saying why."""
    if settings.configured:
        where = f"{settings.model} at {settings.host}"
        if n_past_tasks:
            return "meta-informed", (
                f"strategy auto → meta-informed: {where}, shown the "
                f"{plural(n_past_tasks, 'most similar past task')} (knowledge base and history)"
            )
        why = "CashMagics.k = 0 shows none" if not settings.k else "no similar past task known"
        return "zero-shot", f"strategy auto → zero-shot: {where} ({why})"
    return "offline", (
        "strategy auto → offline: no LLM endpoint configured (set "
        f'${settings.api_key_env}, or %config CashMagics.base_url = "http://…/v1" for a local server; '
        "%cash config shows the settings)"
    )


def auto_past_tasks(profile: TaskProfile, settings: LLMSettings, history: PastTaskSource | None) -> list[PastTask]:
    """The past tasks a meta-informed prompt would show ('auto' picks meta-informed when there are
    any); none without an endpoint, where they do not matter."""
    if not settings.configured or not settings.k:
        return []
    return past_tasks(profile, settings.k, history=history)
