"""Stage 6 of the pipeline: the persistent history (one SQLite file) and recording a trial's result.

``history`` is the store (runs, trials, LLM requests; several kernels at once; damaged files
moved aside); ``migrations`` its schema; ``result`` the call that ends generated code.
"""

from .history import REFERENCE, History, new_run_id, overrides
from .migrations import SCHEMA_VERSION
from .result import record_result

__all__ = ["REFERENCE", "SCHEMA_VERSION", "History", "new_run_id", "overrides", "record_result"]
