"""The ``%%cash`` panel: recommendations stream in as cards with typed editors; Run trains one.

The panel holds no logic: each step is a ``pipeline`` function, editors come from the space,
every Run goes through ``pipeline.deliver`` (``run.delivery``), and the profile is rendered by ``terminal``.
Rationales, notes, column names and prompts are data: shown as escaped text, clipped in the view
only (the history keeps them whole).

Recommenders that talk to a model may offer more to the panel (see ``Recommender``): ``model``
for the header, ``messages()`` for "Show prompt", and an ``on_text`` hook for the live response.
"""

from __future__ import annotations

import threading
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import replace
from html import escape

import ipywidgets as widgets
import pandas as pd
from IPython.display import display

from .. import pipeline
from ..errors import CashError, Interrupted
from ..metrics import METRICS, TRIVIAL, Metric
from ..recommenders import Recommendation
from ..record import History
from ..record.result import comparison
from ..run import delivery
from ..run.delivery import Delivery
from ..space import changed_params, family
from ..text import clip
from . import terminal
from .editors import Looks, ParamEditor
from .leaderboard import Result, static_html, table_html

MAX_RATIONALE = 400  # characters of a rationale shown on a card
MAX_NOTES = 300  # characters of repair notes shown on a card
MAX_LIVE_TEXT = 20_000  # trailing characters of the response text shown while it streams
TICK_SECONDS = 0.5
TEXT_EVERY_SECONDS = 0.2  # the live response view is redrawn at most this often
COPY_HINT = "click in the box, select all (Ctrl/Cmd+A) and copy (Ctrl/Cmd+C)"
PRE_HEIGHT = "24em"  # the prompt and the live response scroll beyond this
SMALL = "font-size: var(--jp-ui-font-size0, 11px); color: var(--jp-ui-font-color2, #616161)"
NO_MODEL = {"offline": "knowledge base + your history", "defaults": "library defaults, ranked by data size"}
TEXT_FORM = (
    "[llm_cash_magic panel: it needs a frontend that shows ipywidgets (JupyterLab, Notebook, "
    "VS Code); %%cash … --auto trains the top recommendation without it]"
)

# (history, run id, plan, the top-K recommendations, their edited params) → (trial id, code)
PrepareBlend = Callable[[History, str, pipeline.Plan, list[Recommendation], list[dict]], tuple[str, str]]


def has_widget_frontend(shell) -> bool:
    """True in a Jupyter kernel (JupyterLab, Notebook, VS Code, nbclient); False in terminal IPython.

    A kernel cannot tell whether its frontend draws widgets; one that does not (jupyter console)
    shows the panel's text form, which points to ``--auto``.
    """
    return getattr(shell, "kernel", None) is not None


def show_panel(
    plan: pipeline.Plan,
    notes: str,
    history: History,
    namespace: dict,
    *,
    prepare_blend: PrepareBlend | None = None,
    data: pd.DataFrame | None = None,
    cell: str | None = None,
) -> Panel:
    """Display a panel for ``plan`` and fill it as the recommendations arrive; then its static copy
    below it, which the notebook keeps (see ``Panel.show_static``)."""
    panel = Panel(plan, notes, history, namespace, prepare_blend=prepare_blend, data=data, cell=cell)
    display(panel)
    panel.stream()
    panel.show_static()
    return panel


class Panel:
    """Header (profile, recommender, elapsed time, live response), a leaderboard of what it
    trained, one card per recommendation, and the panel-wide actions (Blend top-K when blend code
    exists, Refine (N) when the panel has the data, Show prompt)."""

    def __init__(
        self,
        plan: pipeline.Plan,
        notes: str,
        history: History,
        namespace: dict,
        *,
        prepare_blend: PrepareBlend | None = None,
        data: pd.DataFrame | None = None,
        cell: str | None = None,
    ):
        self.plan, self.notes, self.history, self.namespace = plan, notes, history, namespace
        self.prepare_blend, self.data = prepare_blend, data
        self.cell = cell  # the id of the %%cash cell, if the frontend sent one: Run inserts below it
        self.run_id: str | None = None
        self.cards: list[Card] = []
        self.prompt: list[dict] | None = None  # the messages the recommender sends, if it sends any
        self._text: list[str] = []
        self._text_shown_at = 0.0
        self.looks = Looks()
        self.results: list[Result] = []  # what this panel trained, in the order it finished
        self.refs: dict = {}  # the references, once measured
        self.static_class = f"lcm-static-{uuid.uuid4().hex[:12]}"
        self._static = None  # the static copy's display handle, once shown

        recommender = plan.recommender
        model = getattr(recommender, "model", None)
        sends = callable(getattr(recommender, "messages", None))
        about = f" · model {model}" if model else "" if sends else f" ({NO_MODEL.get(plan.strategy, 'offline')})"
        self.header_html = [
            terminal.html(terminal.profile_summary(plan.profile, plan.options.data, plan.notes)),
            _prose(
                "<br>".join(_text_html(line) for line in (f"recommender: {plan.strategy}{about}", plan.banner) if line)
            ),
        ]
        header = [widgets.HTML(html) for html in self.header_html]
        self.clock = widgets.Label()
        self.live_text = widgets.HTML()
        self.live = widgets.Accordion([self.live_text], titles=("response text",), selected_index=0)
        self.live.layout.display = None if hasattr(recommender, "on_text") else "none"
        self.card_box = widgets.VBox()
        self.leaderboard = widgets.HTML(layout=widgets.Layout(display="none"), style=self.looks.html)
        # while the live panel is on the page, its static copy is not (see ``show_static``)
        hide_static = widgets.HTML(
            f"<style>.{self.static_class} {{ display: none !important; }}</style>",
            layout=widgets.Layout(display="none"),
        )

        self.prompt_button = widgets.Button(
            description="Show prompt", icon="comment", tooltip="the exact messages sent to the model"
        )
        self.prompt_button.on_click(self._toggle_prompt)
        self.prompt_view = widgets.HTML(layout=widgets.Layout(display="none"))
        count = {"style": self.looks.count, "layout": self.looks.count_box}
        actions: list[widgets.Widget] = []
        if prepare_blend:
            self.blend_k = widgets.BoundedIntText(2, min=2, max=2, description="K", disabled=True, **count)
            self.blend_button = widgets.Button(
                description="Blend top-K",
                icon="object-group",
                disabled=True,
                tooltip="train one model averaging the top K cards as edited",
            )
            self.blend_button.on_click(self._blend)
            self.blend_view = RunView(self.looks)
            actions += [self.blend_button, self.blend_k]
        if data is not None:
            self.refine_n = widgets.BoundedIntText(20, min=1, max=1000, description="N", disabled=True, **count)
            self.refine_button = widgets.Button(
                description="Refine (N)",
                icon="search-plus",
                disabled=True,
                tooltip="N trials of an Optuna TPE search that starts from the "
                "cards as edited; the best one is trained",
            )
            self.refine_button.on_click(self._refine)
            self.refine_view = RefineView(self.looks)
            actions += [self.refine_button, self.refine_n]
        actions.append(self.prompt_button)
        footer = [widgets.HBox(actions, layout=self.looks.wrap), self.prompt_view]
        if data is not None:
            footer.insert(1, self.refine_view.widget)
        if prepare_blend:
            footer.insert(1, self.blend_view.widget)
        self.widget = widgets.VBox(
            [*header, self.clock, self.live, self.leaderboard, self.card_box, *footer, hide_static]
        )

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs) | {"text/plain": TEXT_FORM}

    # ---- streaming ---------------------------------------------------------------------------
    def stream(self) -> None:
        """Show each recommendation as a card the moment it arrives, then record the run."""
        recommender, options = self.plan.recommender, self.plan.options
        if callable(getattr(recommender, "messages", None)):  # what recommend() is about to send
            self.prompt = recommender.messages(
                self.plan.profile, options.n, pipeline.recommender_notes(self.plan, self.notes)
            )
        if hasattr(recommender, "on_text"):
            recommender.on_text = self._receive_text
        clock, interrupted = _Clock(self.clock, "recommending…"), ""
        try:
            with clock:
                for rec in pipeline.recommend(self.plan, self.notes):
                    self._show_text()
                    self._add_card(rec)
        except Interrupted as exc:  # tired of waiting: keep the cards that arrived
            if not self.cards:
                self.clock.value = f"stopped after {clock.seconds:.1f} s: {exc}"
                raise
            interrupted = " (interrupted)"
        except CashError as exc:
            self.clock.value = f"stopped after {clock.seconds:.1f} s: {exc}"
            raise
        finally:
            self._show_text()
        self.run_id = pipeline.start_run(self.history, self.plan, [c.rec for c in self.cards], self.notes)
        for card in self.cards:
            card.run_button.disabled = card.copy_button.disabled = False
        if self.prepare_blend and len(self.cards) > 1:
            self.blend_k.max = self.blend_k.value = len(self.cards)
            self.blend_k.disabled = self.blend_button.disabled = False
        if self.data is not None and self.cards:
            self.refine_n.disabled = self.refine_button.disabled = False
        count = f"{len(self.cards)} recommendation{'s' if len(self.cards) > 1 else ''}"
        self.clock.value = f"{count} in {clock.seconds:.1f} s{interrupted} · run {self.run_id}"
        self.live.selected_index = None  # the response is complete: fold it away

    def _add_card(self, rec: Recommendation) -> None:
        card = Card(len(self.cards) + 1, rec, self.plan.profile.task, self.looks)
        card.run_button.on_click(lambda _: self._run(card))
        card.copy_button.on_click(lambda _: self._copy(card))
        self.cards.append(card)
        self.card_box.children = (*self.card_box.children, card.widget)

    def _receive_text(self, chunk: str) -> None:
        self._text.append(chunk)
        if time.perf_counter() - self._text_shown_at >= TEXT_EVERY_SECONDS:
            self._show_text()

    def _show_text(self) -> None:
        if self._text:
            self.live_text.value = _text_html("".join(self._text)[-MAX_LIVE_TEXT:], pre=True)
            self._text_shown_at = time.perf_counter()

    # ---- actions -----------------------------------------------------------------------------
    def _run(self, card: Card) -> None:
        card.run_button.disabled = True
        try:
            with card.view.output:  # the code's output lands in the card, and so would a bug's traceback
                card.view.output.clear_output()
                try:
                    trial_id, code = pipeline.prepare_trial(
                        self.history, self.run_id, self.plan, card.rec, card.params()
                    )
                except CashError as exc:
                    card.view.failed(str(exc))
                    return
                edited = " (edited)" if any(e.changed for e in card.editors) else ""
                self._deliver(card.view, trial_id, code, f"{card.title}{edited}", rec=card.rec)
        finally:
            card.run_button.disabled = False
            self._update_static()

    def _copy(self, card: Card) -> None:
        """The card's code, to the clipboard when the page can take it, else into a box to copy from.

        A copy is not a trial: its code records nothing, so the history never lists trials that
        were only copied (Run is what trains and records).
        """
        with card.view.output:
            try:
                code = pipeline.trial_code(self.plan, card.rec, card.params())
            except CashError as exc:
                card.view.failed(str(exc))
                return
            if not delivery.copy_to_clipboard(code, lambda copied: card.view.copied(code, copied)):
                card.view.show_code(code, f"no notebook extension here to reach the clipboard: {COPY_HINT}")

    def _blend(self, _button) -> None:
        cards = self.cards[: self.blend_k.value]
        self.blend_button.disabled = True
        try:
            with self.blend_view.output:
                self.blend_view.output.clear_output()
                try:
                    trial_id, code = self.prepare_blend(
                        self.history, self.run_id, self.plan, [c.rec for c in cards], [c.params() for c in cards]
                    )
                except CashError as exc:
                    self.blend_view.failed(str(exc))
                    return
                self._deliver(self.blend_view, trial_id, code, f"blend of the top {len(cards)}")
        finally:
            self.blend_button.disabled = False
            self._update_static()

    def _refine(self, _button) -> None:
        recs = [replace(card.rec, params=card.params()) for card in self.cards]
        view, n_trials = self.refine_view, self.refine_n.value
        self.refine_button.disabled = True
        try:
            with view.run.output:
                view.run.output.clear_output()
                data, searched, search_run = pipeline.search_data(self.data, self.plan, self.history, recs, self.run_id)
                sample = len(data) if search_run != self.run_id else None  # a large frame's
                view.started(n_trials, self.plan.profile.metric, sample=sample)
                with warnings.catch_warnings():  # one per trial (MLP convergence, say) would bury the panel
                    warnings.simplefilter("ignore")
                    result = pipeline.refine(
                        data, searched, recs, n_trials, history=self.history, run_id=search_run, on_trial=view.trial
                    )
                view.finished(result)
                try:
                    best = pipeline.refined_recommendation(result, self.plan)
                    trial_id, code = pipeline.prepare_trial(self.history, self.run_id, self.plan, best)
                except CashError as exc:
                    view.run.failed(str(exc))
                    return
                label = f"refined {family(best.family).label} (best of {len(result.trials)} trials)"
                self._deliver(view.run, trial_id, code, label, then=view.trained)
        finally:
            self.refine_button.disabled = False
            self._update_static()

    def _deliver(
        self,
        view: RunView,
        trial_id: str,
        code: str,
        label: str,
        then: Callable[[], None] = lambda: None,
        rec: Recommendation | None = None,
    ) -> None:
        """Run the code where it can run; ``view`` follows it (and ``then`` is called) until it has,
        and its score joins the leaderboard as ``label``. The references it is compared with are
        measured first (once per dataset), so that the cell's own output can name them too, and a
        long training of ``rec`` be announced."""
        refs = {}
        if self.data is not None:
            view.measuring()
            try:
                refs = self.refs = pipeline.references(
                    self.history, self.plan, self.data, self.run_id, trial_id=trial_id
                )
            except Interrupted as exc:
                view.failed(str(exc))
                return

        def done(outcome: Delivery) -> None:
            trial = self.history.trial(trial_id)
            view.finished(trial, outcome, code, self.plan.profile, refs)
            if trial and trial["status"] == "done" and trial["cv_mean"] is not None and not outcome.error:
                self.results.append(Result(label, trial["cv_mean"], trial["cv_std"], trial["fit_seconds"]))
                self._show_results()
            then()

        expected = terminal.expected_line(rec, refs, self.plan.profile, self.plan.options.data) if rec else None
        view.started(self.plan.cv, expected, cluster=self.plan.dask)
        if pipeline.deliver(
            code, trial_id, self.history, self.namespace, below=self.cell, on_fold=view.fold, on_done=done
        ):
            view.inserted()

    # ---- results -----------------------------------------------------------------------------
    def leaderboard_rows(self) -> list[Result]:
        """What this panel trained and, once measured, the references on the same folds."""
        task = self.plan.profile.task
        trivial = f"trivial predictor ({'the mean' if task == 'regression' else 'class frequencies'})"
        refs = [
            Result(label, ref["cv_mean"], ref["cv_std"], ref["fit_seconds"], reference=True, scales=scales)
            for label, ref, scales in (
                ("LightGBM defaults", self.refs.get("lightgbm"), True),
                (trivial, self.refs.get(TRIVIAL), False),
            )
            if ref and ref.get("cv_mean") is not None
        ]
        return self.results + refs

    def _show_results(self) -> None:
        self.leaderboard.value = _prose(table_html(self.leaderboard_rows(), METRICS[self.plan.profile.metric]))
        self.leaderboard.layout.display = None
        self._update_static()

    def _update_static(self) -> None:
        """Send the static copy again. Also once an action is over: a result that arrived inside a
        card's Output widget (the code ran in this kernel) had its update swallowed by that widget,
        which takes every message of its capture, and a display update is one."""
        if self._static is not None:
            self._static.update(self._static_bundle(), raw=True)

    def show_static(self) -> None:
        """Display the panel's static copy below it: the cards and the leaderboard as plain HTML,
        updated as results arrive. The notebook keeps it, so a saved or reopened notebook still shows
        what was recommended and measured when the widgets are gone (a kernel restart); while the live
        panel is on the page, a style rule inside it hides the copy."""
        self._static = display(self._static_bundle(), raw=True, display_id=True)

    def _static_bundle(self) -> dict:
        task = self.plan.profile.task
        cards = [
            (
                c.title,
                changed_params(c.rec.family, c.rec.params, task) or "library defaults",
                c.rec.rationale_parts[0],
            )
            for c in self.cards
        ]
        run = f"run {self.run_id}" if self.run_id else "not recorded"
        header = "".join(self.header_html) + _prose(_text_html(run))
        html = static_html(self.static_class, header, cards, self.leaderboard_rows(), METRICS[self.plan.profile.metric])
        return {"text/html": html}

    def _toggle_prompt(self, _button) -> None:
        if self.prompt_view.layout.display != "none":
            self.prompt_view.layout.display = "none"
            self.prompt_button.description = "Show prompt"
            return
        if self.prompt:
            self.prompt_view.value = _text_html(terminal.messages_text(self.prompt), pre=True)
        else:
            self.prompt_view.value = _text_html(f"{self.plan.strategy}: no prompt — nothing is sent to a model")
        self.prompt_view.layout.display = None
        self.prompt_button.description = "Hide prompt"


class Card:
    """One recommendation: family, rationale, repairs, an editor per hyperparameter, Run / Copy code."""

    def __init__(self, rank: int, rec: Recommendation, task: str, looks: Looks):
        fam = family(rec.family)
        self.rec = rec
        self.title = f"#{rank} {fam.label}"
        self.editors = [
            ParamEditor(p, rec.params.get(p.name, p.default_for(task)), looks) for p in fam.params_for(task)
        ]
        title = (
            f"<b>#{rank} {escape(fam.label)}</b> · {escape(fam.estimator(task).cls)} · from "
            f"{escape(clip(rec.source, 60))}"
        )
        lead, evidence = rec.rationale_parts
        rationale = _text_html(clip(lead, MAX_RATIONALE))
        if evidence:  # the numbers behind the lead, folded away
            rationale += (
                f'<details><summary style="{SMALL}; cursor: pointer">the nearest tasks</summary>'
                f"{_text_html(clip(evidence, MAX_RATIONALE))}</details>"
            )
        texts = [title, rationale]
        if rec.notes:
            notes = _text_html("repaired: " + clip("; ".join(rec.notes), MAX_NOTES))
            texts.append(f'<span style="color: var(--jp-warn-color1, #b26b00)">{notes}</span>')
        parts: list[widgets.Widget] = [widgets.HTML(_prose(t), layout=looks.row, style=looks.html) for t in texts]
        parts.append(widgets.GridBox([e.widget for e in self.editors], layout=looks.grid))
        button = {"layout": looks.row, "style": looks.button}
        self.run_button = widgets.Button(
            description="Run",
            button_style="primary",
            icon="play",
            disabled=True,
            tooltip="train these values with cross-validation",
            **button,
        )
        self.copy_button = widgets.Button(
            description="Copy code",
            icon="copy",
            disabled=True,
            tooltip="the code for these values, to paste anywhere",
            **button,
        )
        self.reset_button = widgets.Button(
            description="Reset", icon="undo", tooltip="back to the recommended values", **button
        )
        self.reset_button.on_click(lambda _: self.reset())
        self.view = RunView(looks)
        parts += [
            widgets.HBox([self.run_button, self.copy_button, self.reset_button], layout=looks.wrap),
            self.view.widget,
        ]
        self.widget = widgets.VBox(
            parts,
            layout=widgets.Layout(border="1px solid var(--jp-border-color2, #ccc)", padding="4px 10px", margin="6px 0"),
        )

    def params(self) -> dict:
        return {e.param.name: e.value for e in self.editors}

    def reset(self) -> None:
        for editor in self.editors:
            editor.reset()


class RefineView:
    """A refinement's progress: trials done, the best score so far, and a best-so-far curve;
    then the best trial's training, shown like a card's Run."""

    def __init__(self, looks: Looks):
        self.status = widgets.HTML(layout=looks.row, style=looks.html)
        self.progress = widgets.IntProgress(min=0, max=1, layout=widgets.Layout(display="none"))
        self.curve = widgets.HTML(layout=looks.row)
        self.run = RunView(looks)
        self.widget = widgets.VBox([self.status, self.progress, self.curve, self.run.widget], layout=looks.row)
        self.best: list[float] = []  # best score after each trial
        self.summary = ""  # of the finished study

    def started(self, n_trials: int, metric: str, sample: int | None = None) -> None:
        """``sample``: the rows of the sample a large frame's refinement searches on."""
        self.metric, self.n_trials, self.done, self.best = METRICS[metric], n_trials, 0, []
        self.progress.max, self.progress.value = n_trials, 0
        self.progress.layout.display = None
        on = f" on a {sample:,}-row sample; the best then trains on all rows" if sample else ""
        self.status.value = _prose(_text_html(f"refining: {n_trials} trials{on}, the cards first…"))
        self.curve.value = ""

    def trial(self, outcome) -> None:
        self.done += 1
        self.progress.value = self.done
        previous = self.best[-1] if self.best else None
        score = outcome.score
        better = score is not None and self.metric.is_better(score, previous)
        if better or previous is not None:
            self.best.append(score if better else previous)
        if self.best:
            self.status.value = _prose(
                _text_html(f"trial {self.done}/{self.n_trials} · best {self.metric.name} {self.best[-1]:.4f}")
            )
            self.curve.value = _sparkline(self.best, self.metric)

    def finished(self, result) -> None:
        self.progress.layout.display = "none"
        pruned = sum(t.state == "pruned" for t in result.trials)
        failed = sum(t.state == "failed" for t in result.trials)
        stopped = " (interrupted: the finished trials are kept)" if result.interrupted else ""
        best = f" · best {self.metric.name} {self.best[-1]:.4f}" if self.best else ""
        self.summary = f"{len(result.trials)} trials in the study ({pruned} pruned, {failed} failed){best}{stopped}"
        self.status.value = _prose(_text_html(f"{self.summary}; training the best one…"))

    def trained(self) -> None:
        """The best one's code has run (here or in its new cell): its result is in the run view."""
        self.status.value = _prose(_text_html(f"{self.summary}; the best one, trained as code: see below"))


def _sparkline(values: list[float], metric: Metric, width: int = 320, height: int = 84) -> str:
    """An inline SVG of best-so-far scores with its axes: the first and the best score on the left,
    the trial numbers below; captioned (numbers and metric names only: nothing to escape)."""
    left, bottom, top = 64, 16, 6
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (width - left - 8) / max(len(values) - 1, 1)

    def y(v: float) -> float:  # higher is better: up; lower is better: the best is still up
        share = (v - low) / span if metric.greater_is_better else (high - v) / span
        return height - bottom - share * (height - bottom - top)

    points = " ".join(f"{left + i * step:.1f},{y(v):.1f}" for i, v in enumerate(values))
    axis = "var(--jp-border-color1, #bdbdbd)"
    ink = "var(--jp-ui-font-color2, #616161)"
    text = f'font-size="10" fill="{ink}"'
    last_x = left + (len(values) - 1) * step
    direction = "higher" if metric.greater_is_better else "lower"
    return (
        f'<svg width="{width}" height="{height}" role="img" aria-label="best score so far">'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="{axis}"/>'
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 4}" y2="{height - bottom}" stroke="{axis}"/>'
        f'<text x="{left - 4}" y="{y(values[0]) + 3:.1f}" text-anchor="end" {text}>{values[0]:.4g}</text>'
        f'<text x="{left - 4}" y="{y(values[-1]) + 3:.1f}" text-anchor="end" {text}>{values[-1]:.4g}</text>'
        f'<text x="{left}" y="{height - 3}" text-anchor="middle" {text}>1</text>'
        f'<text x="{last_x:.1f}" y="{height - 3}" text-anchor="middle" {text}>{len(values)}</text>'
        f'<polyline points="{points}" fill="none" stroke="var(--jp-brand-color1, #1976d2)" stroke-width="2"/>'
        f'<circle cx="{last_x:.1f}" cy="{y(values[-1]):.1f}" r="3" fill="var(--jp-brand-color1, #1976d2)"/>'
        f'</svg><div style="{SMALL}">best {metric.name} so far, trial by trial ({direction} is better): '
        f"{values[0]:.4f} after trial 1, {values[-1]:.4f} after trial {len(values)}</div>"
    )


class RunView:
    """What one Run shows: a status line, per-fold progress, the code's output, and the code."""

    def __init__(self, looks: Looks):
        self.status = widgets.HTML(layout=looks.row, style=looks.html)
        self.progress = widgets.IntProgress(min=0, max=1, layout=widgets.Layout(display="none"))
        self.output = widgets.Output(layout=looks.row)
        self.code_hint = widgets.HTML(layout=looks.row, style=looks.html)
        self.code = widgets.Textarea(layout=widgets.Layout(width="100%", height="18em", display="none"))
        self.widget = widgets.VBox(
            [self.status, self.progress, self.output, self.code_hint, self.code], layout=looks.row
        )

    def started(self, folds: int, expected: str | None = None, cluster: bool = False) -> None:
        """Training has started: with ``folds``-fold cross-validation, or (one fold) validated on one
        held-out split; ``cluster``: a Dask frame's code, on its cluster, which has no folds to show."""
        how = f"with {folds}-fold cross-validation" if folds > 1 else "validated on held-out rows"
        how = f"on the cluster, {how}" if cluster else how
        self._say(_text_html(f"training {how}…" + (f" {expected}" if expected else "")))
        self.progress.max, self.progress.value = folds, 0
        self.progress.layout.display = "none" if cluster else None
        self.hide_code()

    def inserted(self) -> None:
        self._say(_text_html("inserted as a new cell below the %%cash cell; training there…"))

    def measuring(self) -> None:
        self._say(_text_html("measuring the references on the same folds (once per dataset)…"))

    def fold(self, i: int, k: int, metric: str, score: str) -> None:
        self.progress.max, self.progress.value = k, i
        self._say(_text_html(f"training… fold {i}/{k}: {metric} {score}"))

    def finished(self, trial: dict | None, delivery: Delivery, code: str, profile, refs: dict) -> None:
        self.progress.layout.display = "none"
        if delivery.error:
            self.failed(f"training failed: {delivery.error}")
        elif trial and trial["status"] == "done" and trial["cv_mean"] is None:
            self.failed("the code ran but a fold's score is not a finite number; see its output")
        elif trial and trial["status"] == "done":
            where = " · in the new cell below" if delivery.inserted else ""
            self._say(_result_html(trial, profile, refs) + where)
        else:
            self.failed("the code ran but recorded no score; see its output")
        if not delivery.inserted:
            self.show_code(
                code,
                f"ran in this kernel, as no notebook extension is here to insert the cell: "
                f"to keep the code, {COPY_HINT}",
            )

    def failed(self, message: str) -> None:
        self.progress.layout.display = "none"
        self._say(f'<span style="color: var(--jp-error-color1, #c00)">{_text_html(message)}</span>')

    def copied(self, code: str, ok: bool) -> None:
        """The page's answer to Copy code: on the clipboard, or (the browser said no) in the box.
        Said under the status, which keeps the last Run's score."""
        if ok:
            self.hide_code()
            self.code_hint.value = _prose(_text_html("copied to the clipboard; a copy records no score (Run does)"))
        else:
            self.show_code(code, f"the browser did not let the page copy: {COPY_HINT}")

    def show_code(self, code: str, hint: str) -> None:
        self.code.value = code
        self.code.layout.display = None
        self.code_hint.value = _prose(_text_html(hint))

    def hide_code(self) -> None:
        self.code.layout.display = "none"
        self.code_hint.value = ""

    def _say(self, html: str) -> None:
        self.status.value = _prose(html)


def _result_html(trial: dict, profile, refs: dict) -> str:
    """The score, and the references on the same folds; a red warning when it is no better than
    the trivial predictor."""
    seconds, folds = trial["fit_seconds"], len(trial["cv_scores"] or [])
    where = "on the held-out rows" if folds == 1 else f"over {folds} folds"  # one split: Dask, or a large frame
    text = f"<b>{escape(profile.metric)} {terminal.score_text(trial)}</b> {where} · fit time {seconds:.1f} s"
    compared, *warning = comparison(
        METRICS[profile.metric], trial["cv_mean"], refs, profile.task, profile.numbers_as_classes
    ).split("\n") or [""]
    if compared:
        text += f"<br>{_text_html(compared)}"
    for line in warning:
        text += f'<br><span style="color: var(--jp-error-color1, #c00)">{_text_html(line)}</span>'
    return text


def _text_html(text: str, pre: bool = False) -> str:
    """Untrusted text as HTML that shows it verbatim and can never become markup.

    ``pre`` keeps its lines, wrapped between words (JupyterLab breaks <pre> text anywhere),
    in a box that scrolls past ``PRE_HEIGHT``.
    """
    if pre:
        return f'<pre style="{terminal.PRE_STYLE}; max-height: {PRE_HEIGHT}; overflow: auto">{escape(text)}</pre>'
    return escape(text)


def _prose(html: str) -> str:
    """HTML whose wrapped lines sit 1.4 apart: ipywidgets' HTML widget is laid out for one line (28 px)."""
    return f'<div style="line-height: 1.4; margin: 4px 0">{html}</div>'


class _Clock:
    """Seconds elapsed, shown in a label by a thread while the main thread waits on the recommender."""

    def __init__(self, label: widgets.Label, text: str):
        self.label, self.text = label, text
        self.started = time.perf_counter()
        self.seconds = 0.0  # elapsed, final once the clock stopped
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="llm_cash_magic clock", daemon=True)

    def __enter__(self) -> _Clock:
        self.started = time.perf_counter()
        self._tick()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.seconds = time.perf_counter() - self.started

    def _run(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            self._tick()

    def _tick(self) -> None:
        self.seconds = time.perf_counter() - self.started
        self.label.value = f"{self.text} {int(self.seconds)} s"  # unchanged text sends nothing
