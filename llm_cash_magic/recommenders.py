"""The recommender protocol, the ``defaults`` baseline, and the strategy names the magic accepts.

A recommender turns a TaskProfile into a ranked stream of Recommendations. Every recommendation
is validated against the space before it is yielded, so consumers never see an invalid config.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from .errors import CashError
from .history import History
from .llm import plural
from .llm.settings import LLMSettings
from .profiling import TaskProfile
from .space import Config, family

STRATEGIES = ("auto", "zero-shot", "meta-informed", "offline", "defaults")
LLM_STRATEGIES = ("zero-shot", "meta-informed")


@dataclass(frozen=True)
class Recommendation:
    """A validated family + hyperparameters, why it was chosen, and who chose it."""

    family: str
    params: dict
    rationale: str
    source: str  # "defaults", "offline", "llm:<model>", ...
    notes: tuple[str, ...] = ()  # repairs made while validating what the source said

    @property
    def config(self) -> Config:
        return Config(self.family, self.params, self.notes)

    def to_dict(self) -> dict:
        return {"family": self.family, "params": self.params, "rationale": self.rationale,
                "source": self.source, "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, data: dict) -> Recommendation:
        return cls(data["family"], data["params"], data["rationale"], data["source"], tuple(data["notes"]))


class Recommender(Protocol):
    """Turns a profile into a ranked stream of validated recommendations.

    One that talks to a model may also offer, for the panel: ``model`` (its name, for the header);
    ``messages(profile, n, notes)``, the exact chat messages ``recommend`` sends first ("Show
    prompt"); and ``on_text``, an attribute (None by default) that the panel sets to a callable
    before iterating, called with each piece of raw response text as it arrives (the live view).
    """

    name: str

    def recommend(self, profile: TaskProfile, n: int = 5, notes: str = "") -> Iterator[Recommendation]:
        """Yield up to ``n`` validated recommendations, best first, as soon as each is ready."""
        ...


class DefaultsRecommender:
    """Each family with its library defaults, ranked by a transparent rule on the profile.

    The rule: small (< 1,000 rows) or wide (more features than rows / 10) data → regularised
    linear model first, then forests; large data (≥ 10,000 rows) → LightGBM first, with kNN and
    MLP last (slow to predict / train at scale); otherwise gradient boosting, then forests.
    This is the honest baseline every learned recommender must beat.
    """

    name = "defaults"

    def recommend(self, profile: TaskProfile, n: int = 5, notes: str = "") -> Iterator[Recommendation]:
        for name, reason in size_rule(profile)[:n]:
            yield Recommendation(name, family(name).defaults(profile.task), reason, self.name)


def size_rule(p: TaskProfile) -> list[tuple[str, str]]:
    """Families best first, each with the reason for its place."""
    rows, feats = p.n_rows, p.n_features
    if rows < 1_000 or feats * 10 > rows:
        size = f"{rows:,} rows" if rows < 1_000 else f"{feats} features for {rows:,} rows"
        return [
            ("linear", f"regularised linear models are hard to beat with {size}"),
            ("random_forest", f"forests need no tuning and rarely overfit {size}"),
            ("extra_trees", "like a random forest with random split points, smoother on small data"),
            ("hist_gradient_boosting", f"boosting's default 100 rounds can overfit {size}"),
            ("lightgbm", f"boosting's default 100 rounds can overfit {size}"),
            ("knn", "works when near rows share targets after scaling; no training"),
            ("mlp", f"neural networks usually need more than {size}"),
        ]
    kinds = "mixed numeric/categorical" if p.count("categorical", "boolean") else "numeric"
    if rows >= 10_000:
        return [
            ("lightgbm", f"gradient boosting is the strongest default on {rows:,} rows of {kinds} data"),
            ("hist_gradient_boosting", "scikit-learn's histogram boosting, close to LightGBM, with early stopping"),
            ("random_forest", "robust without tuning, but usually behind boosting at this size"),
            ("extra_trees", "robust without tuning, but usually behind boosting at this size"),
            ("linear", "a fast baseline that misses the interactions trees find"),
            ("mlp", "can compete at this size, but its defaults are rarely right"),
            ("knn", f"prediction cost grows with the {rows:,} rows; last at this size"),
        ]
    return [
        ("hist_gradient_boosting", f"boosted trees usually lead on {rows:,} rows of {kinds} data"),
        ("lightgbm", f"boosted trees usually lead on {rows:,} rows of {kinds} data"),
        ("random_forest", "robust without tuning, close behind boosting at this size"),
        ("extra_trees", "robust without tuning, close behind boosting at this size"),
        ("linear", "a fast baseline that misses the interactions trees find"),
        ("mlp", "can compete on numeric data, but its defaults are rarely right"),
        ("knn", "works when near rows share targets after scaling"),
    ]


def get_recommender(strategy: str, *, settings: LLMSettings | None = None, history: History | None = None,
                    run_id: str | None = None, exclude: tuple[str, ...] = ()) -> Recommender:
    """The recommender for a concrete strategy name; 'auto' must be resolved by the caller.

    LLM strategies use ``settings`` (default: from the environment) and record their requests in
    ``history`` under ``run_id``; ``exclude`` names knowledge-base tasks the offline recommender
    and meta-informed prompts leave out (the benchmark's leave-one-out).
    """
    if strategy == "auto":
        raise ValueError("resolve strategy 'auto' first (resolve_auto)")
    if strategy not in STRATEGIES:
        raise CashError(f"strategy={strategy!r} is not a strategy; use one of: {', '.join(STRATEGIES)}")
    if strategy in LLM_STRATEGIES:
        from .llm.recommender import LLMRecommender  # it imports this module; openai loads only when needed

        return LLMRecommender(strategy, settings or LLMSettings.resolve(), history, run_id=run_id, exclude=exclude)
    if strategy == "offline":
        return offline_fallback(history, exclude)
    return DefaultsRecommender()


def offline_fallback(history: History | None = None, exclude: tuple[str, ...] = ()) -> Recommender:
    """The recommender that answers without an LLM, or fills in what it left out."""
    from .offline import OfflineRecommender  # it imports Recommendation from here

    return OfflineRecommender(history=history, exclude=exclude)


def resolve_auto(settings: LLMSettings, n_past_tasks: int = 0) -> tuple[str, str]:
    """The strategy 'auto' stands for, and a one-line banner saying why."""
    if settings.configured:
        where = f"{settings.model} at {settings.host}"
        if n_past_tasks:
            return "meta-informed", (f"strategy auto → meta-informed: {where}, shown the "
                                     f"{plural(n_past_tasks, 'most similar past task')} (knowledge base and history)")
        why = "CashMagics.k = 0 shows none" if not settings.k else "no similar past task known"
        return "zero-shot", f"strategy auto → zero-shot: {where} ({why})"
    return "offline", (
        "strategy auto → offline: no LLM endpoint configured (set "
        f'${settings.api_key_env}, or %config CashMagics.base_url = "http://…/v1" for a local server; '
        "%cash config shows the settings)"
    )


def auto_past_tasks(profile: TaskProfile, settings: LLMSettings, history: History) -> list:
    """The past tasks a meta-informed prompt would show ('auto' picks meta-informed when there are
    any); none without an endpoint, where they do not matter."""
    if not settings.configured or not settings.k:
        return []
    from . import knowledge

    return knowledge.past_tasks(profile, settings.k, history=history)


def recommend(profile: TaskProfile, strategy: str = "auto", n: int = 5, notes: str = "",
              settings: LLMSettings | None = None) -> list[Recommendation]:
    """Recommendations for ``profile`` (Python API mirror of the magic)."""
    if not isinstance(n, int) or n < 1:
        raise CashError(f"n={n!r} must be a positive integer")
    settings = settings or LLMSettings.resolve()
    if strategy == "auto":
        strategy, _ = resolve_auto(settings, len(auto_past_tasks(profile, settings, History())))
    return list(get_recommender(strategy, settings=settings).recommend(profile, n=n, notes=notes))
