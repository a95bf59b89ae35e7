"""The panel in a real Jupyter kernel: shown by ``%%cash``, saved with the notebook's widget state,
and its Run button driven by the same comm message a browser sends when the button is clicked."""

from __future__ import annotations

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

from llm_cash_magic.space import family

pytestmark = pytest.mark.kernel

MAKE_FRAME = """\
import numpy as np
import pandas as pd
rng = np.random.default_rng(7)
area = rng.uniform(30, 200, 300)
houses = pd.DataFrame({"area": area, "rooms": rng.integers(1, 7, 300), "city": rng.choice(["Lyon", "Paris"], 300)})
houses["price"] = 2000 * area + rng.normal(0, 20000, 300)
"""
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_cash_in_a_kernel_shows_the_panel_and_the_executed_notebook_keeps_its_widget_state(tmp_path, history):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(source)
            for source in (MAKE_FRAME, "%load_ext llm_cash_magic", "%%cash houses target=price cv=3")
        ]
    )
    NotebookClient(
        nb, kernel_name="python3", timeout=300, store_widget_state=True, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    state = nb.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    [output] = [o for o in nb.cells[2].outputs if WIDGET_VIEW in o.get("data", {})]
    assert state[output.data[WIDGET_VIEW]["model_id"]]["model_name"] == "VBoxModel"
    assert "--auto" in output.data["text/plain"]  # what frontends without widgets show
    runs = [
        s["state"] for s in state.values() if s["model_name"] == "ButtonModel" and s["state"]["description"] == "Run"
    ]
    assert len(runs) == 5 and not any(b["disabled"] for b in runs)
    text = " ".join(str(s["state"].get("value", "")) for s in state.values() if s["model_name"] == "HTMLModel")
    [run] = history.runs()
    top = family(run["recommendations"][0]["family"]).label  # the offline recommender's first pick
    assert "houses</span>: 300 rows" in text and f"#1 {top}</b>" in text
    assert len(run["recommendations"]) == 5 and run["trials"] == []  # nothing trains before Run
    # what a reopened notebook shows once the widgets are gone: the static copy, kept with the outputs
    [static] = [
        o.data["text/html"] for o in nb.cells[2].outputs if "lcm-static-" in o.get("data", {}).get("text/html", "")
    ]
    assert f"<b>#1 {top}</b>: " in static and f"run {run['id']}" in static and "nothing trained yet" in static
    hidden = static.split('"')[1]  # its class, which a style rule inside the live panel hides
    assert f"<style>.{hidden} {{ display: none !important; }}</style>" in text


def test_clicking_run_in_a_kernel_streams_fold_lines_into_the_card_and_records_the_score(history):
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        opened = []
        for code in (MAKE_FRAME, "%load_ext llm_cash_magic", "%%cash houses target=price cv=3"):
            reply = kc.execute_interactive(code, output_hook=opened.append, timeout=300)
            assert reply["content"]["status"] == "ok"
        [run_button, *_] = [
            m["content"]["comm_id"]
            for m in opened
            if m["msg_type"] == "comm_open" and m["content"]["data"].get("state", {}).get("description") == "Run"
        ]

        click = kc.session.msg(
            "comm_msg", {"comm_id": run_button, "data": {"method": "custom", "content": {"event": "click"}}}
        )
        kc.shell_channel.send(click)
        during = _iopub_until_idle(kc, click["header"]["msg_id"])

        printed = "".join(m["content"]["text"] for m in during if m["msg_type"] == "stream")
        assert "fold 1/3: rmse" in printed and "fold 3/3: rmse" in printed
        states = [m["content"]["data"].get("state", {}) for m in during if m["msg_type"] == "comm_msg"]
        # the card's Output widget claims the click's messages: that is how the prints land in the card
        assert {"msg_id": click["header"]["msg_id"]} in states
        [trial] = [t for t in history.runs()[0]["trials"] if t["source"] != "reference"]
        assert trial["status"] == "done"
        final = [s["value"] for s in states if "<b>rmse" in str(s.get("value", ""))]
        assert (
            len(final) == 1
            and (
                f"<b>rmse {trial['cv_mean']:.4f} ± {trial['cv_std']:.4f}</b> over 3 folds · "
                f"fit time {trial['fit_seconds']:.1f} s<br>rmse on the same folds: LightGBM defaults "
            )
            in final[0]
            and "trivial predictor (the mean)" in final[0]
        )
        # the static copy, updated once the card's Output widget stopped capturing (it would take the update)
        updates = [i for i, m in enumerate(during) if m["msg_type"] == "update_display_data"]
        released = [i for i, m in enumerate(during) if m["msg_type"] == "comm_msg" and states_of(m) == {"msg_id": ""}]
        assert updates and released and updates[-1] > released[-1]
        static = during[updates[-1]]["content"]["data"]["text/html"]
        assert f"{trial['cv_mean']:.4f}" in static and "LightGBM defaults (reference)" in static
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def states_of(message: dict) -> dict:
    return message["content"]["data"].get("state", {})


def _iopub_until_idle(kc, parent_id: str) -> list[dict]:
    messages = []
    while True:
        msg = kc.get_iopub_msg(timeout=300)
        if msg["parent_header"].get("msg_id") != parent_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return messages
        messages.append(msg)
