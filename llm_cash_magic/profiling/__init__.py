"""Stage 1 of the pipeline: a DataFrame and its target → a TaskProfile (aggregates only, never a cell)."""

from .frames import fingerprint, profile
from .task_profile import Column, TaskProfile

__all__ = ["Column", "TaskProfile", "fingerprint", "profile"]
