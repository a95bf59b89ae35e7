"""Recording a finished trial: the call generated code ends with."""

from __future__ import annotations

import sqlite3

from ..codegen import BLEND, blend_params_of
from ..errors import CashError
from ..space import family_of, params_from_estimator
from .history import History


def record_result(trial_id: str, model, scores, fit_seconds: float, history: History | None = None) -> None:
    """Store a finished trial's scores; called by the last line of generated code.

    The hyperparameters are read from the fitted model itself, so edits made in the cell are
    recorded as overrides. Recording never breaks the user's code: problems print one line.
    """
    history = history or History.from_environment()
    try:
        trial = history.trial(trial_id)
        if trial is None:
            print(f"llm_cash_magic: trial {trial_id!r} is not in {history.path}; result not recorded")
            return
        if trial["family"] == BLEND:
            family, params = BLEND, blend_params_of(model, trial["task"])
        else:
            estimator = model.steps[-1][1] if hasattr(model, "steps") else model
            family = family_of(estimator) or trial["family"]
            params = params_from_estimator(family, trial["task"], estimator)
        history.finish_trial(trial_id, family=family, params=params, scores=scores, fit_seconds=fit_seconds)
    except (sqlite3.Error, OSError, CashError) as exc:
        print(f"llm_cash_magic: could not record the result: {exc}")
