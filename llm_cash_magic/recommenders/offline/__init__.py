"""The ``offline`` recommender: a nearest-tasks meta-learner over the knowledge base (plain JSON
shipped in the package, loaded lazily) and your own history. Its builder is
``python -m llm_cash_magic.bench.build_knowledge``, which needs the benchmark's dataset catalog."""

from .knowledge import FORMAT, KNOWLEDGE_FILE, KnowledgeBase, knowledge_path, load, past_tasks
from .meta_learner import DEFAULT_K, OfflineRecommender

__all__ = [
    "DEFAULT_K",
    "FORMAT",
    "KNOWLEDGE_FILE",
    "KnowledgeBase",
    "OfflineRecommender",
    "knowledge_path",
    "load",
    "past_tasks",
]
