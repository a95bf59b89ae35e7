"""What a panel trained, at a glance: each result and the two references ranked by score, with
their spread over the folds, fit time and a dot-and-whisker chart on one shared axis; and the
panel's static copy, which a saved notebook still shows once the live widgets are gone.

Labels, parameters and rationales are data: every string is escaped here, never markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from ..metrics import Metric
from ..text import clip

CHART_WIDTH, CHART_HEIGHT = 140, 14
MUTED = "var(--jp-ui-font-color2, #616161)"
ACCENT = "var(--jp-brand-color1, #1976d2)"
CELL = "padding: 1px 10px 1px 0; text-align: left; white-space: nowrap"


@dataclass(frozen=True)
class Result:
    """One row: what was trained (or a reference), its mean and spread over the folds, its fit time;
    ``scales`` False for a row that should not set the chart's scale (the trivial predictor, far
    behind, would squeeze the others into a dot)."""

    label: str
    mean: float
    std: float | None  # None: one held-out split, no spread
    seconds: float | None = None
    reference: bool = False
    scales: bool = True


def ranked(results: list[Result], metric: Metric) -> list[Result]:
    """Best first; a reference ties after what was trained."""
    return sorted(results, key=lambda r: (-metric.signed(r.mean), r.reference))


def table_html(results: list[Result], metric: Metric) -> str:
    """The leaderboard: a row per result, best first, the best trained one in bold; a caption says
    which way is better and what the whiskers are."""
    if not results:
        return ""
    rows = ranked(results, metric)
    scaling = [r for r in rows if r.scales] or rows
    low = min(r.mean - (r.std or 0.0) for r in scaling)
    high = max(r.mean + (r.std or 0.0) for r in scaling)
    if high <= low:  # one point: in the middle of the chart
        pad = abs(low) * 0.05 or 1.0
        low, high = low - pad, high + pad
    best = next((r for r in rows if not r.reference), None)
    head = "".join(f'<th style="{CELL}">{h}</th>' for h in ("", "", escape(metric.name), "± std", "", "fit"))
    body = []
    for place, row in enumerate(rows, start=1):
        style = "font-weight: bold" if row is best else f"color: {MUTED}" if row.reference else ""
        seconds = f"{row.seconds:.1f} s" if row.seconds is not None else ""
        cells = (
            f"{place}.",
            escape(row.label) + (" (reference)" if row.reference else ""),
            f"{row.mean:.4f}",
            "" if row.std is None else f"{row.std:.4f}",
            _whisker(row, low, high),
            seconds,
        )
        body.append(f'<tr style="{style}">' + "".join(f'<td style="{CELL}">{c}</td>' for c in cells) + "</tr>")
    direction = "higher" if metric.greater_is_better else "lower"
    caption = (
        f"{escape(metric.name)} over the same folds, {direction} is better; the chart spans {low:.4g} to "
        f"{high:.4g}, a dot per mean and its whisker ± one standard deviation (an arrow: off the chart)"
    )
    return (
        f'<table style="border-collapse: collapse; margin: 2px 0"><thead><tr>{head}</tr></thead>'
        f'<tbody>{"".join(body)}</tbody></table><div style="font-size: 90%; color: {MUTED}">{caption}</div>'
    )


def _whisker(row: Result, low: float, high: float) -> str:
    """An inline SVG: the row's mean as a dot, ± its standard deviation as a line, on [low, high];
    a mean outside it, an arrow at that edge."""
    span = (high - low) or 1.0

    def x(value: float) -> float:
        return 4 + (min(max(value, low), high) - low) / span * (CHART_WIDTH - 8)

    colour = MUTED if row.reference else ACCENT
    y = CHART_HEIGHT / 2
    std = row.std or 0.0  # one held-out split: a dot without a whisker
    label = f"{row.mean:.4f}" if row.std is None else f"{row.mean:.4f} ± {row.std:.4f}"
    svg = f'<svg width="{CHART_WIDTH}" height="{CHART_HEIGHT}" role="img" aria-label="{label}">'
    if not low <= row.mean <= high:
        tip, back = (0, 8) if row.mean < low else (CHART_WIDTH, CHART_WIDTH - 8)
        return f'{svg}<polygon points="{tip},{y} {back},{y - 5} {back},{y + 5}" fill="{colour}"/></svg>'
    return (
        f'{svg}<line x1="{x(row.mean - std):.1f}" y1="{y}" x2="{x(row.mean + std):.1f}" y2="{y}" '
        f'stroke="{colour}" stroke-width="2"/><circle cx="{x(row.mean):.1f}" cy="{y}" r="3.5" fill="{colour}"/></svg>'
    )


def static_html(css_class: str, header: str, cards: list[tuple[str, str, str]], results: list[Result], metric) -> str:
    """The panel as plain HTML: ``header`` (already HTML), each card's title, changed parameters and
    rationale, and the leaderboard, in a ``css_class`` box the live panel hides while it is shown."""
    items = "".join(
        f'<li><b>{escape(title)}</b>: {escape(params)}<br><span style="color: {MUTED}">'
        f"{escape(clip(rationale, 300))}</span></li>"
        for title, params, rationale in cards
    )
    results_html = table_html(results, metric) or f'<div style="color: {MUTED}">nothing trained yet</div>'
    return (
        f'<div class="{css_class}" style="border: 1px dashed {MUTED}; padding: 4px 10px; margin: 4px 0">'
        f'{header}<ol style="margin: 4px 0">{items}</ol>{results_html}'
        f'<div style="font-size: 90%; color: {MUTED}; margin-top: 4px">a static copy of the llm_cash_magic panel, '
        "kept with the notebook: run the cell again for the live one</div></div>"
    )
