"""Anytime curves: does a warm start help the refinement search, and up to which budget?

Each curve is the shipped refinement itself (``refine.refine``: Optuna TPE over every family,
median pruning, each trial cross-validated on the training split), run once per task and seed up
to the largest budget. At each budget b, the best of the first b trials by cross-validated score is
refit on the training split and scored on the held-out test split: exactly what a user who had
asked for ``refine=b`` would have got, since a study's first b trials do not depend on later ones,
except where that refit runs past the benchmark's limit per fit (the next best is refit instead).
``tpe-cold`` starts from nothing; ``tpe-warm-offline`` enqueues the offline recommender's top n
(leave-one-out) as its first trials, and ``tpe-warm-<llm strategy>`` an LLM's, when one is configured.

Each study lives in its own history and Optuna file under ``work``, so an interrupted run resumes it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..metrics import METRICS
from ..recommenders import Recommendation
from ..record import History
from ..run.refine import refine, study_trials
from ..space import validate
from .evaluate import run_bounded
from .report import half_width
from .run import Settings, Split, Task, split
from .strategies import llm_configured, recommendations

COLD = "tpe-cold"
RUN_ID = "anytime"  # one run per study file


@dataclass(frozen=True)
class Point:
    """One strategy on one task and seed after ``budget`` trials."""

    task: str
    seed: int
    strategy: str
    budget: int
    metric: str
    cv_score: float | None  # the best trial's cross-validated score on the training split
    test_score: float | None
    percentile: float
    chosen: str  # the best trial's family, and whether it was a recommendation


def strategies() -> list[str]:
    """Cold TPE, TPE warm-started by the offline recommender, and by each LLM strategy when configured."""
    return [COLD, "tpe-warm-offline"] + (["tpe-warm-zero-shot", "tpe-warm-meta-informed"] if llm_configured() else [])


def run(
    tasks: list[Task],
    budgets: tuple[int, ...],
    settings: Settings,
    work: Path,
    *,
    warm_n: int = 5,
    names: list[str] | None = None,
) -> list[Point]:
    """Every anytime strategy on every task and seed; studies run ``settings.workers`` at a time."""
    names = names or strategies()
    splits = {(t.name, seed): split(t, seed, settings, work) for t in tasks for seed in settings.seeds}
    studies = _Studies(work / "anytime", max(budgets), settings)
    jobs = {
        (task, seed, name): studies.job(data, name, warm_n) for (task, seed), data in splits.items() for name in names
    }
    trials = studies.run(jobs)
    points = []
    for (task, seed), data in splits.items():
        ranked = {(name, b): _ranked(data, trials[task, seed, name], b) for name in names for b in budgets}
        data.holdout([configs[0][0] for configs in ranked.values() if configs], settings)  # in parallel
        for (name, b), configs in ranked.items():
            config, trial = _refit_best(data, configs, settings)
            test = data.cache.done[data.fit_key(config)].value if config else None
            label = "—" if trial is None else trial["family"] + (" (recommended)" if trial["warm_start"] else "")
            points.append(
                Point(
                    task,
                    seed,
                    name,
                    b,
                    data.profile.metric,
                    trial and trial["score"],
                    test,
                    data.percentile(test),
                    label,
                )
            )
    return points


class _Studies:
    """Each (task, seed, strategy) study in a child process, its trials cached as JSONL once complete."""

    def __init__(self, where: Path, trials: int, settings: Settings):
        self.where, self.trials, self.settings = where, trials, settings
        where.mkdir(parents=True, exist_ok=True)
        self.cache = where / f"trials-{trials}.jsonl"
        self.files: dict[tuple, Path] = {}

    def job(self, data: Split, name: str, warm_n: int):
        ctx, settings, trials = data.context, self.settings, self.trials
        key = (ctx.name, ctx.seed, name)
        # its own folder: a history's Optuna file sits next to it
        path = self.files[key] = self.where / f"{data.cache.path.stem}-{name}-n{warm_n}" / "history.sqlite"

        def study() -> list[dict]:
            history = History(path)
            if history.run(RUN_ID) is None:
                history.start_run(
                    data.profile, data_name=ctx.name, n_columns=data.train.shape[1], strategy=name, run_id=RUN_ID
                )
            done = len(study_trials(history, RUN_ID))
            if done < trials:
                refine(
                    data.train,
                    data.profile,
                    _warm_start(data, name, warm_n),
                    trials - done,
                    history=history,
                    run_id=RUN_ID,
                    cv=settings.cv,
                    seed=ctx.seed,
                )
            return _trials(path)

        return study

    def run(self, jobs: dict) -> dict:
        """The finished trials of every study; one stopped by its time limit keeps those it finished
        (not cached: the next run resumes it)."""
        stored = {}
        if self.cache.exists():
            for line in self.cache.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                stored[record["study"]] = record["trials"]
        done = {key: stored[self.files[key].parent.name] for key in jobs if self.files[key].parent.name in stored}
        todo = {key: job for key, job in jobs.items() if key not in done}
        seconds = self.trials * self.settings.cv * self.settings.seconds
        with self.cache.open("a", encoding="utf-8") as fh:
            for key, outcome in run_bounded(todo, workers=self.settings.workers, seconds=seconds):
                if outcome.error is None:
                    done[key] = outcome.value
                    fh.write(json.dumps({"study": self.files[key].parent.name, "trials": outcome.value}) + "\n")
                    fh.flush()
                else:
                    done[key] = _trials(self.files[key])
        return done


def _trials(path: Path) -> list[dict]:
    return [asdict(t) for t in study_trials(History(path), RUN_ID)]


def _warm_start(data: Split, name: str, n: int) -> list[Recommendation]:
    return [] if name == COLD else recommendations(data.context, name.removeprefix("tpe-warm-"), n)


def _ranked(data: Split, trials: list[dict], budget: int) -> list[tuple]:
    """The complete trials among the first ``budget`` finished, best first, as (config, trial)."""
    complete = [t for t in trials[:budget] if t["state"] == "complete"]
    ranked = METRICS[data.profile.metric].ranked(complete, score=lambda t: t["score"])
    return [(validate(t["family"], t["params"], data.profile.task, n_rows=len(data.X_train)), t) for t in ranked]


def _refit_best(data: Split, ranked: list[tuple], settings: Settings) -> tuple:
    """The best of ``ranked`` whose refit on the training split ends within the benchmark's limit
    per fit; (None, None) if none. The search has no limit per trial, so its best may be one that
    no other strategy could have fit: as best-of-K keeps the best whose cross-validation ended in
    time, the curve keeps the next."""
    for config, trial in ranked:
        if data.fit_key(config) not in data.cache.done:  # the first is, held out with the others
            data.holdout([config], settings)
        if data.cache.done[data.fit_key(config)].error is None:
            return config, trial
    return None, None


# ---- report -----------------------------------------------------------------------------------


def curve(points: list[Point]) -> pd.DataFrame:
    """Mean percentile and 90 % t-interval over tasks × seeds, per strategy and budget."""
    df = pd.DataFrame([asdict(p) for p in points])
    rows = []
    for (name, budget), group in df.groupby(["strategy", "budget"], sort=False):
        pct = group.percentile.to_numpy()
        rows.append(
            {"strategy": name, "budget": budget, "mean": pct.mean(), "half": half_width(pct), "runs": len(group)}
        )
    return pd.DataFrame(rows)


def warm_minus_cold(points: list[Point], warm: str) -> pd.DataFrame:
    """Per budget: the paired difference in percentile (warm − cold) with its 90 % interval, and how
    often the warm start's test score is the better one (ties count half)."""
    df = pd.DataFrame([asdict(p) for p in points])
    df["signed"] = [METRICS[m].signed(s) for m, s in zip(df.metric, df.test_score, strict=True)]
    table = df.pivot_table(
        index=["task", "seed", "budget"], columns="strategy", values=["percentile", "signed"], aggfunc="first"
    )
    rows = []
    for budget, group in table.groupby(level="budget"):
        diff = (group["percentile"][warm] - group["percentile"][COLD]).to_numpy()
        mine, cold = group["signed"][warm].to_numpy(), group["signed"][COLD].to_numpy()
        rows.append(
            {
                "budget": budget,
                "difference": diff.mean(),
                "half": half_width(diff),
                "warm_better": float(np.mean((mine > cold) + 0.5 * (mine == cold))),
            }
        )
    return pd.DataFrame(rows)


def _interval(mean: float, half: float, signed: bool = False) -> str:
    form = "{:+.1f}" if signed else "{:.1f}"
    return form.format(mean) + ("" if np.isnan(half) else f" ± {half:.1f}")


def markdown(points: list[Point], warm_n: int, cv: int, plot_name: str) -> str:
    table = curve(points)
    names = list(dict.fromkeys(table.strategy))
    budgets = sorted(table.budget.unique())
    lines = [
        "",
        "## Anytime: refinement from a cold start and from the recommendations",
        "",
        f"`refine=b` after b trials, b = {', '.join(map(str, budgets))}: the shipped refinement (Optuna TPE "
        f"over every family with median pruning, {cv}-fold CV on the training split) from nothing "
        f"(`{COLD}`) or with a recommender's top {warm_n} enqueued as its first trials (`tpe-warm-…`; "
        "the offline recommender leaves the evaluated task out of its knowledge base). The best trial so "
        "far is refit on the training split and scored on the held-out test split (the next best where "
        "that refit runs past the limit per fit, as best-of-K keeps the best whose CV ends in time). "
        "Cells: mean percentile "
        "within the reference pool ± the 90 % interval's half-width, over tasks × seeds.",
        "",
        f"![anytime curves]({plot_name})",
        "",
        "| strategy | " + " | ".join(f"b = {b}" for b in budgets) + " |",
        "|---|" + "---|" * len(budgets),
    ]
    for name in names:
        row = table[table.strategy == name].set_index("budget")
        lines.append(
            f"| {name} | " + " | ".join(_interval(row.at[b, "mean"], row.at[b, "half"]) for b in budgets) + " |"
        )
    for warm in names:
        if warm == COLD:
            continue
        diff = warm_minus_cold(points, warm)
        lines += [
            "",
            f"**{warm} − {COLD}**, paired per task and seed:",
            "",
            "| budget | percentile difference ± 90 % half-width | warm start's test score better |",
            "|---|---|---|",
        ]
        lines += [
            f"| {r.budget} | {_interval(r.difference, r.half, signed=True)} | {r.warm_better:.0%} |"
            for r in diff.itertuples()
        ]
    return "\n".join(lines) + "\n"


def plot(points: list[Point], path: Path, title: str) -> None:
    """Mean percentile against budget (log axis), one line per strategy with its 90 % band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = curve(points)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, group in table.groupby("strategy", sort=False):
        ax.plot(group.budget, group["mean"], marker="o", label=name)
        ax.fill_between(
            group.budget, group["mean"] - group.half.fillna(0), group["mean"] + group.half.fillna(0), alpha=0.15
        )
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(sorted(table.budget.unique()), labels=[str(b) for b in sorted(table.budget.unique())])
    ax.set_xlabel("budget: refinement trials (cross-validated fits)")
    ax.set_ylabel("mean percentile within the reference pool")
    ax.set_ylim(0, 100)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
