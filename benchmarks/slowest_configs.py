"""Seconds per cross-validation fold of the slowest corner of every family's space, on a few
thousand rows: the spec says no configuration may run for minutes there.

    nice -n 10 python benchmarks/slowest_configs.py           # every corner, both tasks
    python benchmarks/slowest_configs.py --family mlp         # one family

Each model is what the generated code trains (``build_model`` with 5 folds), fitted on the first
fold's 2,400 training rows and scored on its 600 others, single-threaded (``n_jobs=1`` and one
BLAS/OpenMP thread) so that numbers compare across machines with different core counts. The
frames: 3,000 rows × 23 features (18 numeric, 5 categorical of 4–12 levels), one with a 5-class
target, one with a continuous target. HistGradientBoosting also gets a row as the code was before
it turned early stopping on (scikit-learn's 'auto' does so only above 10,000 rows).
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import pandas as pd
from sklearn.metrics import get_scorer
from threadpoolctl import threadpool_limits

from llm_cash_magic import profile, validate
from llm_cash_magic.codegen import build_model
from llm_cash_magic.metrics import METRICS
from llm_cash_magic.run.evaluation import folds, training_data

# family → the parameters that make it slowest (the rest stay at their defaults), and why
CORNERS = [
    (
        "lightgbm",
        {"n_estimators": 2000, "num_leaves": 1024, "min_child_samples": 1, "max_bin": 1023, "learning_rate": 0.001},
        "most trees, leaves and bins, smallest leaves",
    ),
    (
        "hist_gradient_boosting",
        {"max_iter": 1000, "max_leaf_nodes": 255, "min_samples_leaf": 5},
        "the audited configuration",
    ),
    (
        "hist_gradient_boosting",
        {"max_iter": 1000, "max_leaf_nodes": 1024, "min_samples_leaf": 1, "learning_rate": 0.001},
        "most rounds and leaves, slowest learning",
    ),
    (
        "random_forest",
        {"n_estimators": 1000, "max_features": 1.0, "min_samples_leaf": 1, "bootstrap": False},
        "most trees, every feature per split, full depth",
    ),
    (
        "random_forest",
        {"n_estimators": 1000, "max_features": 1.0, "criterion": "entropy", "bootstrap": False},
        "the same with entropy (classification)",
    ),
    (
        "extra_trees",
        {"n_estimators": 1000, "max_features": 1.0, "min_samples_leaf": 1},
        "most trees, every feature per split, full depth",
    ),
    ("linear", {"C": 1e4, "alpha": 1e-4}, "weakest regularisation"),
    ("knn", {"n_neighbors": 200, "weights": "distance", "p": 1}, "most neighbours, Manhattan distance"),
    (
        "mlp",
        {"hidden_layer_sizes": "256-128", "max_iter": 1000, "learning_rate_init": 1e-4, "alpha": 1e-6},
        "biggest layers, most epochs, slowest learning",
    ),
]


def make_frame(task: str, n_rows: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n_rows, 18)), columns=[f"x{i}" for i in range(18)])
    for i in range(5):
        df[f"c{i}"] = rng.choice([f"level{j}" for j in range(4 + 2 * i)], n_rows)
    signal = df.x0 * df.x1 + np.sin(3 * df.x2) + df.x3**2 + (df.c0 == "level1") + rng.normal(0, 0.5, n_rows)
    df["y"] = pd.qcut(signal, 5, labels=[f"k{i}" for i in range(5)]).astype(str) if task == "multiclass" else signal
    return df


def one_fold(df: pd.DataFrame, family: str, params: dict, before: bool = False) -> tuple[float, float]:
    """Seconds to fit and score the first of 5 folds, and the score."""
    prof = profile(df, "y")
    config = validate(family, params, prof.task)
    model = build_model(prof, config, seed=0, cv=5)
    estimator = model.named_steps["model"]
    if family == "lightgbm" or estimator.get_params().get("n_jobs") == -1:
        estimator.set_params(n_jobs=1)
    if before:
        estimator.set_params(early_stopping="auto")
    X, y = training_data(df, prof)
    train, test = next(folds(prof, 5, 0).split(X, y))
    metric = METRICS[prof.metric]
    with threadpool_limits(1):
        started = time.perf_counter()
        model.fit(X.iloc[train], y.iloc[train])
        score = metric.natural(get_scorer(metric.scorer)(model, X.iloc[test], y.iloc[test]))
        return time.perf_counter() - started, score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", action="append", help="only these families (default: all)")
    args = parser.parse_args()
    import lightgbm
    import sklearn

    print(
        f"Python {platform.python_version()}, scikit-learn {sklearn.__version__}, LightGBM {lightgbm.__version__}, "
        f"{platform.processor() or platform.machine()}, single-threaded\n"
    )
    print("| family | corner | task | s per fold | score |")
    print("|---|---|---|---:|---:|")
    frames = {task: make_frame(task) for task in ("multiclass", "regression")}
    for family, params, why in CORNERS:
        if args.family and family not in args.family:
            continue
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        for task, df in frames.items():
            if "criterion" in params and task == "regression":
                continue
            runs = [("", False)] + (
                [(" (before: early stopping 'auto')", True)] if why == "the audited configuration" else []
            )
            for label, before in runs:
                seconds, score = one_fold(df, family, params, before)
                print(f"| {family} | {why}: {shown}{label} | {task} | {seconds:.2f} | {score:.4f} |", flush=True)


if __name__ == "__main__":
    main()
