"""Where the code of a Run goes: the single door between the panel and the notebook.

Every Run (a card's, a blend's, a refinement's) calls ``deliver_and_run``. In JupyterLab with
the labextension the cell bridge inserts the code as a new cell below the ``%%cash`` cell and
runs it there; elsewhere the code runs in this kernel, so the panel never depends on a frontend.
"""

from __future__ import annotations

from dataclasses import dataclass

from IPython import get_ipython

from . import bridge, pipeline
from .history import History


@dataclass(frozen=True)
class Delivery:
    """What happened to the code: inserted as a cell that runs in the notebook, or run here."""

    inserted: bool  # a frontend inserted and runs the cell; its result reaches the history later
    error: str | None = None  # one line when running it here failed


def deliver_and_run(code: str, trial_id: str, history: History, namespace: dict,
                    below: str | None = None) -> Delivery:
    """Deliver generated code to the notebook and run it: as a new cell below the cell ``below``
    (the ``%%cash`` cell's id) when the page that clicked has the labextension; otherwise
    (Notebook 7 without it, VS Code, nbclient, plain IPython) run it in this kernel's ``namespace``.

    Never ``set_next_input`` here: from a widget callback its payload would ride on the reply
    to whichever cell the user runs next and insert the code below that one.
    """
    if bridge.run_in_frontend(get_ipython(), code, below):
        return Delivery(inserted=True)
    return Delivery(inserted=False, error=pipeline.execute(code, namespace, history, trial_id))
