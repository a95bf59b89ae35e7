"""Where llm_cash_magic keeps its files (the history, Optuna's studies, your own knowledge base)."""

from __future__ import annotations

import os
from pathlib import Path


def default_home() -> Path:
    """``$LLM_CASH_HOME``, else ``llm_cash_magic`` under the Jupyter data directory."""
    if os.environ.get("LLM_CASH_HOME"):
        return Path(os.environ["LLM_CASH_HOME"]).expanduser()
    from jupyter_core.paths import jupyter_data_dir  # only then: it costs a tenth of %load_ext

    return Path(jupyter_data_dir()) / "llm_cash_magic"
