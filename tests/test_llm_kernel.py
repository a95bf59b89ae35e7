"""``%%cash`` in a real Jupyter kernel (nbclient) asking the fake OpenAI-compatible server."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ANSWER = (
    '{"family": "linear", "params": {"alpha": 2.0}, "rationale": "few rows: a regularised baseline"}\n'
    '{"family": "random_forest", "params": {"n_estimators": 50}, "rationale": "robust without tuning"}\n'
)
SETUP = """\
%load_ext llm_cash_magic
import numpy as np
import pandas as pd
rng = np.random.default_rng(0)
df = pd.DataFrame({"area": rng.uniform(30, 200, 120), "city": rng.choice(["a", "b"], 120)})
df["price"] = 2000 * df["area"] + rng.normal(0, 1000, 120)
"""


@pytest.mark.kernel
def test_cash_in_a_real_kernel_streams_from_the_endpoint_and_trains(llm_env, history):
    llm_env.reply(ANSWER)
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(SETUP),
            nbformat.v4.new_code_cell("%%cash df target=price n=2 --auto\nprices are heavy-tailed"),  # no panel
        ]
    )
    replies = []
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=120,
        on_cell_executed=lambda cell, execute_reply, **_: replies.append(execute_reply),
    )
    client.execute()  # raises if any cell fails

    text = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in nb.cells[1].outputs)
    assert "strategy auto → meta-informed: fake-model at 127.0.0.1" in text and "5 most similar past tasks" in text
    assert "LLM: fake-model at 127.0.0.1" in text and "2 usable" in text
    assert "llm:fake-model" in text and "regularised baseline" in text
    (request,) = llm_env.chat_requests
    assert '"prices are heavy-tailed"' in request.messages[1]["content"]
    won = next(line for line in text.splitlines() if line.endswith(" won the race"))  # the two raced
    (payload,) = replies[1]["content"]["payload"]
    assert payload["source"] == "set_next_input"
    assert ("alpha=2.0" if won.startswith("#1 ") else "n_estimators=50") in payload["text"]
    (run,) = history.runs()
    assert run["strategy"] == "meta-informed" and run["trials"][0]["status"] == "done"
    assert history.requests(run["id"])[0]["response"] == ANSWER


@pytest.mark.kernel
def test_the_endpoints_notebook_runs_and_shows_each_configuration():
    path = Path(__file__).parent.parent / "notebooks" / "llm_endpoints.ipynb"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(path.parent)}}).execute()
    text = "".join(o.get("text", "") for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs)
    for endpoint in (
        "https://api.openai.com/v1",
        "https://YOUR-RESOURCE.openai.azure.com/openai/v1/",
        "http://localhost:8000/v1",
        "http://localhost:11434/v1",
        "http://localhost:8080/v1",
    ):
        assert f"LLM endpoint: {endpoint} (%config)" in text
    assert "API key: not set ($AZURE_OPENAI_API_KEY is empty)" in text
    assert "──── user ────" in text and "nothing was sent, stored or run" in text
