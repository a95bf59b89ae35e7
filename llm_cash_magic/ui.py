"""The ``%%cash`` panel: recommendations stream in as cards with typed editors; Run trains one.

The panel holds no logic: each step is a ``pipeline`` function, editors come from the space,
every Run goes through ``delivery.deliver_and_run``, and the profile is rendered by ``render``.
Rationales, notes, column names and prompts are data: shown as escaped text, clipped in the view
only (the history keeps them whole).

Recommenders that talk to a model may offer more to the panel (see ``Recommender``): ``model``
for the header, ``messages()`` for "Show prompt", and an ``on_text`` hook for the live response.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from html import escape

import ipywidgets as widgets
import pandas as pd
from IPython.display import display

from . import pipeline, render
from .codegen import FOLD_LINE
from .delivery import Delivery, deliver_and_run
from .editors import Looks, ParamEditor
from .errors import CashError
from .history import History
from .metrics import METRICS
from .recommenders import Recommendation
from .space import family

MAX_RATIONALE = 400  # characters of a rationale shown on a card
MAX_NOTES = 300  # characters of repair notes shown on a card
MAX_LIVE_TEXT = 20_000  # trailing characters of the response text shown while it streams
TICK_SECONDS = 0.5
TEXT_EVERY_SECONDS = 0.2  # the live response view is redrawn at most this often
COPY_HINT = "click in the box, select all (Ctrl/Cmd+A) and copy (Ctrl/Cmd+C)"
TEXT_FORM = ("[llm_cash_magic panel: it needs a frontend that shows ipywidgets (JupyterLab, Notebook, "
             "VS Code); %%cash … --auto trains the top recommendation without it]")

# (history, run id, plan, the top-K recommendations, their edited params) → (trial id, code)
PrepareBlend = Callable[[History, str, pipeline.Plan, list[Recommendation], list[dict]], tuple[str, str]]


def has_widget_frontend(shell) -> bool:
    """True in a Jupyter kernel (JupyterLab, Notebook, VS Code, nbclient); False in terminal IPython.

    A kernel cannot tell whether its frontend draws widgets; one that does not (jupyter console)
    shows the panel's text form, which points to ``--auto``.
    """
    return getattr(shell, "kernel", None) is not None


def show_panel(plan: pipeline.Plan, notes: str, history: History, namespace: dict, *,
               prepare_blend: PrepareBlend | None = None, data: pd.DataFrame | None = None,
               cell: str | None = None) -> Panel:
    """Display a panel for ``plan`` and fill it as the recommendations arrive."""
    panel = Panel(plan, notes, history, namespace, prepare_blend=prepare_blend, data=data, cell=cell)
    display(panel)
    panel.stream()
    return panel


class Panel:
    """Header (profile, recommender, elapsed time, live response), one card per recommendation,
    and the panel-wide actions (Blend top-K when blend code exists, Refine (N) when the panel has
    the data, Show prompt)."""

    def __init__(self, plan: pipeline.Plan, notes: str, history: History, namespace: dict, *,
                 prepare_blend: PrepareBlend | None = None, data: pd.DataFrame | None = None,
                 cell: str | None = None):
        self.plan, self.notes, self.history, self.namespace = plan, notes, history, namespace
        self.prepare_blend, self.data = prepare_blend, data
        self.cell = cell  # the id of the %%cash cell, if the frontend sent one: Run inserts below it
        self.run_id: str | None = None
        self.cards: list[Card] = []
        self.prompt: list[dict] | None = None  # the messages the recommender sends, if it sends any
        self._text: list[str] = []
        self._text_shown_at = 0.0
        self.looks = Looks()

        recommender = plan.recommender
        model = getattr(recommender, "model", None)
        sends = callable(getattr(recommender, "messages", None))
        source = f"recommender: {plan.strategy}" + (f" · model {model}" if model else "" if sends else " · offline")
        header = [
            widgets.HTML(render.html(render.profile_summary(plan.profile, plan.options.data, plan.notes))),
            widgets.HTML("<br>".join(_text_html(line) for line in (source, plan.banner) if line)),
        ]
        self.clock = widgets.Label()
        self.live_text = widgets.HTML()
        self.live = widgets.Accordion([self.live_text], titles=("response text",), selected_index=0)
        self.live.layout.display = None if hasattr(recommender, "on_text") else "none"
        self.card_box = widgets.VBox()

        self.prompt_button = widgets.Button(description="Show prompt", icon="comment",
                                            tooltip="the exact messages sent to the model")
        self.prompt_button.on_click(self._toggle_prompt)
        self.prompt_view = widgets.HTML(layout=widgets.Layout(display="none"))
        actions: list[widgets.Widget] = []
        if prepare_blend:
            self.blend_k = widgets.BoundedIntText(2, min=2, max=2, description="K", disabled=True,
                                                  layout=widgets.Layout(width="110px"))
            self.blend_button = widgets.Button(description="Blend top-K", icon="object-group", disabled=True,
                                               tooltip="train one model averaging the top K cards as edited")
            self.blend_button.on_click(self._blend)
            self.blend_view = RunView(self.looks)
            actions += [self.blend_button, self.blend_k]
        if data is not None:
            self.refine_n = widgets.BoundedIntText(20, min=1, max=1000, description="N", disabled=True,
                                                   layout=widgets.Layout(width="120px"))
            self.refine_button = widgets.Button(description="Refine (N)", icon="search-plus", disabled=True,
                                                tooltip="N trials of an Optuna TPE search that starts from the "
                                                        "cards as edited; the best one is trained")
            self.refine_button.on_click(self._refine)
            self.refine_view = RefineView(self.looks)
            actions += [self.refine_button, self.refine_n]
        actions.append(self.prompt_button)
        footer = [widgets.HBox(actions), self.prompt_view]
        if data is not None:
            footer.insert(1, self.refine_view.widget)
        if prepare_blend:
            footer.insert(1, self.blend_view.widget)
        self.widget = widgets.VBox([*header, self.clock, self.live, self.card_box, *footer])

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs) | {"text/plain": TEXT_FORM}

    # ---- streaming ---------------------------------------------------------------------------
    def stream(self) -> None:
        """Show each recommendation as a card the moment it arrives, then record the run."""
        recommender, options = self.plan.recommender, self.plan.options
        if callable(getattr(recommender, "messages", None)):  # what recommend() is about to send
            self.prompt = recommender.messages(self.plan.profile, options.n, self.notes)
        if hasattr(recommender, "on_text"):
            recommender.on_text = self._receive_text
        clock, interrupted = _Clock(self.clock, "recommending…"), ""
        try:
            with clock:
                for rec in pipeline.recommend(self.plan, self.notes):
                    self._show_text()
                    self._add_card(rec)
        except CashError as exc:
            self.clock.value = f"stopped after {clock.seconds:.1f} s: {exc}"
            raise
        except KeyboardInterrupt:  # tired of waiting: keep the cards that arrived
            if not self.cards:
                raise
            interrupted = " (interrupted)"
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
    def _prepare(self, card: Card) -> tuple[str, str]:
        """A trial for the card's current values: the one Copy code registered, if they still match."""
        params = card.params()
        if card.copied and card.copied[0] == params:
            _, trial_id, code = card.copied
            card.copied = None
            return trial_id, code
        return pipeline.prepare_trial(self.history, self.run_id, self.plan, card.rec, params)

    def _run(self, card: Card) -> None:
        card.run_button.disabled = True
        try:
            with card.view.output:  # the code's output lands in the card, and so would a bug's traceback
                card.view.output.clear_output()
                try:
                    trial_id, code = self._prepare(card)
                except CashError as exc:
                    card.view.failed(str(exc))
                    return
                baseline = pipeline.defaults_baseline(self.history, self.plan, card.rec.family, card.params())
                self._deliver(card.view, trial_id, code, baseline)
        finally:
            card.run_button.disabled = False

    def _copy(self, card: Card) -> None:
        with card.view.output:
            try:
                trial_id, code = self._prepare(card)
            except CashError as exc:
                card.view.failed(str(exc))
                return
            card.copied = (card.params(), trial_id, code)
            card.view.show_code(code, f"the code for these values ({COPY_HINT}); it records its score when run")

    def _blend(self, _button) -> None:
        cards = self.cards[: self.blend_k.value]
        self.blend_button.disabled = True
        try:
            with self.blend_view.output:
                self.blend_view.output.clear_output()
                try:
                    trial_id, code = self.prepare_blend(
                        self.history, self.run_id, self.plan, [c.rec for c in cards], [c.params() for c in cards])
                except CashError as exc:
                    self.blend_view.failed(str(exc))
                    return
                self._deliver(self.blend_view, trial_id, code, baseline=None)
        finally:
            self.blend_button.disabled = False

    def _refine(self, _button) -> None:
        from .refine import refine

        recs = [replace(card.rec, params=card.params()) for card in self.cards]
        view, n_trials = self.refine_view, self.refine_n.value
        self.refine_button.disabled = True
        try:
            with view.run.output:
                view.run.output.clear_output()
                view.started(n_trials, self.plan.profile.metric)
                result = refine(self.data, self.plan.profile, recs, n_trials, history=self.history,
                                run_id=self.run_id, cv=self.plan.cv, seed=self.plan.options.seed,
                                on_trial=view.trial)
                view.finished(result)
                try:
                    best = pipeline.refined_recommendation(result, self.plan)
                    trial_id, code = pipeline.prepare_trial(self.history, self.run_id, self.plan, best)
                except CashError as exc:
                    view.run.failed(str(exc))
                    return
                self._deliver(view.run, trial_id, code, baseline=None)
        finally:
            self.refine_button.disabled = False

    def _deliver(self, view: RunView, trial_id: str, code: str, baseline: dict | None) -> None:
        view.started(self.plan.cv)
        with contextlib.redirect_stdout(_FoldWatcher(sys.stdout, view.fold)):
            delivery = deliver_and_run(code, trial_id, self.history, self.namespace, below=self.cell)
        view.finished(self.history.trial(trial_id), delivery, code, self.plan.profile.metric, baseline)

    def _toggle_prompt(self, _button) -> None:
        if self.prompt_view.layout.display != "none":
            self.prompt_view.layout.display = "none"
            self.prompt_button.description = "Show prompt"
            return
        if self.prompt:
            self.prompt_view.value = _text_html(render.messages_text(self.prompt), pre=True)
        else:
            self.prompt_view.value = _text_html(f"{self.plan.strategy}: no prompt — nothing is sent to a model")
        self.prompt_view.layout.display = None
        self.prompt_button.description = "Hide prompt"


class Card:
    """One recommendation: family, rationale, repairs, an editor per hyperparameter, Run / Copy code."""

    def __init__(self, rank: int, rec: Recommendation, task: str, looks: Looks):
        fam = family(rec.family)
        self.rec = rec
        self.copied: tuple[dict, str, str] | None = None  # (params, trial id, code) handed out by Copy code
        self.editors = [ParamEditor(p, rec.params.get(p.name, p.default_for(task)), looks)
                        for p in fam.params_for(task)]
        title = f"<b>#{rank} {escape(fam.label)}</b> · {escape(fam.estimator(task).cls)} · from " \
                f"{escape(_clip(rec.source, 60))}"
        texts = [title, _text_html(_clip(rec.rationale, MAX_RATIONALE))]
        if rec.notes:
            notes = _text_html("repaired: " + _clip("; ".join(rec.notes), MAX_NOTES))
            texts.append(f'<div style="color: var(--jp-warn-color1, #b26b00)">{notes}</div>')
        parts: list[widgets.Widget] = [widgets.HTML(t, layout=looks.row, style=looks.html) for t in texts]
        parts.append(widgets.GridBox([e.widget for e in self.editors], layout=looks.grid))
        button = {"layout": looks.row, "style": looks.button}
        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play", disabled=True,
                                         tooltip="train these values with cross-validation", **button)
        self.copy_button = widgets.Button(description="Copy code", icon="copy", disabled=True, **button)
        self.reset_button = widgets.Button(description="Reset", icon="undo", tooltip="back to the recommended values",
                                           **button)
        self.reset_button.on_click(lambda _: self.reset())
        self.view = RunView(looks)
        parts += [widgets.HBox([self.run_button, self.copy_button, self.reset_button], layout=looks.row),
                  self.view.widget]
        self.widget = widgets.VBox(parts, layout=widgets.Layout(
            border="1px solid var(--jp-border-color2, #ccc)", padding="4px 10px", margin="6px 0"))

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

    def started(self, n_trials: int, metric: str) -> None:
        self.metric, self.n_trials, self.done, self.best = METRICS[metric], n_trials, 0, []
        self.progress.max, self.progress.value = n_trials, 0
        self.progress.layout.display = None
        self.status.value = _text_html(f"refining: {n_trials} trials, the cards first…")
        self.curve.value = ""

    def trial(self, outcome) -> None:
        self.done += 1
        self.progress.value = self.done
        previous = self.best[-1] if self.best else None
        score = outcome.score
        better = score is not None and (previous is None or (score > previous) == self.metric.greater_is_better)
        if better or previous is not None:
            self.best.append(score if better else previous)
        if self.best:
            self.status.value = _text_html(f"trial {self.done}/{self.n_trials} · best {self.metric.name} "
                                           f"{self.best[-1]:.4f}")
            self.curve.value = _sparkline(self.best)

    def finished(self, result) -> None:
        self.progress.layout.display = "none"
        pruned = sum(t.state == "pruned" for t in result.trials)
        failed = sum(t.state == "failed" for t in result.trials)
        stopped = " (interrupted: the finished trials are kept)" if result.interrupted else ""
        best = f" · best {self.metric.name} {self.best[-1]:.4f}" if self.best else ""
        self.status.value = _text_html(f"{len(result.trials)} trials in the study ({pruned} pruned, {failed} "
                                       f"failed){best}{stopped}; training the best one…")


def _sparkline(values: list[float], width: int = 240, height: int = 48) -> str:
    """An inline SVG of best-so-far scores (numbers only, so nothing to escape)."""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = width / max(len(values) - 1, 1)
    points = " ".join(f"{i * step:.1f},{height - 4 - (v - low) / span * (height - 8):.1f}"
                      for i, v in enumerate(values))
    return (f'<svg width="{width}" height="{height}" role="img" aria-label="best score so far">'
            f'<polyline points="{points}" fill="none" stroke="var(--jp-brand-color1, #1976d2)" '
            f'stroke-width="2"/></svg>')


class RunView:
    """What one Run shows: a status line, per-fold progress, the code's output, and the code."""

    def __init__(self, looks: Looks):
        self.status = widgets.HTML(layout=looks.row, style=looks.html)
        self.progress = widgets.IntProgress(min=0, max=1, layout=widgets.Layout(display="none"))
        self.output = widgets.Output(layout=looks.row)
        self.code_hint = widgets.HTML(layout=looks.row, style=looks.html)
        self.code = widgets.Textarea(layout=widgets.Layout(width="100%", height="18em", display="none"))
        self.widget = widgets.VBox([self.status, self.progress, self.output, self.code_hint, self.code],
                                   layout=looks.row)

    def started(self, folds: int) -> None:
        self.status.value = _text_html(f"training with {folds}-fold cross-validation…")
        self.progress.max, self.progress.value = folds, 0
        self.progress.layout.display = None

    def fold(self, i: int, k: int, metric: str, score: str) -> None:
        self.progress.max, self.progress.value = k, i
        self.status.value = _text_html(f"training… fold {i}/{k}: {metric} {score}")

    def finished(self, trial: dict, delivery: Delivery, code: str, metric: str, baseline: dict | None) -> None:
        self.progress.layout.display = "none"
        if delivery.inserted:
            self.status.value = _text_html("inserted as a new cell below the %%cash cell; it runs there and "
                                           "records its score in the history")
            return
        if delivery.error:
            self.failed(f"training failed: {delivery.error}")
        elif trial["status"] == "done":
            self.status.value = _result_html(trial, metric, baseline)
        else:
            self.failed("the code ran but recorded no score; see its output above")
        self.show_code(code, f"ran in this kernel, as no notebook extension is here to insert the cell: "
                             f"to keep the code, {COPY_HINT}")

    def failed(self, message: str) -> None:
        self.progress.layout.display = "none"
        self.status.value = f'<span style="color: var(--jp-error-color1, #c00)">{_text_html(message)}</span>'

    def show_code(self, code: str, hint: str) -> None:
        self.code.value = code
        self.code.layout.display = None
        self.code_hint.value = _text_html(hint)


def _result_html(trial: dict, metric: str, baseline: dict | None) -> str:
    seconds, folds = trial["fit_seconds"], len(trial["cv_scores"] or [])
    text = f"<b>{escape(metric)} {_score(trial)}</b> over {folds} folds · fit time {seconds:.1f} s"
    if baseline:
        diff = trial["cv_mean"] - baseline["cv_mean"]
        better = diff > 0 if METRICS[metric].greater_is_better else diff < 0
        verdict = "same score" if diff == 0 else f"{'better' if better else 'worse'} by {abs(diff):.4f}"
        text += f" · library defaults {_score(baseline)} ({verdict})"
    return text


def _score(trial: dict) -> str:
    return f"{trial['cv_mean']:.4f} ± {trial['cv_std']:.4f}"


def _clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text_html(text: str, pre: bool = False) -> str:
    """Untrusted text as HTML that shows it verbatim and can never become markup."""
    if pre:
        return f'<pre style="white-space: pre-wrap; margin: 0">{escape(text)}</pre>'
    return escape(text)


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


class _FoldWatcher:
    """stdout that passes everything through and reports each fold line the training code prints."""

    def __init__(self, stream, on_fold: Callable[[int, int, str, str], None]):
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
