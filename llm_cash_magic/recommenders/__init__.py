"""Stage 2 of the pipeline: a TaskProfile → a ranked stream of validated Recommendations.

``base`` holds what every recommender shares; ``defaults`` is the honest baseline; ``offline`` is
the built-in meta-learner over the shipped knowledge base and your history; ``llm`` asks any
OpenAI-compatible endpoint, zero-shot or meta-informed; ``registry`` names the strategies.
"""

from .base import DEFAULT_N, PastTask, PastTaskSource, Recommendation, Recommender
from .defaults import DefaultsRecommender, size_rule
from .registry import LLM_STRATEGIES, STRATEGIES, auto_past_tasks, get_recommender, resolve_auto

__all__ = [
    "DEFAULT_N",
    "LLM_STRATEGIES",
    "STRATEGIES",
    "DefaultsRecommender",
    "PastTask",
    "PastTaskSource",
    "Recommendation",
    "Recommender",
    "auto_past_tasks",
    "get_recommender",
    "resolve_auto",
    "size_rule",
]
