"""The kernel half of the cell bridge, in a real kernel, talked to by a real Jupyter client that
speaks the labextension's side of the protocol (the browser tests drive the real labextension).
"""

from __future__ import annotations

import re
import uuid

import pytest
from jupyter_client.manager import start_new_kernel
from jupyter_client.session import Session

from llm_cash_magic.run.bridge import COMM_TARGET

pytestmark = pytest.mark.kernel

FRAME = """
import numpy as np, pandas as pd
rng = np.random.default_rng(0)
df = pd.DataFrame({"area": rng.uniform(30, 200, 120), "rooms": rng.integers(1, 6, 120)})
df["price"] = 2000 * df.area + 10000 * df.rooms + rng.normal(0, 5000, 120)
"""


class Client:
    """One Jupyter client of the kernel (as a JupyterLab page is), with its own session id."""

    def __init__(self, kernel_manager):
        own = Session(key=kernel_manager.session.key, signature_scheme=kernel_manager.session.signature_scheme)
        self.kc = kernel_manager.client(session=own)
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        self.session = self.kc.session.session

    def execute(self, code: str, cell_id: str | None = None) -> tuple[list[dict], dict]:
        """Run ``code`` as the cell ``cell_id``; the IOPub messages it caused and its reply."""
        metadata = {"cellId": cell_id} if cell_id else {}
        msg = self.kc.session.msg(
            "execute_request",
            {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False},
            metadata=metadata,
        )
        self.kc.shell_channel.send(msg)
        reply = self.kc.get_shell_msg(timeout=120)
        while reply["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
            reply = self.kc.get_shell_msg(timeout=120)
        return self._iopub_until_idle(msg["header"]["msg_id"]), reply

    def _iopub_until_idle(self, msg_id: str) -> list[dict]:
        messages = []
        while True:
            msg = self.kc.get_iopub_msg(timeout=120)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return messages
            messages.append(msg)

    def send_comm(self, msg_type: str, content: dict) -> None:
        self.kc.shell_channel.send(self.kc.session.msg(msg_type, content))

    def send_and_wait(self, msg_type: str, content: dict) -> list[dict]:
        """Send a comm message (a widget click, say); the IOPub messages it caused."""
        msg = self.kc.session.msg(msg_type, content)
        self.kc.shell_channel.send(msg)
        return self._iopub_until_idle(msg["header"]["msg_id"])

    def stop(self) -> None:
        self.kc.stop_channels()


def comm_opens(messages: list[dict]) -> list[dict]:
    return [m for m in messages if m["msg_type"] == "comm_open" and m["content"]["target_name"] == COMM_TARGET]


def bridge_requests(messages: list[dict]) -> list[dict]:
    return [
        m["content"]["data"]
        for m in messages
        if m["msg_type"] == "comm_msg" and m["content"]["data"].get("type") == "insert-and-run"
    ]


def printed(messages: list[dict]) -> str:
    return "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")


def widget_values(messages: list[dict]) -> list[str]:
    """The values widgets were updated to (the panel's status lines among them)."""
    return [
        str(m["content"]["data"]["state"]["value"])
        for m in messages
        if m["msg_type"] == "comm_msg" and "value" in m["content"]["data"].get("state", {})
    ]


def set_next_input(reply: dict) -> list[str]:
    return [p["text"] for p in reply["content"].get("payload", []) if p["source"] == "set_next_input"]


@pytest.fixture
def kernel(home):
    km, kc = start_new_kernel(kernel_name="python3")
    kc.stop_channels()
    yield km
    km.shutdown_kernel(now=True)


@pytest.fixture
def lab(kernel):
    """A client that loaded the extension and answered the kernel's hello, as the labextension does."""
    client = Client(kernel)
    messages, _ = client.execute("%load_ext llm_cash_magic\n" + FRAME)
    (hello,) = comm_opens(messages)
    assert hello["content"]["data"] == {"type": "hello"}
    client.comm_id = hello["content"]["comm_id"]
    client.send_comm("comm_msg", {"comm_id": client.comm_id, "data": {"type": "ready"}})
    yield client
    client.stop()


def test_with_a_ready_frontend_the_code_goes_to_it_instead_of_running_in_the_kernel(lab):
    messages, reply = lab.execute("%%cash df target=price --auto", cell_id="cell-of-cash")
    (request,) = bridge_requests(messages)
    assert request["below"] == "cell-of-cash"
    assert request["client"] == lab.session
    assert "cash_model = Pipeline(" in request["code"] and "record_result(" in request["code"]
    assert set_next_input(reply) == []
    assert "fold 1/" not in printed(messages)  # nothing trained in the kernel
    assert "in the new cell below" in printed(messages)


def test_the_bridged_code_is_exactly_what_the_kernel_would_have_run(lab):
    messages, _ = lab.execute("%%cash df target=price --auto", cell_id="cell-of-cash")
    (request,) = bridge_requests(messages)
    run_messages, reply = lab.execute(request["code"], cell_id="the-new-cell")
    assert reply["content"]["status"] == "ok"
    assert "rmse:" in printed(run_messages)
    _, check = lab.execute(
        "import llm_cash_magic as c; assert c.History.from_environment().runs()[0]['trials'][0]['status'] == 'done'"
    )
    assert check["content"]["status"] == "ok"


def test_the_panels_run_sends_the_edited_code_below_the_cash_cell(lab):
    messages, _ = lab.execute("%%cash df target=price", cell_id="cell-of-cash")  # the panel
    [run_button, *_] = [
        m["content"]["comm_id"]
        for m in messages
        if m["msg_type"] == "comm_open" and m["content"]["data"].get("state", {}).get("description") == "Run"
    ]
    assert bridge_requests(messages) == []  # nothing is trained before Run

    click = {"comm_id": run_button, "data": {"method": "custom", "content": {"event": "click"}}}
    during = lab.send_and_wait("comm_msg", click)  # a click carries no cell id: the panel kept it
    (request,) = bridge_requests(during)
    assert request["below"] == "cell-of-cash" and request["client"] == lab.session
    assert "cash_model = Pipeline(" in request["code"]
    assert "fold 1/" not in printed(during)
    assert any("inserted as a new cell below" in value for value in widget_values(during))

    ran, _ = lab.execute(request["code"], cell_id="the-new-cell")  # as JupyterLab runs the inserted cell
    assert "fold 3/5: rmse" in printed(ran)  # the cell's output stays the cell's
    values = widget_values(ran)
    assert any("training… fold 3/5: rmse" in value for value in values)  # and the card follows its folds
    assert any(
        re.search(r"<b>rmse [\d.]+ ± [\d.]+</b> over 5 folds .* in the new cell below", value) for value in values
    )


def test_copy_code_asks_the_page_for_the_clipboard_and_records_no_trial(lab):
    messages, _ = lab.execute("%%cash df target=price", cell_id="cell-of-cash")
    [copy_button, *_] = [
        m["content"]["comm_id"]
        for m in messages
        if m["msg_type"] == "comm_open" and m["content"]["data"].get("state", {}).get("description") == "Copy code"
    ]
    during = lab.send_and_wait(
        "comm_msg", {"comm_id": copy_button, "data": {"method": "custom", "content": {"event": "click"}}}
    )
    [request] = [
        m["content"]["data"]
        for m in during
        if m["msg_type"] == "comm_msg" and m["content"]["data"].get("type") == "copy"
    ]
    assert request["client"] == lab.session and request["text"].startswith("# %%cash")
    assert "record_result" not in request["text"]

    answered = lab.send_and_wait(
        "comm_msg", {"comm_id": lab.comm_id, "data": {"type": "copied", "request": request["request"], "ok": True}}
    )
    assert any("copied to the clipboard" in value for value in widget_values(answered))
    _, check = lab.execute("import llm_cash_magic as c; assert c.History.from_environment().runs()[0]['trials'] == []")
    assert check["content"]["status"] == "ok"


def test_without_a_cell_id_the_kernel_runs_the_code_itself(lab):
    messages, reply = lab.execute("%%cash df target=price --auto")  # e.g. a console: no cell to insert below
    assert bridge_requests(messages) == []
    assert "fold 1/" in printed(messages)
    assert set_next_input(reply)


def test_a_client_that_never_answered_gets_the_kernel_fallback(kernel, lab):
    other = Client(kernel)  # nbclient, VS Code, a notebook without the extension
    try:
        messages, reply = other.execute("%%cash df target=price --auto", cell_id="cell-of-cash")
        assert bridge_requests(messages) == []
        assert "fold 1/" in printed(messages)
        assert "cash_model = Pipeline(" in set_next_input(reply)[0]
    finally:
        other.stop()


def test_a_page_that_connects_after_load_ext_opens_the_channel_itself(kernel, lab):
    reloaded = Client(kernel)  # the same notebook after a browser reload: a new client
    try:
        reloaded.send_comm(
            "comm_open", {"comm_id": uuid.uuid4().hex, "target_name": COMM_TARGET, "data": {"type": "ready"}}
        )
        messages, reply = reloaded.execute("%%cash df target=price --auto", cell_id="cell-of-cash")
        (request,) = bridge_requests(messages)
        assert request["client"] == reloaded.session
        assert set_next_input(reply) == []
    finally:
        reloaded.stop()


def test_a_closed_channel_is_no_longer_used(lab):
    lab.send_comm("comm_close", {"comm_id": lab.comm_id, "data": {}})
    messages, reply = lab.execute("%%cash df target=price --auto", cell_id="cell-of-cash")
    assert bridge_requests(messages) == []
    assert "fold 1/" in printed(messages)


def test_unloading_the_extension_closes_the_channel(lab):
    messages, _ = lab.execute("%unload_ext llm_cash_magic")
    assert [m["content"]["comm_id"] for m in messages if m["msg_type"] == "comm_close"] == [lab.comm_id]
    messages, _ = lab.execute("%load_ext llm_cash_magic\n%cash df target=price --auto", cell_id="cell-of-cash")
    assert len(comm_opens(messages)) == 1  # a new hello, not yet answered: the kernel runs the code
    assert bridge_requests(messages) == []
    assert "fold 1/" in printed(messages)
