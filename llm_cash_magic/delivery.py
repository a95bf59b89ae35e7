"""Where the code of a Run goes: the single door between the panel and the notebook.

Every Run (a card's, a blend's) calls ``deliver_and_run``. A frontend bridge that inserts the
code as a new cell below the ``%%cash`` cell and runs it there belongs in front of the kernel
fallback below, so that the panel's code never changes when a frontend can do better.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import pipeline
from .history import History


@dataclass(frozen=True)
class Delivery:
    """What happened to the code: inserted as a cell that runs in the notebook, or run here."""

    inserted: bool  # a frontend inserted and runs the cell; its result reaches the history later
    error: str | None = None  # one line when running it here failed


def deliver_and_run(code: str, trial_id: str, history: History, namespace: dict) -> Delivery:
    """Deliver generated code to the notebook and run it; without a frontend that can insert
    cells (Notebook 7, VS Code, nbclient, plain IPython), run it in this kernel's ``namespace``.

    Never ``set_next_input`` here: from a widget callback its payload would ride on the reply
    to whichever cell the user runs next and insert the code below that one.
    """
    return Delivery(inserted=False, error=pipeline.execute(code, namespace, history, trial_id))
