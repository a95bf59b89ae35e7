"""Stage 1 of the pipeline: a DataFrame and its target → a TaskProfile (aggregates only, never a cell)."""

from .frames import fingerprint, profile
from .task_profile import META_FEATURES_VERSION, Column, TaskProfile

__all__ = ["META_FEATURES_VERSION", "Column", "TaskProfile", "fingerprint", "profile"]
