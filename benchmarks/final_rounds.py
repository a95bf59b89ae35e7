"""Should the final fit train more boosting rounds than the folds kept? Generated code stops each
fold's boosting early and then fits all rows for the rounds the folds kept on average, though it
then learns from more rows: a fold's boosting trains on 0.8 × 0.9 of them (5 folds, less the tenth
it stops on), the final fit on all, 1.39 times as many.

    nice -n 10 python benchmarks/final_rounds.py                          # LightGBM, 1,000 to 16,000 rows
    nice -n 10 python benchmarks/final_rounds.py --family catboost --sizes 1000

On the knowledge base's tables (never a dev task of the benchmark, nor a table kept for independent
evaluation), at each size their rows allow (a stratified sample of size / 0.75 rows): a 75/25 split,
the generated code's 5-fold cross-validation on the 75 % (each fold stopping early), then final
fits on all of it for the mean rounds kept × 1, × √1.39 and × 1.39, each scored on the 25 %. The
paired comparison isolates the rounds: same split, same folds, same configuration (the family's
defaults, stopping early, with LightGBM's learning rate 0.05: what the knowledge base's
early-stopping defaults are). Resumable: finished tables are kept in ``--work``.
"""

from __future__ import annotations

import argparse
import json
import math
import warnings
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import train_test_split

from llm_cash_magic import profile, validate
from llm_cash_magic.bench import datasets
from llm_cash_magic.bench.evaluate import limit_threads, one_thread
from llm_cash_magic.codegen import build
from llm_cash_magic.codegen.training import HELD_OUT, validation_fits
from llm_cash_magic.metrics import METRICS
from llm_cash_magic.recommenders.offline import knowledge
from llm_cash_magic.run.evaluation import cross_validate, score

CV = 5  # the generated code's default folds
ROWS_RATIO = 1 / ((1 - HELD_OUT) * validation_fits(CV) / CV)  # the final fit's rows over a fold's boosting's: 1.39
FACTORS = (1.0, math.sqrt(ROWS_RATIO), ROWS_RATIO)  # × the mean rounds kept: as now, half way, the rows' ratio
CONFIGS = {  # early stopping on, rounds a cap
    "lightgbm": {"n_estimators": 2000, "learning_rate": 0.05, "early_stopping": True},
    "catboost": {"iterations": 3000, "early_stopping": True},
}


def measure(job: tuple[str, str, int]) -> dict:
    family, name, size = job
    warnings.simplefilter("ignore")
    try:
        frame, target, task = datasets.load(name, max_rows=round(size / 0.75), seed=0)
        frame = frame[frame[target].notna()]
        task_profile = profile(frame, target, task=task)
        X, y = frame.drop(columns=[target]), frame[target]
        stratify = None if task == "regression" else y
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=stratify)
        model = build(task_profile, validate(family, CONFIGS[family], task), seed=0, cv=CV)
        one_thread(model.model)
        kept: list[int] = []
        cross_validate(task_profile, model, X_train, y_train, cv=CV, seed=0, kept=kept)
        row = {"task": name, "size": size, "metric": task_profile.metric, "kept": kept}
        for factor in FACTORS:
            rounds = max(1, round(float(np.mean(kept)) * factor))
            fitted = clone(model.model).set_params(**{model.rounds: rounds}).fit(X_train, y_train)
            row[f"{factor:.2f}"] = score(task_profile, fitted, X_test, y_test)
        return row
    except Exception as exc:  # one table's failure is its row
        return {"task": name, "size": size, "error": f"{type(exc).__name__}: {exc}"[:300]}


def jobs(family: str, sizes: list[int]) -> list[tuple[str, str, int]]:
    """The knowledge base's entries (a table at a size) of ``sizes``."""
    entries = {(task.name, task.size) for task in knowledge.load().tasks if task.size in sizes}
    return [(family, name, size) for name, size in sorted(entries, key=lambda entry: (entry[1], entry[0]))]


def table(rows: list[dict]) -> pd.DataFrame:
    """Per size: how often, and by how much, more rounds beat the mean kept on the test split."""
    out = []
    for row in rows:
        metric = METRICS[row["metric"]]
        for factor in FACTORS[1:]:
            longer = row[f"{factor:.2f}"]
            out.append(
                {
                    "size": row["size"],
                    "rounds": f"× {factor:.2f}",
                    "cut": metric.error_cut(longer, row["1.00"]),
                    "better": metric.is_better(longer, row["1.00"]),
                    "worse": metric.is_better(row["1.00"], longer),
                }
            )
    frame = pd.DataFrame(out)
    groups = [(size, group) for size, group in frame.groupby("size")] + [("all", frame)]
    return pd.DataFrame(
        [
            {
                "size": f"{size:,}" if size != "all" else size,
                "rounds": rounds,
                "tables": len(part),
                "better / worse": f"{int(part.better.sum())} / {int(part.worse.sum())}",
                "mean error cut": f"{part.cut.mean():+.2%} ± {part.cut.std() / np.sqrt(len(part)):.2%}",
                "median error cut": f"{part.cut.median():+.2%}",
            }
            for size, group in groups
            for rounds, part in group.groupby("rounds")
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", choices=sorted(CONFIGS), default="lightgbm")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 4_000, 16_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", default=".cash-bench/final-rounds", help="a folder for finished tables")
    args = parser.parse_args()
    work = Path(args.work) / f"{args.family}.jsonl"
    work.parent.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in work.open()] if work.exists() else []
    done = {(row["task"], row["size"]) for row in rows}
    todo = [job for job in jobs(args.family, args.sizes) if job[1:] not in done]
    print(f"{len(todo)} tables to measure, {len(done)} done", flush=True)
    limit_threads()
    with Pool(args.workers) as pool, work.open("a") as out:
        for row in pool.imap_unordered(measure, todo):
            out.write(json.dumps(row) + "\n")
            out.flush()
            rows.append(row)
    measured = [row for row in rows if "error" not in row and row["size"] in args.sizes]
    failed = [row for row in rows if "error" in row and row["size"] in args.sizes]
    print(f"{args.family}: {len(measured)} tables measured, {len(failed)} failed")
    for row in failed:
        print(f"  {row['task']}@{row['size']}: {row['error']}")
    summary = table(measured)
    print("| " + " | ".join(summary.columns) + " |\n|" + "---|" * len(summary.columns))
    for values in summary.itertuples(index=False):
        print("| " + " | ".join(map(str, values)) + " |")


if __name__ == "__main__":
    main()
