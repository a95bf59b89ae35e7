"""The labextension in a real JupyterLab, driven in Debian's chromium by Python playwright.

One JupyterLab server for the module (on 127.0.0.1, with temporary root, workspace, settings
and history directories); a fresh page and notebook per test. The final state of each test is
saved as a screenshot under tests/artifacts/.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from llm_cash_magic import History, profile, recommend
from llm_cash_magic.recommenders import Recommendation

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("LLM_CASH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
LLM_KEY = "sk-test-key-that-must-never-reach-the-page"
TIMEOUT = 60_000  # ms; a cold kernel on a busy 2-core machine is slow

SETUP = """%load_ext llm_cash_magic
import numpy as np, pandas as pd
rng = np.random.default_rng(0)
df = pd.DataFrame({"area": rng.uniform(30, 200, 150), "rooms": rng.integers(1, 6, 150)})
df["price"] = 2000 * df.area + 10000 * df.rooms + rng.normal(0, 5000, 150)"""


def _require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    message = (
        f"browser tests need Debian's chromium at {CHROMIUM}; `make setup` installs it when run "
        "as root, otherwise: sudo apt-get install -y chromium"
    )
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A running ``jupyter lab`` (or, with ``app="notebook"``, Notebook 7) and how to reach it."""

    def __init__(self, tmp: Path, app: str = "jupyterlab"):
        self.app = app
        self.root = tmp / "root"
        self.home = tmp / "cash-home"
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        for name in ("root", "workspaces", "settings", "config", "data", "runtime", "ipython"):
            (tmp / name).mkdir()
        (tmp / "settings" / "overrides.json").write_text(
            json.dumps(
                {
                    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
                }
            )
        )
        env = os.environ | {
            "LLM_CASH_HOME": str(self.home),
            "OPENAI_API_KEY": LLM_KEY,
            "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
            "LLM_CASH_MODEL": "test-model",
            "JUPYTER_CONFIG_DIR": str(tmp / "config"),
            "JUPYTER_DATA_DIR": str(tmp / "data"),
            "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
            "IPYTHONDIR": str(tmp / "ipython"),
        }
        self.log = open(tmp / "jupyter-lab.log", "wb")  # noqa: SIM115 -- the server writes to it until stop()
        options = "LabApp" if app == "jupyterlab" else "JupyterNotebookApp"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                app,
                "--no-browser",
                "--allow-root",
                "--ip=127.0.0.1",
                f"--port={self.port}",
                f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={self.root}",
                f"--{options}.workspaces_dir={tmp / 'workspaces'}",
                f"--{options}.app_settings_dir={tmp / 'settings'}",
                f"--{options}.expose_app_in_browser=True",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_up()

    def _wait_until_up(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.process.returncode}; see {self.log.name}")
            try:
                urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2)
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"jupyter lab did not answer within {timeout} s; see {self.log.name}")

    def api(self, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.url}/api/{path}",
            method="POST" if body is not None else "GET",
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def notebook(self, name: str, sources: list[str]) -> str:
        """A notebook with these code cells in the root, its kernel started (so no kernel dialog); its URL."""
        cells = [
            {
                "cell_type": "code",
                "source": s,
                "metadata": {},
                "outputs": [],
                "execution_count": None,
                "id": f"cell-{i}",
            }
            for i, s in enumerate(sources)
        ]
        (self.root / name).write_text(
            json.dumps(
                {
                    "cells": cells,
                    "nbformat": 4,
                    "nbformat_minor": 5,
                    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                }
            )
        )
        self.api("sessions", {"path": name, "type": "notebook", "kernel": {"name": "python3"}})
        if self.app == "notebook":
            return f"{self.url}/notebooks/{name}?token={self.token}"
        workspace = Path(name).stem  # a workspace of its own: no layout left over from another test
        return f"{self.url}/lab/workspaces/{workspace}/tree/{name}?token={self.token}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    _require_chromium()
    server = Lab(tmp_path_factory.mktemp("lab"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(
        viewport={"width": 1400, "height": 1000}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def lab_history(lab) -> History:
    """The history the lab's server and kernels use."""
    return History(lab.home / "history.sqlite")


# ---- driving JupyterLab ----------------------------------------------------------------------
class Notebook:
    def __init__(self, page, url: str):
        self.page = page
        page.goto(url)
        self.panel = page.locator(".jp-NotebookPanel:visible")
        # the debugger button turns on once the page is connected to the (already running) kernel
        self.panel.locator(".jp-DebuggerBugButton[aria-disabled='false']").wait_for()

    @property
    def cells(self):
        return self.panel.locator(".jp-Notebook .jp-Cell")

    def source(self, index: int) -> str:
        """The cell's text from the notebook model (the editor only renders the lines in view)."""
        return self.page.evaluate(
            "i => window.jupyterapp.shell.currentWidget.content.model.cells.get(i).sharedModel.getSource()", index
        )

    def output(self, index: int) -> str:
        return self.cells.nth(index).locator(".jp-OutputArea").inner_text()

    def run(self, index: int) -> None:
        """Run one cell with Shift+Enter and wait until it has an execution count."""
        self.cells.nth(index).locator(".jp-InputArea-editor").click()
        self.page.keyboard.press("Shift+Enter")
        self.wait_executed(index)

    def wait_executed(self, index: int) -> None:
        prompt = self.cells.nth(index).locator(".jp-InputPrompt")
        self.page.wait_for_function(
            "el => /\\[\\d+\\]/.test(el.innerText)", arg=prompt.element_handle(), timeout=TIMEOUT * 3
        )

    def select(self, index: int) -> None:
        self.cells.nth(index).locator(".jp-InputPrompt").click()


def open_sidebar(page):
    page.locator(".jp-SideBar.jp-mod-left li[data-id='llm-cash-magic-sidebar']").click()
    sidebar = page.locator("#llm-cash-magic-sidebar")
    sidebar.wait_for()
    return sidebar


# ---- tests --------------------------------------------------------------------------------------
def test_the_panels_run_inserts_the_edited_code_below_and_the_card_and_sidebar_show_its_score(lab, page, lab_history):
    url = lab.notebook("panel.ipynb", [SETUP, "%%cash df target=price strategy=defaults"])
    nb = Notebook(page, url)
    sidebar = open_sidebar(page)
    nb.run(0)
    nb.run(1)
    nb.select(0)
    page.keyboard.press("b")  # a cell added above the %%cash cell after the panel appeared
    cash = 2
    card = nb.cells.nth(cash).locator(".widget-vbox:has(> .widget-html:has-text('#2 RandomForest · '))")
    editor = card.locator(".widget-hbox:has(> .widget-label:text-is('max_depth'))")
    trees = nb.cells.nth(cash).locator(".widget-hbox:has(> .widget-label:text-is('n_estimators')) .widget-hslider")
    expect(trees.first).to_be_visible()  # a ticked "none" (max_leaf_nodes) hides its own number, no other
    editor.locator("input[type=checkbox]").uncheck()  # "none" off: a depth of our own
    editor.locator("input[type=number]").fill("7")
    editor.locator("input[type=number]").press("Tab")

    card.locator("button:has-text('Copy code')").click()
    card.get_by_text("copied to the clipboard").wait_for()
    assert "max_depth=7," in page.evaluate("navigator.clipboard.readText()")

    run = card.locator("button:has-text('Run')")
    expect(run).to_be_enabled()
    run.click()
    generated = cash + 1
    page.wait_for_function(
        "i => window.jupyterapp.shell.currentWidget.content.model.cells.get(i).sharedModel"
        ".getSource().startsWith('# %%cash')",
        arg=generated,
    )
    assert "max_depth=7," in nb.source(generated)
    expect(nb.cells.nth(generated)).to_be_in_viewport(ratio=0.25)  # scrolled to, below the long panel
    nb.wait_executed(generated)
    nb.cells.nth(generated).locator(".jp-OutputArea", has_text="over 5 folds").wait_for(timeout=TIMEOUT * 3)
    mean, std = re.search(r"rmse: ([\d.]+) ± ([\d.]+) over 5 folds", nb.output(generated)).groups()
    card.get_by_text(re.compile(rf"rmse {mean} ± {std} over 5 folds · fit time")).wait_for()  # the card too
    board = nb.cells.nth(cash).locator(".widget-html table", has_text="#2 RandomForest (edited)")
    expect(board).to_contain_text(mean)
    expect(board).to_contain_text("LightGBM defaults (reference)")
    static = nb.cells.nth(cash).locator("[class^='lcm-static-']")
    expect(static).to_have_count(1)
    expect(static).to_be_hidden()  # the live panel hides its static copy
    ARTIFACTS.mkdir(exist_ok=True)
    board.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "panel-with-leaderboard.png"))

    page.set_viewport_size({"width": 760, "height": 1000})  # a narrow notebook beside the sidebar
    none_box = editor.locator("input[type=checkbox]")
    none_box.scroll_into_view_if_needed()
    assert none_box.bounding_box()["x"] + 10 < card.bounding_box()["x"] + card.bounding_box()["width"]
    assert card.evaluate("el => el.scrollWidth <= el.clientWidth")  # nothing hidden sideways
    page.set_viewport_size({"width": 1400, "height": 1000})

    sidebar.locator(".jp-LlmCash-run .jp-LlmCash-score", has_text=f"{mean} ± {std}").wait_for()
    assert sidebar.locator(".jp-LlmCash-shape").first.inner_text() == "150 rows × 2 features"
    trials = [t for t in lab_history.runs()[0]["trials"] if t["source"] != "reference"]
    assert [t["status"] for t in trials] == ["done"]  # the copy recorded nothing
    sidebar.locator(".jp-LlmCash-run").first.click()
    assert "max_depth None → 7" in sidebar.locator(".jp-LlmCash-overrides").inner_text()
    # a configuration is labelled by what sets it apart; its code is folded away until asked for
    details = sidebar.locator(".jp-LlmCash-details")
    expect(details.locator(".jp-LlmCash-trialDetails .jp-LlmCash-differs").first).to_contain_text("max_depth=7")
    expect(sidebar.locator(".jp-LlmCash-leaderboard")).to_contain_text("LightGBM (library defaults)")
    code = details.locator(".jp-LlmCash-codeFold pre").first
    expect(code).to_be_hidden()
    details.locator(".jp-LlmCash-codeFold summary").first.click()
    expect(code).to_be_visible()
    forest = sidebar.locator(".jp-LlmCash-params", has_text="max_depth=7,")
    assert "max_features=1.0," in forest.inner_text()  # not 1: one feature
    n_cells = nb.cells.count()
    nb.select(0)
    sidebar.locator(".jp-LlmCash-insert").first.click()
    assert nb.cells.count() == n_cells + 1
    assert "max_depth=7," in nb.source(1)

    # saved, the kernel restarted, the page reloaded: the widgets are gone, their static copy is not
    page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("!window.jupyterapp.shell.currentWidget.context.model.dirty")
    for kernel in {s["kernel"]["id"] for s in lab.api("sessions") if s["path"] == "panel.ipynb"}:
        lab.api(f"kernels/{kernel}/restart", {})
    nb = Notebook(page, url)
    static = nb.panel.locator("[class^='lcm-static-']")
    expect(static).to_be_visible()
    expect(static).to_contain_text("#2 RandomForest (edited)")
    expect(static).to_contain_text(f"{mean}")
    static.screenshot(path=str(ARTIFACTS / "panel-static-copy-after-restart.png"))


def test_cash_auto_runs_its_code_in_a_new_cell_below_and_the_sidebar_lists_the_score(lab, page):
    nb = Notebook(page, lab.notebook("auto.ipynb", [SETUP, "%%cash df target=price strategy=defaults --auto"]))
    sidebar = open_sidebar(page)
    nb.run(0)
    nb.run(1)

    generated = 2  # directly below the %%cash cell
    assert nb.source(generated).startswith("# %%cash")
    assert "cash_model = Pipeline(" in nb.source(generated)
    nb.wait_executed(generated)
    nb.cells.nth(generated).locator(".jp-OutputArea", has_text="over 5 folds").wait_for(timeout=TIMEOUT * 3)
    mean, std = re.search(r"rmse: ([\d.]+) ± ([\d.]+) over 5 folds", nb.output(generated)).groups()
    assert "fold 1/" not in nb.output(1)  # trained in the new cell, not in the magic's

    score = sidebar.locator(".jp-LlmCash-run .jp-LlmCash-score", has_text=f"{mean} ± {std}")
    score.wait_for()  # no manual refresh: the sidebar refreshes when the kernel goes idle
    assert sidebar.locator(".jp-LlmCash-dataset h3").first.inner_text().startswith("df")
    # the first test's run on the same frame is there too: a chart of the best score by run
    chart = sidebar.locator(".jp-LlmCash-dataset").first.locator("svg[aria-label='best score by run']")
    expect(chart).to_be_visible()
    assert chart.locator("circle").count() == 2
    expect(sidebar.locator(".jp-LlmCash-dataset").first.locator("figcaption")).to_contain_text(mean)

    n_cells = nb.cells.count()
    nb.select(0)
    sidebar.locator(".jp-LlmCash-run").first.click()
    sidebar.locator(".jp-LlmCash-insert").first.click()
    assert nb.cells.count() == n_cells + 1
    assert nb.source(1).startswith("# %%cash") and "cash_model = Pipeline(" in nb.source(1)


def test_the_code_lands_below_its_cell_even_after_cells_were_added_above(lab, page):
    """A later request (as the panel's Run sends) names the %%cash cell by id, not by position."""
    nb = Notebook(
        page,
        lab.notebook(
            "moved.ipynb",
            [
                SETUP,
                "from llm_cash_magic.run import bridge\ncash_cell = bridge.cell_id(get_ipython())",
                "bridge.run_in_frontend(get_ipython(), 'print(6 * 7)', below=cash_cell)",
            ],
        ),
    )
    nb.run(0)
    nb.run(1)
    nb.select(1)
    page.keyboard.press("a")  # a new cell above the one that ran, as a user would add
    page.keyboard.press("a")
    assert nb.cells.count() == 5
    nb.run(4)
    assert nb.source(4) == "print(6 * 7)"  # directly below "cash_cell = …", now at index 3
    nb.wait_executed(4)
    nb.cells.nth(4).locator(".jp-OutputArea", has_text="42").wait_for()
    assert nb.source(5).startswith("bridge.run_in_frontend")

    nb.run(5)  # again: the new cell goes below the first one, in run order
    assert nb.source(5) == "print(6 * 7)" and nb.source(6).startswith("bridge.run_in_frontend")
    nb.wait_executed(5)
    first, second = (
        int(re.search(r"\d+", nb.cells.nth(i).locator(".jp-InputPrompt").inner_text()).group()) for i in (4, 5)
    )
    assert first < second


def test_sidebar_renders_history_text_as_text_and_clips_long_text_keeping_it_in_a_tooltip(
    lab, page, lab_history, houses
):
    hostile = '<img src=x onerror="window.__pwned=1">'
    tall = "line\n" * 12
    frame = houses.rename(columns={"city": hostile, "rooms": tall})
    prof = profile(frame, "price")
    rec = recommend(prof, strategy="defaults")[0]
    rec = Recommendation(rec.family, rec.params, f"trust me <script>window.__pwned=2</script>{hostile}", rec.source)
    wordy = Recommendation(rec.family, rec.params, "because " * 125, rec.source)  # 1,000 characters
    run_id = lab_history.start_run(
        prof,
        data_name="hostile",
        n_columns=frame.shape[1],
        strategy="defaults",
        notes=hostile,
        recommendations=[rec.to_dict(), wordy.to_dict()],
    )
    lab_history.record_request(
        run_id=run_id,
        strategy="zero-shot",
        purpose="recommend",
        model="m",
        endpoint="h",
        cache_key="k",
        messages=[{"role": "user", "content": hostile}],
        status="ok",
    )
    Notebook(page, lab.notebook("escaping.ipynb", ["1"]))
    sidebar = open_sidebar(page)
    sidebar.locator(f".jp-LlmCash-run[data-run-id='{run_id}']").click()
    details = sidebar.locator(".jp-LlmCash-details")
    details.locator(".jp-LlmCash-column", has_text=hostile).wait_for()
    assert hostile in details.locator(".jp-LlmCash-rationale").first.inner_text()
    assert details.locator(".jp-LlmCash-notes").inner_text() == hostile
    assert hostile in details.locator(".jp-LlmCash-prompt").text_content()
    assert sidebar.locator("img, script").count() == 0
    assert page.evaluate("window.__pwned") is None

    long = details.locator(".jp-LlmCash-rationale span").nth(1)
    assert len(long.inner_text()) <= 300 and long.inner_text().endswith("…")
    assert long.get_attribute("title") == wordy.rationale
    column = details.locator(".jp-LlmCash-column span", has_text="line line")
    assert column.inner_text() == " ".join(["line"] * 12) and column.get_attribute("title") == tall


def test_sidebar_shows_the_llm_model_and_host_but_not_the_key(lab, page):
    Notebook(page, lab.notebook("status.ipynb", ["1"]))
    sidebar = open_sidebar(page)
    status = sidebar.locator(".jp-LlmCash-status")
    status.wait_for()
    assert status.inner_text() == "LLM: test-model at 127.0.0.1:9"
    assert LLM_KEY not in page.content()


def test_forget_asks_first_and_says_so_when_it_fails(lab, page, lab_history, houses):
    run_id = lab_history.start_run(profile(houses, "price"), data_name="forgettable", n_columns=7, strategy="defaults")
    Notebook(page, lab.notebook("forget.ipynb", ["1"]))
    sidebar = open_sidebar(page)
    entry = sidebar.locator(f".jp-LlmCash-run[data-run-id='{run_id}']")
    entry.click()
    forget = sidebar.locator(".jp-LlmCash-forget")
    dialog = page.locator(".jp-Dialog")

    forget.click()
    dialog.get_by_role("button", name="Cancel").click()
    assert lab_history.run(run_id) is not None

    this_run = re.compile(rf"/llm-cash/runs/{run_id}\b")
    page.route(
        this_run,
        lambda route: (
            route.fulfill(status=500, body='{"message": "disk full"}')
            if route.request.method == "DELETE"
            else route.continue_()
        ),
    )
    forget.click()
    dialog.get_by_role("button", name="Forget").click()
    page.get_by_text(f"Could not forget run {run_id}: disk full").wait_for()
    assert lab_history.run(run_id) is not None

    page.unroute(this_run)
    forget.click()
    dialog.get_by_role("button", name="Forget").click()
    expect(entry).to_have_count(0)
    assert lab_history.run(run_id) is None


def test_refine_in_the_panel_shows_its_trials_and_curve_then_the_best_lands_below_in_run_order(lab, page):
    nb = Notebook(page, lab.notebook("refine.ipynb", [SETUP, "%%cash df target=price strategy=defaults n=3"]))
    nb.run(0)
    nb.run(1)
    panel = nb.cells.nth(1)
    panel.locator(".widget-vbox:has(> .widget-html:has-text('#1 Linear · ')) button:has-text('Run')").click()
    nb.cells.nth(2).locator(".jp-OutputArea", has_text="over 5 folds").wait_for(timeout=TIMEOUT * 3)
    count = panel.locator(".widget-inline-hbox:has(> .widget-label:text-is('N')) input")
    count.fill("4")
    count.press("Tab")
    panel.locator("button:has-text('Refine (N)')").click()
    panel.get_by_text(re.compile(r"4 trials in the study")).wait_for(timeout=TIMEOUT * 3)
    curve = panel.locator("svg[aria-label='best score so far']")
    expect(curve).to_be_visible()
    expect(panel.get_by_text(re.compile(r"after trial 1, [\d.]+ after trial \d"))).to_be_visible()
    nb.wait_executed(3)  # refinement's best, below the first Run's cell
    assert nb.source(2).startswith("# %%cash · Linear") and nb.source(3).startswith("# %%cash")
    expect(panel.locator(".widget-html table")).to_contain_text("refined ")
    ARTIFACTS.mkdir(exist_ok=True)
    curve.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "panel-refine.png"))


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory):
    _require_chromium()
    server = Lab(tmp_path_factory.mktemp("notebook7"), app="notebook")
    yield server
    server.stop()


def test_in_notebook_7_the_panel_trains_and_the_sidebar_in_the_left_area_lists_the_score(notebook7, page):
    page.goto(notebook7.notebook("seven.ipynb", [SETUP, "%%cash df target=price strategy=defaults"]))
    page.wait_for_function(
        "() => window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel?.connectionStatus"
        " === 'connected'"
    )
    nb = Notebook.__new__(Notebook)  # the same cell helpers, on Notebook 7's page
    nb.page, nb.panel = page, page.locator(".jp-NotebookPanel:visible")
    nb.run(0)
    nb.run(1)
    card = nb.cells.nth(1).locator(".widget-vbox:has(> .widget-html:has-text('#1 Linear · '))")
    card.locator("button:has-text('Run')").click()
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.content.model.cells.get(2).sharedModel"
        ".getSource().startsWith('# %%cash')"
    )
    nb.wait_executed(2)
    nb.cells.nth(2).locator(".jp-OutputArea", has_text="over 5 folds").wait_for(timeout=TIMEOUT * 3)
    mean = re.search(r"rmse: ([\d.]+) ± [\d.]+ over 5 folds", nb.output(2)).group(1)
    board = nb.cells.nth(1).locator(".widget-html table", has_text="#1 Linear")
    expect(board).to_contain_text(mean)
    expect(board.locator("svg")).to_have_count(3)  # the chart: a whisker per row, references included

    count = nb.cells.nth(1).locator(".widget-inline-hbox:has(> .widget-label:text-is('N')) input")
    count.fill("3")
    count.press("Tab")
    nb.cells.nth(1).locator("button:has-text('Refine (N)')").click()
    nb.cells.nth(1).get_by_text(re.compile(r"3 trials in the study")).wait_for(timeout=TIMEOUT * 3)
    expect(nb.cells.nth(1).locator("svg[aria-label='best score so far']")).to_be_visible()
    nb.wait_executed(3)  # refinement's best, in run order below the first Run's cell
    expect(board).to_contain_text("refined ")

    # Notebook 7 has no ILabShell: the sidebar lives in its left area (View > Left Sidebar)
    page.evaluate("() => window.jupyterapp.shell.expandLeft()")
    page.evaluate("() => window.jupyterapp.shell.activateById('llm-cash-magic-sidebar')")
    sidebar = page.locator("#llm-cash-magic-sidebar")
    expect(sidebar).to_be_visible()
    sidebar.locator(".jp-LlmCash-run .jp-LlmCash-score", has_text=mean).first.wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "notebook7-panel-and-sidebar.png"))
