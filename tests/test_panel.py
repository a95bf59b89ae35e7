"""The panel, built directly for a profile and a scripted recommender, driven as a user would:
editors changed, buttons clicked (``Button.click()`` runs the same callbacks a browser click does)."""

from __future__ import annotations

import json
import re
import threading
import time
import warnings
from html import escape as html_escape

import ipywidgets as widgets
import pytest
from conftest import newest_code
from fake_openai import Reply

from llm_cash_magic import History, pipeline, space
from llm_cash_magic.errors import CashError
from llm_cash_magic.frontends.options import parse
from llm_cash_magic.frontends.panel import MAX_RATIONALE, Panel, has_widget_frontend
from llm_cash_magic.recommenders import Recommendation
from llm_cash_magic.recommenders.llm.settings import LLMSettings
from llm_cash_magic.run import bridge


def rec(family: str, params: dict | None = None, rationale: str = "because", source: str = "scripted"):
    config = space.validate(family, params or {}, "regression")
    return Recommendation(config.family, config.params, rationale, source, config.notes)


class Scripted:
    """A recommender that yields the given recommendations, pausing before each; after each yield
    it calls ``probe`` so a test can look at the panel while the stream is still open."""

    name = "scripted"

    def __init__(self, recs, pause: float = 0.0):
        self.recs, self.pause, self.probe = list(recs), pause, None

    def recommend(self, profile, n=5, notes=""):
        for item in self.recs[:n]:
            time.sleep(self.pause)
            yield item
            if self.probe:
                self.probe()


class ScriptedModel(Scripted):
    """Like a streaming LLM recommender: it names its model, tells the messages it sends, and calls
    ``on_text`` with the raw response text before each recommendation it yields."""

    model = "scripted-model-1"

    def __init__(self, recs, pause: float = 0.0):
        super().__init__(recs, pause)
        self.on_text = None

    def messages(self, profile, n=5, notes=""):
        return [
            {"role": "system", "content": "You recommend models. <script>alert('p')</script>"},
            {"role": "user", "content": f"{n} models for target {profile.target!r}; {notes}"},
        ]

    def recommend(self, profile, n=5, notes=""):
        for item in self.recs[:n]:
            line = json.dumps({"family": item.family, "params": item.params, "rationale": item.rationale}) + "\n"
            self.on_text(line[:15])
            self.on_text(line[15:])
            time.sleep(self.pause)
            yield item
            if self.probe:
                self.probe()


@pytest.fixture
def make_panel(houses, history):
    def make(recommender, line="houses target=price cv=3", namespace=None, **kwargs) -> Panel:
        plan = pipeline.plan(houses, parse(line), LLMSettings(), History.from_environment())
        plan.recommender = recommender
        namespace = {} if namespace is None else namespace
        namespace["houses"] = houses
        return Panel(plan, "", history, namespace, **kwargs)

    return make


def three():
    return [
        rec("lightgbm", {"n_estimators": 40, "num_leaves": 15}, "boosting"),
        rec("random_forest", {"n_estimators": 30}, "a forest"),
        rec("linear", {"alpha": 3.0}, "a line"),
    ]


def all_widgets(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from all_widgets(child)


# ---- streaming ---------------------------------------------------------------------------------
def test_cards_appear_one_by_one_before_the_stream_ends(make_panel):
    recommender = Scripted(three(), pause=0.05)
    panel = make_panel(recommender)
    shown = []
    recommender.probe = lambda: shown.append((len(panel.cards), len(panel.card_box.children)))
    panel.stream()
    assert shown == [(1, 1), (2, 2), (3, 3)]
    assert [c.rec.family for c in panel.cards] == ["lightgbm", "random_forest", "linear"]


def test_an_llm_answer_becomes_cards_line_by_line_while_the_server_still_streams(
    fake_llm, llm_settings, history, houses
):
    lines = [
        {"family": "lightgbm", "params": {"num_leaves": 15}, "rationale": "boosting <b>leads</b>"},
        {"family": "random_forest", "params": {"n_estimators": 50}, "rationale": "robust"},
        {"family": "linear", "params": {"alpha": 10.0}, "rationale": "a baseline"},
    ]
    answer = "".join(json.dumps(line) + "\n" for line in lines)
    gate = threading.Event()  # the server sends the first line, then holds the rest until the test opens it
    fake_llm.reply(Reply(answer, delta_size=answer.index("\n") + 1, gate=gate, gate_after=2))
    plan = pipeline.plan(houses, parse("houses target=price strategy=zero-shot n=3"), llm_settings, history)
    panel = Panel(plan, "", history, {"houses": houses})
    seen = []

    def on_card(change):
        seen.append((len(change.new), gate.is_set(), panel.live_text.value))
        gate.set()

    panel.card_box.observe(on_card, "children")
    panel.stream()
    assert [(n, held) for n, held, _ in seen] == [(1, False), (2, True), (3, True)]
    assert "boosting &lt;b&gt;leads&lt;/b&gt;" in seen[0][2] and "random_forest" not in seen[0][2]
    assert [c.rec.source for c in panel.cards] == ["llm:fake-model"] * 3
    assert "recommender: zero-shot · model fake-model" in panel.widget.children[1].value
    panel.prompt_button.click()
    sent = fake_llm.chat_requests[0].messages
    assert html_escape(sent[1]["content"]) in panel.prompt_view.value


def test_run_is_enabled_once_the_run_is_recorded_with_every_recommendation(make_panel, history):
    recommender = Scripted(three())
    panel = make_panel(recommender)
    disabled = []
    recommender.probe = lambda: disabled.append(panel.cards[0].run_button.disabled)
    panel.stream()
    assert disabled == [True, True, True]
    assert not any(c.run_button.disabled for c in panel.cards)
    stored = history.run(panel.run_id)["recommendations"]
    assert [r["family"] for r in stored] == ["lightgbm", "random_forest", "linear"]


def test_the_header_counts_seconds_while_the_recommender_works(make_panel):
    recommender = Scripted(three()[:1], pause=1.6)
    panel = make_panel(recommender)
    seen = []
    recommender.probe = lambda: seen.append(panel.clock.value)
    panel.stream()
    [while_waiting] = seen
    assert while_waiting.startswith("recommending… ") and while_waiting != "recommending… 0 s"
    assert panel.clock.value.startswith("1 recommendation in 1.")
    assert panel.clock.value.endswith(f"run {panel.run_id}")


def test_the_live_view_shows_the_response_text_as_it_streams_then_folds_away(make_panel):
    recommender = ScriptedModel(three())
    panel = make_panel(recommender)
    seen = []
    recommender.probe = lambda: seen.append(panel.live_text.value)
    panel.stream()
    assert "&quot;lightgbm&quot;" in seen[0] and "random_forest" not in seen[0]
    assert "random_forest" in seen[1] and "linear" not in seen[1]
    assert panel.live.layout.display is None
    assert panel.live.selected_index is None


def test_recommenders_without_response_text_show_no_live_view(make_panel):
    panel = make_panel(Scripted(three()))
    panel.stream()
    assert panel.live.layout.display == "none"


def test_the_header_names_the_model_or_says_offline(make_panel):
    offline = make_panel(Scripted(three()))
    model = make_panel(ScriptedModel(three()))
    header = lambda p: " ".join(w.value for w in p.widget.children[:2])  # noqa: E731
    unnamed = ScriptedModel(three())
    unnamed.model = None  # sends a prompt, so it is not offline even without a model name
    assert "recommender: offline (knowledge base + your history)<br>" in header(offline)
    assert "offline · offline" not in header(offline)
    assert "recommender: offline · model scripted-model-1" in header(model)
    assert "recommender: offline<br>" in header(make_panel(unnamed))
    assert "price" in header(model) and "300 rows" in header(model)


def test_a_recommender_that_yields_nothing_stops_with_one_line(make_panel, history):
    panel = make_panel(Scripted([]))
    with pytest.raises(CashError, match="returned no recommendation"):
        panel.stream()
    assert "stopped after" in panel.clock.value
    assert history.runs() == []


def test_interrupting_a_slow_recommender_keeps_the_cards_that_arrived(make_panel, history):
    recommender = Scripted(three())

    def interrupt_after_two():
        if len(panel.cards) == 2:
            raise KeyboardInterrupt

    recommender.probe = interrupt_after_two
    panel = make_panel(recommender)
    panel.stream()
    assert [c.rec.family for c in panel.cards] == ["lightgbm", "random_forest"]
    assert "(interrupted)" in panel.clock.value and not panel.cards[0].run_button.disabled
    assert len(history.run(panel.run_id)["recommendations"]) == 2


# ---- Run ---------------------------------------------------------------------------------------
def test_run_trains_the_edited_values_in_the_kernel_and_records_them_as_overrides(make_panel, history):
    namespace = {}
    panel = make_panel(Scripted(three()), namespace=namespace)
    panel.stream()
    card = panel.cards[0]
    editors = {e.param.name: e for e in card.editors}
    editors["num_leaves"].value = 7
    editors["learning_rate"].value = 0.05
    card.run_button.click()

    assert "num_leaves=7," in card.view.code.value and "learning_rate=0.05," in card.view.code.value
    model = namespace["cash_model"].named_steps["model"]
    assert (model.num_leaves, model.learning_rate, model.n_estimators) == (7, 0.05, 40)
    assert len(namespace["cash_scores"]) == 3
    trial = history.run(panel.run_id)["trials"][0]
    assert trial["status"] == "done"
    assert trial["overrides"] == {"num_leaves": {"from": 15, "to": 7}, "learning_rate": {"from": 0.1, "to": 0.05}}
    assert f"rmse {trial['cv_mean']:.4f} ± {trial['cv_std']:.4f}</b> over 3 folds" in card.view.status.value
    assert card.view.code.layout.display is None  # the code is in the card, to copy
    assert "ran in this kernel" in card.view.code_hint.value


def test_run_shows_progress_fold_by_fold(make_panel):
    panel = make_panel(Scripted(three()))
    panel.stream()
    card = panel.cards[2]
    folds, statuses = [], []
    card.view.progress.observe(lambda change: folds.append(change.new), "value")
    card.view.status.observe(lambda change: statuses.append(change.new), "value")
    card.run_button.click()
    assert folds == [1, 2, 3]
    assert re.findall(r"training… fold (\d/\d): rmse", "".join(statuses)) == ["1/3", "2/3", "3/3"]
    assert card.view.progress.layout.display == "none"  # done: the score replaces the bar


def test_the_score_is_shown_next_to_the_references_on_the_same_folds(make_panel, history, houses):
    panel = make_panel(Scripted([rec("linear")]), data=houses)
    panel.stream()
    card = panel.cards[0]
    card.run_button.click()
    refs = {t["family"]: t for t in history.run(panel.run_id)["trials"] if t["source"] == "reference"}
    assert set(refs) == {"trivial", "lightgbm"}  # measured before the run, on its folds
    status = card.view.status.value
    assert f"rmse on the same folds: LightGBM defaults {refs['lightgbm']['cv_mean']:.4f} (this " in status
    assert f"trivial predictor (the mean) {refs['trivial']['cv_mean']:.4f}" in status
    card.editors[0].value = 300.0
    card.run_button.click()
    assert sum(t["source"] == "reference" for t in history.run(panel.run_id)["trials"]) == 2  # measured once


def test_a_long_training_is_announced_before_it_starts(make_panel, houses, monkeypatch):
    import dataclasses

    from llm_cash_magic.frontends import terminal

    monkeypatch.setattr(terminal, "SAY_EXPECTED_FROM", 0.0)  # announce even this small table's training
    panel = make_panel(Scripted([dataclasses.replace(rec("linear"), time_factor=3.0)]), data=houses)
    panel.stream()
    card = panel.cards[0]
    statuses = []
    card.view.status.observe(lambda change: statuses.append(change.new), "value")
    card.run_button.click()
    started = next(s for s in statuses if "training with 3-fold cross-validation…" in s)
    assert "expected to take about " in started and "3.0× what LightGBM&#x27;s defaults took" in started


def test_a_result_no_better_than_the_trivial_predictor_is_flagged_in_red(make_panel, history, houses):
    panel = make_panel(Scripted([rec("knn", {"n_neighbors": 1})]), data=houses)
    panel.stream()
    card = panel.cards[0]
    card.run_button.click()
    assert "WARNING" not in card.view.status.value
    # a newer trivial reference on the same folds that no model here can beat: an RMSE of 1
    history.record_reference(panel.run_id, "trivial", [1.0, 1.0, 1.0], params={"strategy": "mean"})
    card.run_button.click()
    status = card.view.status.value
    assert "jp-error-color1" in status and "WARNING: this model does no better than the trivial predictor" in status


def test_copy_code_without_a_clipboard_shows_the_code_to_copy_and_records_no_trial(make_panel, history):
    namespace = {}
    panel = make_panel(Scripted(three()), namespace=namespace)
    panel.stream()
    card = panel.cards[1]
    card.editors[0].value = 60
    card.copy_button.click()
    card.copy_button.click()
    code = card.view.code.value
    assert code.startswith("# %%cash · RandomForest") and "n_estimators=60," in code
    assert "record_result" not in code  # a copy is not a trial: it records nothing wherever it runs
    assert "no notebook extension here to reach the clipboard" in card.view.code_hint.value
    assert "select all" in card.view.code_hint.value
    assert history.run(panel.run_id)["trials"] == []
    exec(code, namespace)
    assert history.run(panel.run_id)["trials"] == []
    card.run_button.click()
    [trained] = history.run(panel.run_id)["trials"]
    assert trained["status"] == "done" and trained["params"]["n_estimators"] == 60


def test_copy_code_goes_to_the_clipboard_when_the_page_answers(make_panel, history, monkeypatch):
    requests = []
    monkeypatch.setattr(bridge, "copy_in_frontend", lambda shell, text, answer: requests.append((text, answer)) or True)
    panel = make_panel(Scripted(three()))
    panel.stream()
    card = panel.cards[0]
    card.copy_button.click()
    [(text, answer)] = requests
    assert text.startswith("# %%cash · LightGBM") and card.view.code.layout.display == "none"
    answer(True)
    assert "copied to the clipboard" in card.view.code_hint.value
    card.copy_button.click()
    requests[-1][1](False)  # the browser refused
    assert card.view.code.value == text and card.view.code.layout.display is None
    assert "the browser did not let the page copy" in card.view.code_hint.value
    assert history.run(panel.run_id)["trials"] == []


def test_a_run_inserted_as_a_cell_shows_its_folds_and_score_in_the_card_once_that_cell_ran(
    make_panel, history, ip, houses, monkeypatch
):
    sent = []
    monkeypatch.setattr(bridge, "run_in_frontend", lambda shell, code, below: sent.append((code, below)) or True)
    panel = make_panel(Scripted([rec("linear", {"alpha": 3.0})]), cell="cell-of-cash")
    panel.stream()
    card = panel.cards[0]
    card.run_button.click()
    [(failing, below)] = sent
    assert below == "cell-of-cash"
    assert "inserted as a new cell below the %%cash cell" in card.view.status.value
    ip.run_cell(failing)  # what JupyterLab does with it, before `houses` exists in this kernel
    assert "training failed: NameError: name &#x27;houses&#x27; is not defined" in card.view.status.value
    assert history.trial(history.run(panel.run_id)["trials"][0]["id"])["status"] == "failed"

    ip.user_ns["houses"] = houses
    card.run_button.click()
    code = sent[-1][0]
    folds = []
    card.view.progress.observe(lambda change: folds.append(change.new), "value")
    ip.run_cell("x = 1")  # another cell first: the card waits for its own
    assert "inserted as a new cell" in card.view.status.value
    ip.run_cell(code)
    trial = history.run(panel.run_id)["trials"][1]
    assert folds == [1, 2, 3]
    assert f"rmse {trial['cv_mean']:.4f} ± {trial['cv_std']:.4f}</b> over 3 folds · fit time" in card.view.status.value
    assert "in the new cell below" in card.view.status.value
    assert card.view.code.layout.display == "none"  # the code is in the notebook, not in the card


def test_reset_puts_every_editor_back_to_the_recommendation(make_panel):
    panel = make_panel(Scripted(three()))
    panel.stream()
    card = panel.cards[0]
    for editor in card.editors[:3]:
        editor.value = editor.param.high
    card.reset_button.click()
    assert card.params() == card.rec.params


def test_a_failing_training_says_why_in_one_line_and_keeps_the_code(make_panel, history):
    panel = make_panel(Scripted(three()))
    panel.stream()
    del panel.namespace["houses"]  # the user deleted the frame since %%cash ran
    card = panel.cards[0]
    card.run_button.click()
    assert "training failed: NameError: name &#x27;houses&#x27; is not defined" in card.view.status.value
    assert card.view.code.value.startswith("# %%cash")
    assert history.run(panel.run_id)["trials"][0]["status"] == "failed"
    assert not card.run_button.disabled


# ---- Show prompt, Blend top-K -----------------------------------------------------------------
def test_show_prompt_says_when_nothing_is_sent(make_panel):
    panel = make_panel(Scripted(three()))
    panel.stream()
    panel.prompt_button.click()
    assert panel.prompt_view.value == "offline: no prompt — nothing is sent to a model"
    panel.prompt_button.click()
    assert panel.prompt_view.layout.display == "none"


def test_show_prompt_shows_the_exact_messages_as_text(make_panel):
    panel = make_panel(ScriptedModel(three()))
    panel.stream()
    panel.prompt_button.click()
    assert "──── system ────\nYou recommend models. &lt;script&gt;" in panel.prompt_view.value
    assert "──── user ────\n5 models for target &#x27;price&#x27;" in panel.prompt_view.value
    assert panel.prompt_view.layout.display is None
    style = re.search(r'<pre style="([^"]*)"', panel.prompt_view.value)[1]
    assert "word-break: normal" in style and "max-height" in style and "overflow: auto" in style


def test_blend_top_k_appears_only_when_blend_code_exists(make_panel):
    panel = make_panel(Scripted(three()))
    assert not hasattr(panel, "blend_button")
    assert [
        b.description
        for b in all_widgets(panel.widget)
        if isinstance(b, widgets.Button)
        if b.description.startswith("Blend")
    ] == []


def test_blend_top_k_trains_the_top_k_cards_as_edited(make_panel, history):
    panel = make_panel(Scripted(three()), prepare_blend=pipeline.prepare_blend_trial)
    assert panel.blend_button.disabled
    panel.stream()
    assert not panel.blend_button.disabled and panel.blend_k.max == 3
    panel.cards[1].editors[0].value = 60
    panel.blend_k.value = 2
    panel.blend_button.click()
    [trial] = [t for t in history.run(panel.run_id)["trials"] if t["family"] == "blend"]
    assert [m["family"] for m in trial["params"]["members"]] == ["lightgbm", "random_forest"]
    assert trial["params"]["members"][1]["params"]["n_estimators"] == 60
    assert trial["status"] == "done" and "VotingRegressor(" in trial["code"]
    assert "rmse" in panel.blend_view.status.value and "over 3 folds" in panel.blend_view.status.value


def test_the_leaderboard_ranks_what_was_trained_with_the_references_and_updates_as_results_arrive(
    make_panel, history, houses
):
    panel = make_panel(Scripted(three()), data=houses, prepare_blend=pipeline.prepare_blend_trial)
    panel.stream()
    assert panel.leaderboard.layout.display == "none"  # nothing trained yet
    panel.cards[2].run_button.click()
    assert panel.leaderboard.layout.display is None
    assert [r.label for r in panel.leaderboard_rows()] == [
        "#3 Linear",
        "LightGBM defaults",
        "trivial predictor (the mean)",
    ]
    panel.cards[0].editors[0].value = 60
    panel.cards[0].run_button.click()
    panel.blend_k.value = 2
    panel.blend_button.click()
    rows = panel.leaderboard_rows()
    assert [r.label for r in rows if not r.reference] == ["#3 Linear", "#1 LightGBM (edited)", "blend of the top 2"]
    mine = [t for t in history.run(panel.run_id)["trials"] if t["source"] != "reference"]
    assert sorted(r.mean for r in rows if not r.reference) == sorted(t["cv_mean"] for t in mine)

    html = panel.leaderboard.value
    best = min(rows, key=lambda r: r.mean)  # rmse: lower is better
    ranked = re.findall(r"<td[^>]*>(\d)\.</td><td[^>]*>([^<]+)</td><td[^>]*>([\d.]+)</td>", html)
    assert [float(score) for _, _, score in ranked] == sorted(round(r.mean, 4) for r in rows)
    assert ranked[0][1].startswith(html_escape(best.label, quote=True)[:10])
    assert html.count("<svg") == 5 and "(reference)" in html
    assert "rmse over the same folds, lower is better" in html


def test_the_static_copy_shows_the_cards_and_scores_and_the_live_panel_hides_it(make_panel, houses, monkeypatch):
    from llm_cash_magic.frontends import panel as panel_module

    shown = []

    class Handle:
        def update(self, bundle, raw):
            shown.append(bundle["text/html"])

    monkeypatch.setattr(
        panel_module, "display", lambda bundle, raw, display_id: shown.append(bundle["text/html"]) or Handle()
    )
    evil = rec("linear", {"alpha": 3.0}, "<img src=x onerror=alert(1)> wins")
    panel = make_panel(Scripted([evil, rec("knn")]), data=houses)
    panel.stream()
    panel.show_static()
    first = shown[-1]
    assert f'class="{panel.static_class}"' in first and "nothing trained yet" in first
    assert "#1 Linear</b>: alpha=3<br>" in first and "#2 k-nearest neighbours</b>: library defaults" in first
    assert "<img" not in first and "&lt;img src=x onerror=alert(1)&gt; wins" in first
    assert f"run {panel.run_id}" in first and "houses" in first
    panel.cards[0].run_button.click()
    assert len(shown) == 3 and "nothing trained yet" not in shown[-1] and "#1 Linear" in shown[-1]  # and again after
    assert "LightGBM defaults (reference)" in shown[-1]
    hiding = [w.value for w in all_widgets(panel.widget) if isinstance(w, widgets.HTML) and "<style>" in w.value]
    assert hiding == [f"<style>.{panel.static_class} {{ display: none !important; }}</style>"]


# ---- data is text ------------------------------------------------------------------------------
def test_rationales_notes_and_column_names_are_escaped_never_markup(make_panel, houses, history):
    houses["<script>alert('feature')</script>"] = houses["area"] * 2
    houses["<script>alert('constant')</script>"] = 1  # left out, and named in the header
    hostile = rec(
        "random_forest",
        {"n_estimators": 30, "<img src=x onerror=alert('n')>": 1},
        "<script>alert('r')</script> trees <b>win</b>",
        source="<i>llm</i>",
    )
    panel = make_panel(Scripted([hostile]))
    panel.stream()
    panel.cards[0].run_button.click()
    html = [w.value for w in all_widgets(panel.widget) if isinstance(w, widgets.HTML)]
    joined = "\n".join(html)
    for raw in ("<script", "<img", "<b>win", "<i>llm"):
        assert raw not in joined
    assert "&lt;script&gt;alert(&#x27;r&#x27;)&lt;/script&gt; trees &lt;b&gt;win&lt;/b&gt;" in joined
    assert "&lt;img src=x onerror=alert(" in joined  # the repair note names the dropped parameter
    assert "&quot;&lt;script&gt;alert(&#x27;constant&#x27;)&lt;/script&gt;&quot; (a single value)" in html[0]
    assert "\"<script>alert('feature')</script>\"" in panel.cards[0].view.code.value  # a quoted literal
    assert history.run(panel.run_id)["trials"][0]["status"] == "done"


def test_the_header_flows_and_clips_each_long_column_name_on_its_own(make_panel, houses):
    houses["x" * 320] = 1  # constant: named in the header's "not used" line
    houses["note\n" * 12] = 2
    houses["tail"] = 3
    panel = make_panel(Scripted(three()))
    header = panel.widget.children[0].value
    assert "&#x27;xxx" in header and "x" * 60 not in header
    assert "&#x27;note note" in header and "&#x27;tail&#x27; (a single value)" in header
    first = header[header.index("houses") : header.index("target")]
    assert "fingerprint" in first and "\n" not in first.rstrip()  # one line: the browser wraps it


def test_long_rationales_are_clipped_in_the_view_but_kept_whole_in_the_history(make_panel, history):
    long = "word " * 2000
    panel = make_panel(Scripted([rec("linear", rationale=long)]))
    panel.stream()
    shown = [w.value for w in all_widgets(panel.cards[0].widget) if isinstance(w, widgets.HTML)]
    assert max(len(v) for v in shown) <= MAX_RATIONALE + 100
    assert any(v.endswith("…</div>") for v in shown)
    assert history.run(panel.run_id)["recommendations"][0]["rationale"] == long


def test_a_rationale_leads_with_its_verdict_and_folds_the_per_task_evidence_away(make_panel):
    why = "beat LightGBM's defaults on 12 of 15 similar tasks — nearest: <cars> at 1,000 rows: 4% less error"
    panel = make_panel(Scripted([rec("linear", rationale=why)]))
    panel.stream()
    [shown] = [w.value for w in all_widgets(panel.cards[0].widget) if isinstance(w, widgets.HTML) and "beat" in w.value]
    lead, folded = shown.split("<details>")
    assert "beat LightGBM&#x27;s defaults on 12 of 15 similar tasks" in lead and "nearest" not in lead
    assert "the nearest tasks</summary>&lt;cars&gt; at 1,000 rows: 4% less error</details>" in folded


# ---- where widgets cannot show -----------------------------------------------------------------
def test_terminal_ipython_gets_rich_tables_and_the_race_winner_trained_as_with_auto(ip, houses, history, capsys):
    assert not has_widget_frontend(ip)
    ip.user_ns["houses"] = houses
    ip.run_cell_magic("cash", "houses target=price cv=3", "big houses matter most")
    printed = capsys.readouterr().out
    assert "Recommendations" in printed and "rmse:" in printed
    [run] = history.runs()
    assert "nearest" in run["recommendations"][0]["rationale"] and "nearest" not in printed  # the verdict only
    won = next(line for line in printed.splitlines() if line.endswith(" won the race"))
    top = run["recommendations"][int(won[1]) - 1]["family"]  # whichever of the top ones won on this data
    assert newest_code().startswith(f"# %%cash · {space.family(top).label} (") and ip.rl_next_input is None
    trained = [(t["family"], t["status"]) for t in run["trials"] if t["source"] != "reference"]
    assert trained == [(top, "done")]
    assert "rmse on the same folds: LightGBM defaults" in printed  # the references it is compared with


# ---- refinement --------------------------------------------------------------------------------
def test_refine_starts_from_the_cards_as_edited_and_trains_the_best(make_panel, history, houses):
    namespace = {}
    panel = make_panel(
        Scripted([rec("linear", {"alpha": 3.0}, "a line"), rec("knn", {}, "neighbours")]),
        namespace=namespace,
        data=houses,
    )
    panel.stream()
    panel.cards[1].editors[0].value = 9  # n_neighbors, edited before refining
    panel.refine_n.value = 3
    assert panel.refine_n.style.description_width == "initial"  # "N" takes its width, the box keeps the rest
    panel.refine_button.click()

    trials = history.run(panel.run_id)["trials"]
    searched = [t for t in trials if t["source"] == "refine"][:3]
    assert [(t["family"], t["params"]) for t in searched[:2]] == [
        ("linear", {"alpha": 3.0}),
        ("knn", {"n_neighbors": 9, "weights": "uniform", "p": 2}),
    ]
    assert "3 trials in the study" in panel.refine_view.status.value
    assert "training the best one" not in panel.refine_view.status.value  # it was trained: its score is below
    assert panel.refine_view.curve.value.startswith("<svg")
    assert "best rmse so far, trial by trial (lower is better)" in panel.refine_view.curve.value
    assert re.search(r"[\d.]+ after trial 1, [\d.]+ after trial [23]</div>", panel.refine_view.curve.value)
    assert panel.refine_view.curve.value.count("<text ") == 4  # the first and best scores, the trial numbers
    best = [t for t in history.run(panel.run_id)["trials"] if t["source"] == "refine"][-1]
    assert best["status"] == "done" and "cash_model" in namespace
    done = [t for t in searched if t["status"] == "done"]
    assert best["params"] == min(done, key=lambda t: t["cv_mean"])["params"]  # rmse: lower is better


def test_refine_trials_warn_nothing_into_the_panel(make_panel, houses):
    slow = rec("mlp", {"max_iter": 20, "learning_rate_init": 1e-4}, "a net")  # never converges in 20 steps
    panel = make_panel(Scripted([rec("linear", {"alpha": 3.0}), slow]), data=houses)
    panel.stream()
    panel.refine_n.value = 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        panel.refine_button.click()
    assert [w for w in caught if w.category.__name__ == "ConvergenceWarning"] == []
    assert "2 trials in the study" in panel.refine_view.status.value
