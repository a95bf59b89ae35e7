"""The quickstart notebook in a real kernel (nbclient): it runs, and the score lands in the history."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from llm_cash_magic import History

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

pytestmark = pytest.mark.kernel


def test_quickstart_runs_and_records_its_score():
    nb = nbformat.read(NOTEBOOKS / "quickstart.ipynb", as_version=4)
    replies = {}

    def remember(cell, cell_index, execute_reply):
        replies[cell_index] = execute_reply

    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        on_cell_executed=remember,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()

    magic_index = next(i for i, c in enumerate(nb.cells) if c.source.startswith("%%cash df target=price --auto"))
    printed = "".join(o.get("text", "") for o in nb.cells[magic_index].outputs if o.output_type == "stream")
    score = float(re.search(r"rmse: ([\d.]+) ±", printed).group(1))

    panel_index = next(i for i, c in enumerate(nb.cells) if c.source.strip() == "%%cash df target=price")
    shown = [o for o in nb.cells[panel_index].outputs if o.output_type == "display_data"]
    assert any("application/vnd.jupyter.widget-view+json" in o["data"] for o in shown)  # the panel

    runs = History.from_environment().runs()
    [run] = [r for r in runs if "auto" in r["options"]["flags"]]
    [trial] = [t for t in run["trials"] if t["source"] != "reference"]
    assert run["data_name"] == "df" and run["n_rows"] == 53_940
    assert trial["status"] == "done" and trial["cv_mean"] == pytest.approx(score, abs=1e-4)
    assert 0 < score < 1500  # diamonds prices: a working model is far below the 3,989 dollar std

    payloads = replies[magic_index]["content"]["payload"]
    [next_input] = [p for p in payloads if p["source"] == "set_next_input"]
    assert next_input["text"] == trial["code"] and next_input["replace"] is False
