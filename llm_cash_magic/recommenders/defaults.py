"""The ``defaults`` recommender: each family's library defaults, ranked by a transparent rule."""

from __future__ import annotations

from collections.abc import Collection, Iterator

from ..profiling import TaskProfile
from ..space import family
from .base import DEFAULT_N, Recommendation


class DefaultsRecommender:
    """Each family with its library defaults, ranked by a transparent rule on the profile.

    The rule: small (< 1,000 rows) or wide (more features than rows / 10) data → regularised
    linear model first, then forests; large data (≥ 10,000 rows) → LightGBM first, with kNN and
    MLP last (slow to predict / train at scale); otherwise gradient boosting, then forests.
    This is the honest baseline every learned recommender must beat.
    """

    name = "defaults"

    def __init__(self, families: Collection[str] | None = None):
        self.families = families  # None: every family

    def recommend(self, profile: TaskProfile, n: int = DEFAULT_N, notes: str = "") -> Iterator[Recommendation]:
        ranked = [(name, why) for name, why in size_rule(profile) if self.families is None or name in self.families]
        for name, reason in ranked[:n]:
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
