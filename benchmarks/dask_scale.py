"""%%cash on a Dask DataFrame at scale: profile and training on a 2-worker LocalCluster, against
pandas and single-machine LightGBM on the largest sample that fits in memory.

    python benchmarks/dask_scale.py --rows 50e6 --train-rows 20e6 --sample-rows 10e6   # 23 GB, 2 cores
    python benchmarks/dask_scale.py --rows 50e6 --sample-rows 10e6   # training on all 50M rows too

The data: Parquet files of 1M rows × 20 columns (14 float, one of them skewed, 2 integer, 3 string
labels, 1 datetime) and a binary target that depends on 6 of them, generated with fixed seeds under
``--work`` (kept and reused between runs). The last file is the test set, which no model trains on.

Measured:
- profile: ``profile_dask`` on every training row, on a fresh cluster (2 workers × 1 thread),
  against pandas ``describe()`` + ``nunique()`` and ``profile`` on the largest sample read into
  memory. Peak memory: each worker process's maximum resident size, and the pandas process's.
- training: the code ``%%cash`` generates for LightGBM's defaults, run on the first
  ``--train-rows`` rows (``lightgbm.dask``, validated on a held-out fifth, then fitted on all),
  against the same configuration fitted by single-machine LightGBM on the sample. Both are scored
  on the test file. ``lightgbm.dask`` holds each worker's share twice (its partitions, then
  LightGBM's dataset), and it breaks when Dask spills to disk (its sockets cannot be pickled): on
  a machine of 23 GB that caps training near 20M rows of this data.
Results go to ``--out`` as Markdown.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

FILE_ROWS = 1_000_000
N_WORKERS = 2


def write_data(work: Path, n_files: int) -> list[Path]:
    """The Parquet files (one more than the training files: the test set), written once."""
    work.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n_files):
        path = work / f"part-{i:04d}.parquet"
        if not path.exists():
            frame(FILE_ROWS, seed=i).to_parquet(path.with_suffix(".tmp"), index=False)
            path.with_suffix(".tmp").rename(path)  # a file that exists is complete
        paths.append(path)
    return paths


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns = {f"num_{i}": rng.normal(size=n) for i in range(13)}
    columns["skewed"] = rng.lognormal(0, 1.5, n)
    columns["count_a"], columns["count_b"] = rng.integers(0, 100, n), rng.poisson(3, n)
    for i, levels in enumerate((5, 40, 300)):
        columns[f"label_{i}"] = np.array([f"l{j}" for j in range(levels)])[rng.integers(0, levels, n)]
    columns["when"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 10**8, n), "s")
    df = pd.DataFrame(columns)
    logit = df.num_0 + 0.5 * df.num_1 * df.num_2 - 0.3 * np.log(df.skewed) + 0.02 * df.count_a - 1
    logit += (df.label_0 == "l1") * 0.8 + np.sin(df.num_3 * 2)
    df["y"] = rng.random(n) < 1 / (1 + np.exp(-logit))
    return df


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cluster():
    from distributed import Client, LocalCluster

    local = LocalCluster(n_workers=N_WORKERS, threads_per_worker=1, processes=True, dashboard_address=None)
    return local, Client(local)


def profile_on_dask(paths: list[Path]) -> dict:
    import dask.dataframe as dd

    from llm_cash_magic.profiling.dask_frames import profile_dask

    local, client = cluster()
    try:
        ddf = dd.read_parquet([str(p) for p in paths])
        started = time.perf_counter()
        prof = profile_dask(ddf, "y")
        seconds = time.perf_counter() - started
        peaks = list(client.run(peak_mb).values())
    finally:
        client.close()
        local.close()
    return {"seconds": seconds, "worker_peak_mb": peaks, "n_rows": prof.n_rows, "fingerprint": prof.fingerprint}


def _pandas_profile(paths: list[Path], queue) -> None:
    from llm_cash_magic import profile

    started = time.perf_counter()
    df = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    read = time.perf_counter() - started
    started = time.perf_counter()
    df.describe(include="all")
    df.nunique()
    describe = time.perf_counter() - started
    started = time.perf_counter()
    profile(df, "y")
    ours = time.perf_counter() - started
    queue.put({"read": read, "describe_nunique": describe, "profile": ours, "peak_mb": peak_mb(), "n_rows": len(df)})


def in_own_process(target, *args) -> dict:
    """``target(*args, queue)`` in a fresh process, so that its peak memory is its own."""
    queue = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def train_on_dask(paths: list[Path], test: Path) -> dict:
    import dask.dataframe as dd
    from sklearn.metrics import roc_auc_score

    from llm_cash_magic.codegen.distributed import generate_dask_code
    from llm_cash_magic.profiling.dask_frames import profile_dask
    from llm_cash_magic.space import validate

    local, client = cluster()
    try:
        ddf = dd.read_parquet([str(p) for p in paths])
        prof = profile_dask(ddf, "y")
        code = generate_dask_code(prof, validate("lightgbm", {}, prof.task), data_name="ddf")
        namespace = {"ddf": ddf}
        started = time.perf_counter()
        exec(compile(code, "<dask benchmark>", "exec"), namespace)  # our generated code, as a cell runs it
        seconds = time.perf_counter() - started
        held_out = float(namespace["cash_scores"][0])
        test_frame = pd.read_parquet(test)
        auc = roc_auc_score(test_frame["y"], namespace["cash_model"].predict_proba(test_frame)[:, 1])
        peaks = list(client.run(peak_mb).values())
    finally:
        client.close()
        local.close()
    return {"seconds": seconds, "held_out_auc": held_out, "test_auc": auc, "worker_peak_mb": peaks}


def _train_on_sample(paths: list[Path], test: Path, queue) -> None:
    from sklearn.metrics import roc_auc_score

    from llm_cash_magic import profile
    from llm_cash_magic.codegen import build_model
    from llm_cash_magic.space import validate

    df = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    prof = profile(df, "y")
    model = build_model(prof, validate("lightgbm", {}, prof.task))
    started = time.perf_counter()
    model.fit(df.drop(columns=["y"]), df["y"])
    seconds = time.perf_counter() - started
    test_frame = pd.read_parquet(test)
    auc = roc_auc_score(test_frame["y"], model.predict_proba(test_frame.drop(columns=["y"]))[:, 1])
    queue.put({"seconds": seconds, "test_auc": auc, "peak_mb": peak_mb(), "n_rows": len(df)})


def report(files: int, trained: int, sample: int, profiled: dict, pandas: dict, dask_fit: dict, local_fit: dict) -> str:
    gb = lambda mb: f"{mb / 1024:.1f} GB"  # noqa: E731
    rows, sample_rows, train_rows = files * FILE_ROWS, sample * FILE_ROWS, trained * FILE_ROWS
    return "\n".join(
        [
            "# `%%cash` on a Dask DataFrame: profile and training at scale",
            "",
            f"Generated by `python benchmarks/dask_scale.py --rows {rows:.0e} --train-rows {train_rows:.0e} "
            f"--sample-rows {sample_rows:.0e}` "
            f"on {multiprocessing.cpu_count()} cores; a `LocalCluster` of {N_WORKERS} worker processes × 1 thread. "
            f"{rows:,} training rows × 20 columns in {files} Parquet files (see the script's docstring); "
            f"the test set is one more file of {FILE_ROWS:,} rows that no model trains on.",
            "",
            "## Profile",
            "",
            "| what | rows | seconds | peak memory |",
            "|---|---:|---:|---|",
            f"| `profile_dask` on the cluster | {profiled['n_rows']:,} | {profiled['seconds']:.1f} | "
            f"{' / '.join(gb(m) for m in profiled['worker_peak_mb'])} per worker |",
            f"| pandas: read the sample into memory | {pandas['n_rows']:,} | {pandas['read']:.1f} | |",
            f"| pandas `describe()` + `nunique()` on it | {pandas['n_rows']:,} | {pandas['describe_nunique']:.1f} | |",
            f"| `profile` (pandas) on it | {pandas['n_rows']:,} | {pandas['profile']:.1f} | "
            f"{gb(pandas['peak_mb'])} (the process, frame included) |",
            "",
            "## Training LightGBM's defaults",
            "",
            "| what | training rows | seconds | test AUC | peak memory |",
            "|---|---:|---:|---:|---|",
            f"| `%%cash`'s generated code, `lightgbm.dask` (held-out fifth, then all rows) | {train_rows:,} | "
            f"{dask_fit['seconds']:.1f} | {dask_fit['test_auc']:.4f} | "
            f"{' / '.join(gb(m) for m in dask_fit['worker_peak_mb'])} per worker |",
            f"| single-machine LightGBM on the sample (one fit) | {local_fit['n_rows']:,} | "
            f"{local_fit['seconds']:.1f} | {local_fit['test_auc']:.4f} | {gb(local_fit['peak_mb'])} |",
            "",
            f"The generated code's own held-out AUC: {dask_fit['held_out_auc']:.4f}. Its time covers two "
            "trainings (on four fifths, then on all rows) and the passes for levels and classes.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=float, default=50e6, help="training rows (a multiple of 1M)")
    parser.add_argument("--train-rows", type=float, default=None, help="rows lightgbm.dask trains on (all)")
    parser.add_argument("--sample-rows", type=float, default=10e6, help="the pandas sample's rows")
    parser.add_argument("--work", type=Path, default=Path(".cash-bench/dask"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/dask_scale.md"))
    args = parser.parse_args()
    files, sample = int(args.rows // FILE_ROWS), int(args.sample_rows // FILE_ROWS)
    trained = int((args.train_rows or args.rows) // FILE_ROWS)
    paths = write_data(args.work, files + 1)
    train, test = paths[:-1], paths[-1]
    print(f"data: {files} training files and a test file under {args.work}", flush=True)
    profiled = profile_on_dask(train)
    print("profile on dask:", profiled, flush=True)
    pandas = in_own_process(_pandas_profile, train[:sample])
    print("profile with pandas:", pandas, flush=True)
    dask_fit = train_on_dask(train[:trained], test)
    print("training on dask:", dask_fit, flush=True)
    local_fit = in_own_process(_train_on_sample, train[:sample], test)
    print("training on the sample:", local_fit, flush=True)
    args.out.write_text(report(files, trained, sample, profiled, pandas, dask_fit, local_fit))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
