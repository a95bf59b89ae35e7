"""Where the code of a Run goes: the single door between the panel and the notebook.

Every Run (a card's, a blend's, a refinement's) calls ``deliver_and_run``. In JupyterLab with
the labextension the cell bridge inserts the code as a new cell below the ``%%cash`` cell and
runs it there; elsewhere the code runs in this kernel, so the panel never depends on a frontend.
Either way the caller hears of each fold the code prints and of the end of the run, so the card
shows progress and the score wherever the code ran. Copy code goes through here too.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass

from ..codegen import FOLD_LINE
from ..text import error_line
from . import bridge
from .execute import execute

OnFold = Callable[[int, int, str, str], None]  # (fold, folds, metric, score as printed)


@dataclass(frozen=True)
class Delivery:
    """What happened to the code: run in a new notebook cell, or here; and how it ended."""

    inserted: bool  # a frontend inserted it as a cell, which ran it
    error: str | None = None  # one line when running it failed


def deliver_and_run(
    code: str,
    trial_id: str,
    namespace: dict,
    *,
    below: str | None,
    on_fold: OnFold,
    on_done: Callable[[Delivery], None],
    on_failure: Callable[[str], None],
) -> bool:
    """Deliver generated code to the notebook and run it: as a new cell below the cell ``below``
    (the ``%%cash`` cell's id) when the page that clicked has the labextension; otherwise
    (Notebook 7 without it, VS Code, nbclient, plain IPython) in this kernel's ``namespace``.

    Returns True when the code went to a new cell: ``on_fold`` and ``on_done`` are then called
    while and after that cell runs, in a later message; otherwise before this returns.
    ``on_failure(error line)`` records a run that stopped before the code recorded its result.
    Never ``set_next_input`` here: from a widget callback its payload would ride on the reply
    to whichever cell the user runs next and insert the code below that one.
    """
    shell = _shell()
    if bridge.run_in_frontend(shell, code, below):
        _watch(shell, _Waiting(trial_id, on_fold, on_done, on_failure))
        return True
    with contextlib.redirect_stdout(FoldWatcher(sys.stdout, on_fold)):
        error = execute(code, namespace, f"trial {trial_id}")
    if error:
        on_failure(error)
    on_done(Delivery(inserted=False, error=error))
    return False


def copy_to_clipboard(text: str, on_answer: Callable[[bool], None]) -> bool:
    """Ask the page that clicked to put ``text`` on its clipboard, if it has the labextension;
    ``on_answer(copied)`` is called when it answers, in a later message. False if no page can."""
    return bridge.copy_in_frontend(_shell(), text, on_answer)


def _shell():
    """The running IPython, if any (imported here: the Python API never needs IPython)."""
    from IPython import get_ipython

    return get_ipython()


@dataclass
class _Waiting:
    """A trial whose code went to a new cell that has not finished yet."""

    trial_id: str
    on_fold: OnFold
    on_done: Callable[[Delivery], None]
    on_failure: Callable[[str], None]
    folds: contextlib.redirect_stdout | None = None  # while its cell runs


_waiting: dict[str, _Waiting] = {}  # repr of the trial id (as the code names it) → its trial


def _watch(shell, waiting: _Waiting) -> None:
    """Follow the cell that runs ``waiting``'s code, known by the trial id in its source."""
    _waiting[repr(waiting.trial_id)] = waiting
    for event, callback in (("pre_run_cell", _before_cell), ("post_run_cell", _after_cell)):
        if callback not in shell.events.callbacks[event]:
            shell.events.register(event, callback)


def _find(source: str) -> str | None:
    return next((key for key in _waiting if key in source), None)


def _before_cell(info) -> None:
    key = _find(info.raw_cell or "")
    if key:
        waiting = _waiting[key]
        waiting.folds = contextlib.redirect_stdout(FoldWatcher(sys.stdout, waiting.on_fold))
        waiting.folds.__enter__()


def _after_cell(result) -> None:
    key = _find(result.info.raw_cell or "")
    if key is None:
        return
    waiting = _waiting.pop(key)
    if waiting.folds:
        waiting.folds.__exit__(None, None, None)
    exc = result.error_before_exec or result.error_in_exec
    error = None
    if exc is not None:  # the code stopped before recording its result, as execute would say
        error = error_line(exc)
        waiting.on_failure(error)
    waiting.on_done(Delivery(inserted=True, error=error))


class FoldWatcher:
    """stdout that passes everything through and reports each fold line the training code prints."""

    def __init__(self, stream, on_fold: OnFold):
        self._stream, self._on_fold, self._line = stream, on_fold, ""

    def write(self, text: str) -> int:
        written = self._stream.write(text)
        *lines, self._line = (self._line + text).split("\n")
        for line in lines:
            match = FOLD_LINE.match(line)
            if match:
                self._on_fold(int(match[1]), int(match[2]), match[3], match[4])
        return written

    def __getattr__(self, name):
        return getattr(self._stream, name)
