"""Time and peak memory of ``llm_cash_magic.profile`` on large mixed frames.

    python benchmarks/profile_speed.py            # 1M and 10M rows × 50 columns, both frames
    python benchmarks/profile_speed.py --rows 1e6 # one size

The "binary" frame has 30 float, 6 integer (one an ID), 8 categorical (2 high-cardinality, as
pandas category and as plain strings), 3 boolean, 2 datetime columns and a binary target; 2 % of
the float cells are missing. The "regression" frame is an exported table: the same columns with a
continuous target, and instead of the high-cardinality columns two string identifiers (an order id
unique per row, a customer id shared by about three rows each) and an e-mail address per row.
Peak memory is what ``tracemalloc`` sees during profiling (NumPy and pandas allocations
included), i.e. the cost on top of the frame itself.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

import numpy as np
import pandas as pd

from llm_cash_magic import profile


def make_frame(n_rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {"row_id": np.arange(n_rows)}
    for i in range(30):
        values = rng.normal(size=n_rows) * (i + 1)
        values[rng.random(n_rows) < 0.02] = np.nan
        columns[f"num_{i}"] = values
    for i in range(5):
        columns[f"int_{i}"] = rng.integers(0, 100 * (i + 1), n_rows)
    for i in range(4):
        columns[f"cat_{i}"] = pd.Categorical.from_codes(
            rng.integers(0, 5 + 10 * i, n_rows), [f"level{j}" for j in range(5 + 10 * i)]
        )
    for i in range(2):
        columns[f"str_{i}"] = pd.Series(np.array([f"s{j}" for j in range(20)])[rng.integers(0, 20, n_rows)])
    for i in range(2):
        levels = np.array([f"user{j}" for j in range(5000)])
        columns[f"high_card_{i}"] = pd.Series(levels[rng.integers(0, 5000, n_rows)])
    for i in range(3):
        columns[f"flag_{i}"] = rng.random(n_rows) < 0.3
    for i in range(2):
        columns[f"when_{i}"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 10**8, n_rows), "s")
    columns["target"] = rng.random(n_rows) < 0.2
    return pd.DataFrame(columns)


def make_regression_frame(n_rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 1)
    df = make_frame(n_rows, seed).drop(columns=["high_card_0", "high_card_1", "target"])
    df["order_id"] = [f"ORD-{i:09d}" for i in rng.permutation(n_rows)]
    df["customer_id"] = [f"C{i:08d}" for i in rng.integers(0, max(n_rows // 3, 1), n_rows)]
    df["email"] = [f"user{i}@example.com" for i in rng.permutation(n_rows)]
    df["target"] = rng.lognormal(3, 1, n_rows)  # every value distinct
    return df


FRAMES = {"binary": make_frame, "regression": make_regression_frame}


def measure(df: pd.DataFrame, repeats: int) -> tuple[float, float, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        profile(df, "target")
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    profile(df, "target")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), min(times), peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, action="append", help="rows (default: 1e6 and 1e7)")
    parser.add_argument("--frame", choices=FRAMES, action="append", help="default: both")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{'frame':>10} {'rows':>12} {'cols':>5} {'frame MiB':>10} {'median s':>9} {'best s':>7} {'peak MiB':>9}")
    for kind in args.frame or list(FRAMES):
        for rows in args.rows or [1e6, 1e7]:
            df = FRAMES[kind](int(rows))
            median, best, peak = measure(df, args.repeats)
            frame_mib = df.memory_usage(deep=True).sum() / 2**20
            print(
                f"{kind:>10} {int(rows):>12,} {df.shape[1]:>5} {frame_mib:>10,.0f} {median:>9.3f} {best:>7.3f} "
                f"{peak:>9,.1f}",
                flush=True,
            )
            del df


if __name__ == "__main__":
    main()
