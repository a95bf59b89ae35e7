"""Leave one task out on the knowledge base itself: how the offline recommender would have done on
each entry had its task (at every size) been unknown: its entries gone, from the meta-features'
scale and the typical distance too (``KnowledgeBase.without``). No fit is needed (every measured score is
stored), so the recommender's settings are chosen here, never on the benchmark's dev tasks.

    python -m llm_cash_magic.bench.loo [--k 8 16 32] [--loss-weight 1 2 4] [--prior-weight 0.5 1 2]
                                       [--race-size 3 5] [--without xgboost catboost]

Per size bucket: how often the first pick beat LightGBM's defaults (ties: it was those defaults),
its median and worst cut in error, the mean percentile of the first pick and of the best of the
first 5, and how many distinct configurations the first pick used. Where an entry was measured on
3 folds or more, also ``--auto``'s race (``run.race``), judged with the first pick on the last
fold, which no race sees: the top ``RACE_SIZE`` race on the first fold within the race's budget, read strictly
(without its floor of seconds, so that it binds on these small entries as it would on large data);
within the floor, as small data races, on the first fold alone (as the race did before it took
more folds) and on the first two (the finishers race on more folds where the budget has room);
with what each costs in laps of the first pick (a lap: the entry's measured time over its folds),
and how often any candidate beat the defaults on the last fold: the most a race could win.
"""

from __future__ import annotations

import argparse
import itertools
import json

import numpy as np
import pandas as pd

from ..metrics import METRICS
from ..recommenders import DEFAULT_N
from ..recommenders.offline import DEFAULT_K, OfflineRecommender, knowledge
from ..recommenders.offline.meta_learner import LOSS_WEIGHT, PRIOR_WEIGHT
from ..run.race import RACE_FLOOR, RACE_FOLDS, RACE_SIZE, Lap, replayed, winner, within_budget
from ..space import FAMILIES, validate


def evaluate(kb: knowledge.KnowledgeBase, n: int = DEFAULT_N, race_size: int = RACE_SIZE, **settings) -> pd.DataFrame:
    """One row per entry whose LightGBM defaults were measured: the first pick against them, and
    the race of the top ``race_size`` (of ``n`` recommendations at least)."""
    n = max(n, race_size)
    with open(kb.path, encoding="utf-8") as fh:  # the fold scores, which the recommender does not keep
        folds = {(t["name"], t["size"]): [r and r[1] for r in t["results"]] for t in json.load(fh)["tasks"]}
    lap_seconds = {
        (t.name, t.size): [s / kb.build.get("cv", RACE_FOLDS) if s else 0.0 for s in t.seconds] for t in kb.tasks
    }
    rows, kb_without = [], {}  # per task: the knowledge base had it never been measured
    for entry in kb.tasks:
        pool = kb.pool(entry.task)
        index = {_key(c.family, c.params): i for i, c in enumerate(pool)}
        reference = index[_key("lightgbm", validate("lightgbm", {}, entry.task).params)]
        if not entry.measured[reference] or entry.scores[reference] is None:
            continue
        if entry.name not in kb_without:
            kb_without[entry.name] = kb.without((entry.name,))
        recs = OfflineRecommender(knowledge_base=kb_without[entry.name], **settings).recommend(entry.profile, n=n)
        picked = [(index[_key(r.family, r.params)], r) for r in recs]
        picked = [(i, r) for i, r in picked if entry.measured[i]]
        if not picked:
            continue
        picks = [i for i, _ in picked]
        metric = METRICS[entry.profile.metric]
        first, ref = entry.scores[picks[0]], entry.scores[reference]
        key = (entry.name, entry.size)
        race = _race(metric, folds[key], lap_seconds[key], picked[:race_size], reference)
        rows.append(
            {
                "entry": f"{entry.name}@{entry.size}",
                "race_size": race_size,
                "bucket": _bucket(entry.size),
                "first": _key(pool[picks[0]].family, pool[picks[0]].params),
                "beats": metric.is_better(first, ref),
                "ties": first == ref,
                "error_cut": _error_cut(metric, first, ref),
                **race,
                "percentile": entry.percentiles[picks[0]],
                f"best_of_{n}": max(entry.percentiles[i] for i in picks),
                "defaults_percentile": entry.percentiles[reference],
            }
        )
    return pd.DataFrame(rows)


def _error_cut(metric, score: float | None, reference: float) -> float:
    """``Metric.error_cut``, a failed fit (or a reference without error) counting as -1."""
    cut = metric.error_cut(score, reference)
    return -1.0 if np.isnan(cut) else cut


def _race(metric, folds: list, seconds: list[float], picked: list, reference: int) -> dict:
    """The race among ``picked`` (pool index, recommendation), a pick that failed on a fold it races
    on out of it (as in ``run.race``); its winners and the first pick then scored against the
    reference on the last fold, which no race saw, a failed one losing; empty where fewer than
    ``RACE_FOLDS`` were measured."""
    if not folds[reference] or len(folds[reference]) < RACE_FOLDS:
        return {}
    first = picked[0][0]
    last = {i: folds[i][-1] for i, _ in picked if folds[i]} | {reference: folds[reference][-1]}
    row = {"first_beats_unseen": bool(first in last and metric.is_better(last[first], last[reference]))}
    row["first_cut_unseen"] = _error_cut(metric, last.get(first), last[reference])
    # the race's ceiling: whether any candidate beat the defaults there (a race can pick no better)
    row["any_beats_unseen"] = any(i in last and metric.is_better(last[i], last[reference]) for i, _ in picked)

    def pool_index(rec) -> int:
        return next(i for i, r in picked if r is rec)

    def lap(rec, left: float | None, fold: int) -> Lap:  # that fold's score, a failed fit's None
        i = pool_index(rec)
        return replayed(rec, folds[i][fold - 1] if folds[i] else None, seconds[i], left)

    variants = (  # the budget binding (no floor); as small data races, on one fold and on two
        ("race", 0.0, 1),
        ("race_one_fold", RACE_FLOOR, 1),
        ("race_folds", RACE_FLOOR, RACE_FOLDS - 1),
    )
    for name, floor, raced_folds in variants:
        laps = within_budget([rec for _, rec in picked], lap, floor=floor, folds=raced_folds)
        won = winner(laps, metric.name)
        index = pool_index(won.recommendation) if won else first
        row[f"{name}_beats_unseen"] = bool(index in last and metric.is_better(last[index], last[reference]))
        row[f"{name}_cut_unseen"] = _error_cut(metric, last.get(index), last[reference])
        first_lap = seconds[first]
        row[f"{name}_laps"] = sum(lap.seconds for lap in laps) / first_lap if first_lap > 0 else np.nan
    return row


def summary(results: pd.DataFrame) -> pd.DataFrame:
    """Per size bucket (and all together): the first pick against LightGBM's defaults."""
    by_size = results.assign(rows=results.entry.str.rpartition("@")[2].astype(int)).sort_values("rows")
    groups = [(bucket, group) for bucket, group in by_size.groupby("bucket", sort=False)] + [("all", results)]
    best = [c for c in results.columns if c.startswith("best_of_")][0]
    return pd.DataFrame(
        [
            {
                "size": bucket,
                "entries": len(group),
                "beats defaults": f"{group.beats.sum()}/{len(group)}",
                "ties": int(group.ties.sum()),
                "median error cut": group.error_cut.median(),
                "worst error cut": group.error_cut.min(),
                "first-pick percentile": group.percentile.mean(),
                f"{best.replace('_', ' ')} percentile": group[best].mean(),
                "defaults percentile": group.defaults_percentile.mean(),
                "distinct first picks": group["first"].nunique(),
                **_race_summary(group),
            }
            for bucket, group in groups
        ]
    )


def _race_summary(group: pd.DataFrame) -> dict:
    raced = group.dropna(subset=["race_beats_unseen"]) if "race_beats_unseen" in group else group.iloc[:0]
    if raced.empty:
        return {}
    return {
        "first pick (last fold)": f"{int(raced.first_beats_unseen.sum())}/{len(raced)}",
        f"race of {group.race_size.iloc[0]}, budgeted": f"{int(raced.race_beats_unseen.sum())}/{len(raced)}",
        "in the floor, one fold": f"{int(raced.race_one_fold_beats_unseen.sum())}/{len(raced)}",
        "in the floor, two folds": f"{int(raced.race_folds_beats_unseen.sum())}/{len(raced)}",
        "any candidate": f"{int(raced.any_beats_unseen.sum())}/{len(raced)}",
        "worst cut: first / budgeted / one fold / two": f"{raced.first_cut_unseen.min():.3f} / "
        f"{raced.race_cut_unseen.min():.3f} / {raced.race_one_fold_cut_unseen.min():.3f} / "
        f"{raced.race_folds_cut_unseen.min():.3f}",
        "laps, budgeted (mean / max)": f"{raced.race_laps.mean():.1f} / {raced.race_laps.max():.1f}",
        "laps, two folds (mean / max)": f"{raced.race_folds_laps.mean():.1f} / {raced.race_folds_laps.max():.1f}",
    }


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def _bucket(size: int) -> str:
    return "< 1,000" if size < 1_000 else f"{size:,}"


def _key(family: str, params: dict) -> str:
    return json.dumps([family, params], sort_keys=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m llm_cash_magic.bench.loo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--kb", help="a knowledge base file (default: the shipped one)")
    parser.add_argument("--k", type=int, nargs="+", default=[DEFAULT_K])
    parser.add_argument("--loss-weight", type=float, nargs="+", default=[LOSS_WEIGHT])
    parser.add_argument("--prior-weight", type=float, nargs="+", default=[PRIOR_WEIGHT])
    parser.add_argument(
        "--race-size", type=_positive, nargs="+", default=[RACE_SIZE], help="how many of the top race (--auto)"
    )
    parser.add_argument("--without", nargs="*", default=[], choices=sorted(FAMILIES), help="families never picked")
    args = parser.parse_args()
    kb = knowledge.load(args.kb)
    families = [name for name in FAMILIES if name not in args.without]
    for k, loss, prior, size in itertools.product(args.k, args.loss_weight, args.prior_weight, args.race_size):
        results = evaluate(kb, race_size=size, k=k, loss_weight=loss, prior_weight=prior, families=families)
        table = summary(results)
        without = f" without {', '.join(args.without)}" if args.without else ""
        print(f"k={k} loss_weight={loss:g} prior_weight={prior:g} race_size={size}{without}")
        print(table.fillna("—").to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        print()


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
