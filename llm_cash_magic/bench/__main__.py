"""``python -m llm_cash_magic.bench``: compare every strategy at equal budget on held-out data.

    python -m llm_cash_magic.bench                       # the 10 dev tasks
    python -m llm_cash_magic.bench penguins telco_churn  # some catalogued tasks
    python -m llm_cash_magic.bench --data sales.csv --target revenue [--task regression]
    python -m llm_cash_magic.bench --budgets 1 5 10 20 50  # and anytime curves: cold vs warm refinement

Writes a Markdown report and a PNG plot; interrupted runs resume from --work.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from pathlib import Path

from .evaluate import limit_threads


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m llm_cash_magic.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("tasks", nargs="*", help="catalogued tasks (default: every dev task, unless --data)")
    parser.add_argument("--data", action="append", default=[], help="a CSV or Parquet file (repeatable)")
    parser.add_argument("--target", action="append", default=[], help="the target column of each --data")
    parser.add_argument("--task", action="append", default=[], help="task kind of each --data (default: inferred)")
    parser.add_argument(
        "--strategy",
        action="append",
        help="strategies to run (default: all available; tpe-20 and the like: a K strategy at its own budget)",
    )
    parser.add_argument("--k", type=int, default=10, help="budget K: configurations per search / blend")
    parser.add_argument("--cv", type=int, default=3, help="folds of the searches' cross-validation")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--max-rows", type=int, default=2000, help="rows per task, subsampled (stratified)")
    parser.add_argument("--seconds", type=float, default=60.0, help="time limit per model fit")
    parser.add_argument("--workers", type=int, default=1, help="fits run in parallel (single-threaded each)")
    parser.add_argument(
        "--no-pool",
        action="store_true",
        help="skip the reference pool (no percentiles; strategies compare with LightGBM's defaults only)",
    )
    parser.add_argument(
        "--budgets",
        type=int,
        nargs="+",
        help="also anytime curves: cold vs warm-started refinement after this many trials",
    )
    parser.add_argument("--warm-n", type=int, default=5, help="recommendations that warm-start a refinement")
    parser.add_argument("--work", type=Path, default=Path(".cash-bench"), help="resumable results")
    parser.add_argument("--out", type=Path, default=Path("bench-results.md"), help="Markdown report")
    parser.add_argument("--plot", type=Path, help="PNG plot (default: next to --out)")
    args = parser.parse_args(argv)
    if len(args.data) != len(args.target) or len(args.task) > len(args.data):
        parser.error("give one --target (and at most one --task) per --data")
    if args.budgets and min(args.budgets) < 1:
        parser.error("--budgets are numbers of trials, 1 or more")
    limit_threads()  # before scikit-learn or LightGBM start thread pools

    from ..errors import CashError
    from ..text import plural
    from . import anytime, catalog_task, datasets, frame_task, report
    from .run import Settings, run
    from .strategies import available

    try:
        names = args.tasks or ([] if args.data else datasets.names("dev"))
        tasks = [catalog_task(n) for n in names]
        kinds = args.task + [None] * (len(args.data) - len(args.task))
        for path, target, kind in zip(args.data, args.target, kinds, strict=True):
            tasks.append(frame_task(Path(path).stem, datasets.load_file(path, target), target, kind))
        strategies = available(args.strategy)
        settings = Settings(
            k=args.k,
            cv=args.cv,
            seeds=tuple(args.seeds),
            max_rows=args.max_rows,
            seconds=args.seconds,
            workers=args.workers,
            pool=not args.no_pool,
        )
        results = run(tasks, strategies, settings, args.work)
        budgets = tuple(sorted(set(args.budgets or ())))
        points = anytime.run(tasks, budgets, settings, args.work, warm_n=args.warm_n) if budgets else []
    except CashError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    plot = args.plot or args.out.with_suffix(".png")
    title = f"{plural(len(tasks), 'task')} × {plural(len(settings.seeds), 'seed')}"
    command = "python -m llm_cash_magic.bench " + " ".join(map(shlex.quote, argv))
    text = report.markdown(results, _header(command, settings, strategies, tasks, plot.name))
    report.plot(results, plot, f"{title}, K = {settings.k}")
    print(report.summary(results).to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    written = [args.out, plot]
    if points:
        curves = plot.with_name(plot.stem + "-anytime.png")
        text += anytime.markdown(points, args.warm_n, settings.cv, curves.name)
        anytime.plot(points, curves, title)
        print(anytime.curve(points).to_string(index=False, float_format=lambda v: f"{v:.1f}"))
        written.append(curves)
    args.out.write_text(text + _knowledge_section(), encoding="utf-8")
    print("wrote " + ", ".join(map(str, written)))
    return 0


def _header(command, settings, strategies, tasks, plot_name) -> str:
    from ..recommenders.offline import knowledge
    from .run import TEST_SHARE

    kb = knowledge.load()
    return "\n".join(
        [
            "# Benchmark: strategies at equal budget on held-out data",
            "",
            f"Produced by `{command}`.",
            "",
            f"- Tasks: {', '.join(t.name for t in tasks)}; seeds {', '.join(map(str, settings.seeds))}; "
            f"at most {settings.max_rows:,} rows per task (stratified subsample).",
            f"- Per task and seed: {1 - TEST_SHARE:.0%} train / {TEST_SHARE:.0%} held-out test split; no strategy "
            f"sees the test rows. Searches cross-validate on train ({settings.cv} folds); every final model is "
            "fit on train and scored on test.",
            f"- Budget K = {settings.k}; each model fit is limited to {settings.seconds:g} s (single-threaded).",
            (
                "- Percentile: the share of the reference pool (the knowledge base's configurations, each fit on "
                "train and scored on test) that the strategy's test score beats, ties half — our analogue of the "
                "paper's leaderboard p_rank. 90 % CI: t-interval over tasks × seeds."
                if settings.pool
                else "- No reference pool (`--no-pool`): strategies are compared with LightGBM's defaults and each "
                "other on the test split; mean rank 1 = best."
            ),
            f"- Knowledge base {kb.version}: {kb.n_tasks} tasks in {len(kb.tasks)} entries (a task at each of the "
            f"sizes {', '.join(f'{s:,}' for s in kb.build.get('sizes', []))} rows its table allows), "
            f"{kb.path.stat().st_size / 1e6:.2f} MB, measured in {kb.build.get('fit_hours', 0):.1f} fit-hours "
            "(single-threaded fits); offline strategies leave the evaluated task out of it "
            "(leave-one-out). No setting of the offline recommender was tuned on these tasks.",
            "- Strategies: " + "; ".join(f"`{s.name}`: {s.help}" for s in strategies) + ".",
            "",
            f"![{'mean percentile' if settings.pool else 'win rate against LightGBM defaults'} per strategy]"
            f"({plot_name})",
        ]
    )


def _knowledge_section() -> str:
    """Leave-one-task-out on the knowledge base: where the offline recommender's settings come from."""
    from ..recommenders.offline import DEFAULT_K, knowledge
    from .loo import evaluate, summary
    from .strategies import PLAIN

    kb = knowledge.load()
    lines = [
        "",
        "## Knowledge base, leave one task out",
        "",
        "Each entry of the knowledge base (a task at one size), its task left out at every size: the offline "
        f"recommender's first pick (k = {DEFAULT_K} nearest tasks) against LightGBM's defaults, on the stored CV "
        "scores. These numbers, not the dev tasks above, are what its settings were chosen on.",
    ]
    for title, families in (("Every family", None), ("A plain install (no XGBoost, no CatBoost)", PLAIN)):
        table = summary(evaluate(kb, **({"families": families} if families else {})))
        lines += ["", f"**{title}**", "", "| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
        lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.3f}"
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
