"""Rich renderings of profiles, recommendations and history (terminal text or notebook HTML).

Strings from data or a recommender are wrapped in ``Text`` so rich never reads them as markup,
and rich escapes them when it renders HTML.
"""

from __future__ import annotations

import datetime as dt
import io
import time

from rich.console import Console, Group
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from ..codegen import BLEND
from ..codegen.training import validation_fits
from ..metrics import METRICS
from ..profiling import TaskProfile
from ..recommenders import Recommendation
from ..record import REFERENCE
from ..space import changed_params, family
from ..text import clip, plural, terminal_width

MAX_CELL = 120  # characters of untrusted text shown in a table cell
MAX_NAME = 60  # characters of a column name in the profile summary
SAY_EXPECTED_FROM = 10.0  # seconds of training from which the magic says how long to expect
OFFER_SAMPLE_FROM = 300.0  # seconds of expected training from which a sample is offered first
SAMPLE_ROWS = 50_000  # the sample offered: the largest size the knowledge base measured
PRE_STYLE = "white-space: pre-wrap; word-break: normal; overflow-wrap: anywhere; margin: 0"


def console() -> Console:
    """A console as wide as the terminal: tables wrap their cells to fit, not the terminal its lines."""
    return Console(width=terminal_width())


def show(*renderables) -> None:
    out = console()
    for renderable in renderables:
        out.print(renderable)


def html(*renderables) -> str:
    """The renderables as an HTML fragment for widgets: a <pre> whose text rich has escaped.

    Lines are not cut at the console's width: the browser wraps them at the notebook's.
    """
    out = Console(record=True, file=io.StringIO(), width=120, force_jupyter=False)  # or it displays too
    for renderable in renderables:
        out.print(renderable, soft_wrap=True)
    wrapper = f'<pre style="{PRE_STYLE}">{{code}}</pre>'
    return out.export_html(inline_styles=True, code_format=wrapper)


def _clip(text: str, limit: int = MAX_CELL) -> Text:
    """Untrusted text, clipped on one line, as rich text that is never read as markup."""
    return Text(clip(text, limit))


def _name(name: str) -> str:
    """A column name as Python writes it, clipped on its own so that one long name hides no other."""
    return repr(str(_clip(name, MAX_NAME)))


def profile_summary(profile: TaskProfile, data_name: str, notes: list[str] = ()) -> Group:
    kinds = [f"{profile.count(k)} {k}" for k in ("numeric", "categorical", "boolean", "datetime") if profile.count(k)]
    head = Text.assemble(
        (data_name, "bold"),
        f": {profile.n_rows:,} rows × {profile.n_features} features ({', '.join(kinds)})",
        " · task ",
        (profile.task, "bold"),
        " · metric ",
        (profile.metric, "bold"),
        f" · fingerprint {profile.fingerprint}",
    )
    lines = [head]
    stats = profile.target_stats
    if profile.is_classification:
        lines.append(
            Text(
                f"target {profile.target!r}: {stats['n_classes']} classes, minority share "
                f"{stats['minority_share']:.1%}, imbalance ratio {stats['imbalance_ratio']:.1f}"
            )
        )
        if profile.numbers_as_classes:
            lines.append(
                Text(
                    f"its {stats['n_classes']} numeric values are read as classes; task=regression reads them "
                    "as a number (a rating, a count)",
                    style="yellow",
                )
            )
    else:
        lines.append(
            Text(
                f"target {profile.target!r}: mean {stats['target_mean']:.4g}, std {stats['target_std']:.4g}, "
                f"range [{stats['target_min']:.4g}, {stats['target_max']:.4g}], skewness {stats['skewness']:.2f}"
            )
        )
    excluded = [c for c in profile.columns if c.kind in ("id", "constant", "text", "unsupported")]
    if excluded:
        lines.append(_clip("not used: " + ", ".join(f"{_name(c.name)} ({c.why})" for c in excluded), 400))
    if profile.n_high_cardinality:
        high = [c.name for c in profile.columns if c.kind == "categorical" and c.n_unique > 50]
        lines.append(_clip("high-cardinality categoricals: " + ", ".join(map(_name, high)), 400))
    if profile.n_missing_values:
        lines.append(Text(f"missing values: {profile.n_missing_values:,} ({1 - profile.density:.1%} of cells)"))
    lines.extend(Text(f"note: {note}", style="yellow") for note in notes)
    return Group(*lines)


def _params_text(rec: Recommendation, task: str) -> Text:
    changed = changed_params(rec.family, rec.params, task)
    return _clip(changed, 300) if changed else Text("library defaults", style="dim")


def recommendations_table(recs: list[Recommendation], task: str) -> Table:
    table = Table(title="Recommendations", title_justify="left", show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("family")
    table.add_column("hyperparameters (changed from defaults)")
    table.add_column("why")
    table.add_column("by")
    for i, rec in enumerate(recs, start=1):
        why = _clip(rec.rationale_parts[0], 300)  # the verdict; the per-task evidence is the history's
        if rec.notes:
            why.append(f"\nrepaired: {'; '.join(rec.notes)[:200]}", style="yellow")
        table.add_row(str(i), family(rec.family).label, _params_text(rec, task), why, _clip(rec.source, 40))
    return table


def lap_line(lap, recs: list[Recommendation], metric: str) -> str:
    """One candidate's result in the race before training (a ``run.race.Lap``)."""
    rank = recs.index(lap.recommendation) + 1
    label = family(lap.recommendation.family).label
    if lap.skipped:
        return f"  #{rank} {label}: {lap.skipped}"
    result = f"{metric} {lap.score:.4f}" if lap.score is not None else f"failed: {clip(lap.error, MAX_CELL)}"
    over = f" over {lap.folds} held-out thirds" if lap.folds > 1 else ""
    return f"  #{rank} {label}: {result}{over} ({lap.seconds:.1f} s)"


def race_outcome(chosen: Recommendation, recs: list[Recommendation], laps: list) -> str:
    if all(lap.score is None for lap in laps):
        return "no candidate finished the race; training #1"
    rank = recs.index(chosen) + 1
    return f"#{rank} {family(chosen.family).label} won the race"


def expected_line(
    rec: Recommendation, refs: dict, profile: TaskProfile | None = None, data_name: str = ""
) -> str | None:
    """How long training ``rec`` should take: what LightGBM's defaults took on these folds (a
    reference, measured first) times the recommendation's time factor, and the final fit on every
    row after the folds; None when unknown or short. A long wait on many rows (of ``profile``, the
    frame named ``data_name``) offers a sample first."""
    lightgbm = refs.get("lightgbm") or {}
    if rec.time_factor is None or not lightgbm.get("fit_seconds"):
        return None
    folds, count = rec.time_factor * lightgbm["fit_seconds"], len(lightgbm.get("cv_scores") or [])
    seconds = folds * (1 + 1 / validation_fits(count)) if count else folds  # then the final fit
    if seconds < SAY_EXPECTED_FROM:
        return None
    times = f"{rec.time_factor:.0f}" if rec.time_factor >= 10 else f"{rec.time_factor:.1f}"
    line = (
        f"expected to take about {duration(seconds)}: {duration(folds)} to validate, {times}× what "
        f"LightGBM's defaults took ({duration(lightgbm['fit_seconds'])}) as on similar tasks, "
        "then the final fit on every row"
    )
    if profile is not None and data_name and seconds >= OFFER_SAMPLE_FROM and profile.n_rows > SAMPLE_ROWS:
        line += (
            f"; to try {SAMPLE_ROWS:,} rows first, interrupt and run `cash_sample = {data_name}.sample"
            f"({SAMPLE_ROWS}, random_state=0)`, then this %%cash line with cash_sample for {data_name}"
        )
    return line


def duration(seconds: float) -> str:
    """``8.5 s``, ``45 s``, ``12 min``, ``1.5 h``: a wait as a person reads it."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def messages_text(messages: list[dict]) -> str:
    """Chat messages exactly as they would be sent, each under a header naming its role."""
    return "\n\n".join(f"──── {m['role']} ────\n{m['content']}" for m in messages)


def score_text(trial: dict) -> str:
    """A trial's score as history tables and the panel show it: mean ± spread over the folds, the
    score alone for one held-out split (a Dask or large frame's code: no spread, or 0 in an older
    history)."""
    if trial.get("status") == "failed":
        return "failed"
    if trial.get("cv_mean") is None:
        return "—"
    if trial.get("cv_std") is None or len(trial.get("cv_scores") or []) == 1:
        return f"{trial['cv_mean']:.4f}"
    return f"{trial['cv_mean']:.4f} ± {trial['cv_std']:.4f}"


def best_trial(run: dict) -> dict | None:
    """The best of what the run trained; its references (LightGBM's defaults, the trivial predictor)
    are measured beside it, not its results, as in the sidebar."""
    done = [t for t in run["trials"] if t["status"] == "done" and t["cv_mean"] is not None and t["source"] != REFERENCE]
    return METRICS[run["metric"]].best(done, score=lambda t: t["cv_mean"])


def _label(trial: dict) -> str:
    if trial["family"] == BLEND:
        return f"blend of {len(trial['params']['members'])}"
    return family(trial["family"]).label


def history_table(runs: list[dict]) -> Table:
    table = Table(title=f"llm_cash_magic history ({plural(len(runs), 'run')})", title_justify="left")
    for name in ("run", "when", "data", "task · metric", "strategy", "best family", "CV score", "trials"):
        table.add_column(name, no_wrap=name in ("run", "CV score"))  # an id to copy, a number to read whole
    for run in runs:
        best = best_trial(run)
        when = dt.datetime.fromtimestamp(run["created_at"]).strftime("%Y-%m-%d %H:%M")
        table.add_row(
            run["id"],
            when,
            _clip(f"{run['data_name']} ({run['n_rows']:,}×{run['n_columns']})", 40),
            f"{run['task']} · {run['metric']}",
            run["strategy"],
            _label(best) if best else "—",
            score_text(best) if best else "—",
            str(len(run["trials"])),
        )
    return table


class RefineProgress:
    """A progress bar for a refinement: trials done and the time left (of ``trials``, or of a time
    budget of ``seconds``), the running trial's folds, and the best score so far with its family."""

    def __init__(self, trials: int | None, metric: str, cv: int, seconds: float | None = None):
        self.metric, self.cv, self.seconds = METRICS[metric], cv, seconds
        self.best: float | None = None
        self.running, self.done = "", 0
        self.started = time.monotonic()
        count = [TextColumn(f"of {duration(seconds)}")] if seconds else [MofNCompleteColumn()]
        self.progress = Progress(
            TextColumn("refining"),
            BarColumn(),
            *count,
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            TextColumn("{task.description}"),
            console=console(),
        )
        self.task = self.progress.add_task("", total=seconds or trials)

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def update(self, outcome) -> None:
        """A trial finished."""
        if outcome.score is not None and self.metric.is_better(outcome.score, self.best):
            self.best = outcome.score
            self.best_family = family(outcome.family).label
        self.running, self.done = "", self.done + 1
        self._show(advance=1)

    def fold(self, trial: int, fold: int) -> None:
        """The running trial finished a fold (a long trial shows it moving)."""
        self.running = f"trial {trial + 1}: fold {fold}/{self.cv} done"
        self._show()

    def _show(self, advance: int = 0) -> None:
        best = f"best {self.metric.name} {self.best:.4f} ({self.best_family})" if self.best is not None else ""
        trials = plural(self.done, "trial") if self.seconds else ""
        description = " · ".join(part for part in (trials, self.running, best) if part)
        if self.seconds:  # the bar measures the time budget
            elapsed = min(time.monotonic() - self.started, self.seconds)
            self.progress.update(self.task, completed=elapsed, description=description)
        else:
            self.progress.update(self.task, advance=advance, description=description)


def refine_table(result, metric: str, limit: int = 10) -> Table:
    """The refinement's best trials, best first, marking the recommendations it started from."""
    done = METRICS[metric].ranked([t for t in result.trials if t.state == "complete"], score=lambda t: t.score)
    n_pruned = sum(t.state == "pruned" for t in result.trials)
    n_failed = sum(t.state == "failed" for t in result.trials)
    table = Table(
        title=f"Refinement: {len(result.trials)} trials ({n_pruned} pruned, {n_failed} failed), "
        f"best {min(limit, len(done))} shown",
        title_justify="left",
    )
    for name in ("trial", "family", metric, "start"):
        table.add_column(name)
    for t in done[:limit]:
        table.add_row(
            str(t.number + 1),
            family(t.family).label,
            f"{t.score:.4f}",
            ("recommendation" if t.warm_start else "TPE") + (", measured before" if t.reused else ""),
        )
    return table
