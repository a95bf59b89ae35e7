"""Kernel ↔ JupyterLab: ask the frontend to insert generated code as a new cell below the
``%%cash`` cell and run it there, or to put code on the clipboard (the frontend half is
``labextension/src/bridge.ts``).

A kernel cannot wait for a frontend's answer while it runs a cell: the answer arrives on the
same queue as the next request. So the question is asked early. ``%load_ext`` opens a comm and
every JupyterLab page with the extension answers "ready" as soon as the kernel is idle (a page
that connects later opens the comm itself). A request then goes only to a client that has
answered; one that has not — nbclient, VS Code, a notebook without the extension, or a cell
that loads the extension and runs ``%%cash`` at once — gets ``False`` and the caller runs the
code in the kernel instead.

The client is the one whose message the kernel is handling (the execute request of the
``%%cash`` cell, or the widget click that pressed Run), and the cell is named by the id that
JupyterLab sends with every execute request, so the new cell lands below the right cell even
when cells were added or moved since. Other pages on the same kernel ignore the request.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

COMM_TARGET = "llm_cash_magic"

_clients: dict[str, object] = {}  # client session id → the comm that client answered on
_copies: dict[str, Callable[[bool], None]] = {}  # copy request id → what to call with the page's answer


def connect() -> None:
    """Open the channel to any JupyterLab frontend; called by ``%load_ext llm_cash_magic``."""
    import comm

    comm.get_comm_manager().register_target(COMM_TARGET, _on_frontend_open)
    _listen(comm.create_comm(target_name=COMM_TARGET, data={"type": "hello"}))


def disconnect() -> None:
    """Close the channel; called by ``%unload_ext`` (and so by ``%reload_ext`` before connecting)."""
    import comm

    manager = comm.get_comm_manager()
    manager.unregister_target(COMM_TARGET, _on_frontend_open)
    for channel in [c for c in manager.comms.values() if c.target_name == COMM_TARGET]:
        channel.close()
    _clients.clear()


def cell_id(shell) -> str | None:
    """The id of the notebook cell being executed, if the frontend sent one (JupyterLab does)."""
    return _parent(shell).get("metadata", {}).get("cellId")


def run_in_frontend(shell, code: str, below: str | None) -> bool:
    """Ask the requesting JupyterLab client to insert ``code`` below cell ``below`` and run it.

    Returns False when no such client has answered the handshake (or there is no cell to insert
    below): the caller then runs the code itself.
    """
    client, channel = _client(shell)
    if channel is None or not below:
        return False
    channel.send({"type": "insert-and-run", "client": client, "below": below, "code": code})
    return True


def copy_in_frontend(shell, text: str, on_answer: Callable[[bool], None]) -> bool:
    """Ask the requesting JupyterLab client to put ``text`` on the clipboard.

    ``on_answer(copied)`` is called when the page answers (browsers may refuse); that answer
    comes after the current message, as every answer does. False if no such client answered
    the handshake.
    """
    client, channel = _client(shell)
    if channel is None:
        return False
    request = uuid.uuid4().hex
    _copies[request] = on_answer
    channel.send({"type": "copy", "client": client, "request": request, "text": text})
    return True


def _client(shell) -> tuple[str | None, object | None]:
    """The client whose message the kernel is handling, and its comm if it answered the handshake."""
    client = _parent(shell).get("header", {}).get("session")
    return client, _clients.get(client)


def _parent(shell) -> dict:
    """The message the kernel is handling (empty outside a kernel, e.g. in plain IPython)."""
    return getattr(shell, "parent_header", None) or {}


def _on_frontend_open(channel, msg) -> None:
    """A page that connected after ``%load_ext`` opened the comm itself: it is ready."""
    _listen(channel)
    _on_message(channel, msg)


def _listen(channel) -> None:
    channel.on_msg(lambda msg: _on_message(channel, msg))
    channel.on_close(lambda msg: _forget(channel))


def _on_message(channel, msg) -> None:
    data = msg["content"]["data"]
    if data.get("type") == "ready":
        _clients[msg["header"]["session"]] = channel
    elif data.get("type") == "copied" and data.get("request") in _copies:
        _copies.pop(data["request"])(bool(data.get("ok")))


def _forget(channel) -> None:
    for client in [c for c, known in _clients.items() if known is channel]:
        del _clients[client]
