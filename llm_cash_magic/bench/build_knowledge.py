"""Build the offline recommender's knowledge base: every pool configuration cross-validated on
every ``kb`` task (and on your own data), written as compact JSON.

    python -m llm_cash_magic.bench.build_knowledge                       # the shipped KB
    python -m llm_cash_magic.bench.build_knowledge --data sales.csv --target revenue \\
        --out "$LLM_CASH_HOME/knowledge.json"                            # extended with your task

Re-running resumes: each finished evaluation is appended to ``--work`` (one JSONL file per task)
and skipped next time; the JSON is assembled from there at the end (its ``wall_seconds`` sums
the runs). A new work folder starts from the evaluations the ``--base`` knowledge base already
holds (the shipped one by default), so extending it with your own task, or growing the pool,
evaluates only what is new, and tasks with nothing new are not even loaded (no data packages
needed). Fits run single-threaded in child processes, ``--workers`` at a time, each configuration
bounded by ``--seconds``; tasks larger than ``--max-rows`` are subsampled (stratified) so the
whole build takes about an hour.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from contextlib import suppress
from datetime import date
from importlib import metadata
from pathlib import Path

from ..codegen import build_model, package_versions
from ..errors import CashError
from ..metrics import METRICS, percentiles
from ..profiling import TaskProfile, profile
from ..recommenders.offline import FORMAT, KNOWLEDGE_FILE
from ..run.evaluation import cross_validate
from ..space import validate
from . import datasets
from .evaluate import Outcome, features_and_target, limit_threads, run_bounded
from .pool import KINDS, build_pool, config_key, kind_of
from .progress import progress_bar

DEFAULTS = {"max_rows": 1000, "cv": 3, "seed": 0, "seconds": 20.0, "random_per_family": 5}
SCORED_WITH = ("max_rows", "cv", "seed", "seconds_per_config")  # what a stored score depends on


def build(
    tasks: list[tuple[str, object]],
    *,
    work: Path,
    out: Path,
    max_rows: int = DEFAULTS["max_rows"],
    cv: int = DEFAULTS["cv"],
    seed: int = DEFAULTS["seed"],
    seconds: float = DEFAULTS["seconds"],
    per_family: int = DEFAULTS["random_per_family"],
    workers: int = 1,
    base: Path | None = None,
) -> dict:
    """Evaluate the pool on each (name, loader) task, resuming from ``work`` (seeded from the
    ``base`` knowledge base when new); write ``out``."""
    params = {
        "max_rows": max_rows,
        "cv": cv,
        "seed": seed,
        "seconds_per_config": seconds,
        "random_per_family": per_family,
    }
    held = _claim(work, params)
    if held is None:
        params["base"] = _seed(work, base, params, [name for name, _ in tasks]) if base else None
    else:
        params["base"] = held.get("base")
    (work / "params.json").write_text(json.dumps(params, sort_keys=True), encoding="utf-8")
    pools = {kind: build_pool(kind, per_family, seed) for kind in KINDS}
    started = time.monotonic()
    spent = work / "wall_seconds"  # summed over resumed runs, even interrupted ones
    try:
        with progress_bar() as bar:
            overall = bar.add_task("knowledge base", total=len(tasks))
            for name, loader in tasks:
                _build_task(name, loader, pools, work, max_rows, cv, seed, seconds, workers, bar)
                bar.advance(overall)
    finally:
        total = (float(spent.read_text()) if spent.exists() else 0.0) + time.monotonic() - started
        spent.write_text(f"{total:.0f}", encoding="utf-8")
    kb = assemble([name for name, _ in tasks], pools, work, params | {"workers": workers}, total)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(kb, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
    return kb


def _claim(work: Path, params: dict) -> dict | None:
    """The parameters ``work`` was built with (None if it is new); resume only what was scored with
    the same settings (the pool may grow)."""
    work.mkdir(parents=True, exist_ok=True)
    path = work / "params.json"
    if not path.exists():
        return None
    held = json.loads(path.read_text(encoding="utf-8"))
    if any(held.get(k) != params[k] for k in SCORED_WITH):
        raise CashError(
            f"{work} holds results built with other parameters ({path.read_text().strip()}); "
            "use another --work directory or the same parameters"
        )
    return held


def _seed(work: Path, base: Path, params: dict, names: list[str]) -> dict | None:
    """Copy the ``base`` knowledge base's evaluations of ``names`` into ``work``, when scored alike;
    returns what the build started from."""
    data = json.loads(base.read_text(encoding="utf-8"))
    held = data["build"]
    if any(held.get(k) != params[k] for k in SCORED_WITH):
        return None
    seeded = [entry for entry in data["tasks"] if entry["name"] in names]
    for entry in seeded:
        kind = kind_of(entry["profile"]["task"])
        task = KINDS[kind][0]
        lines = []
        for (family, params_, _), (mean, folds, took, _pct) in zip(
            data["configs"][kind], entry["results"], strict=True
        ):
            config = validate(family, params_, task)
            if config.params != params_ or took is None:  # the space changed since: evaluate it again
                continue
            lines.append(
                {
                    "key": config_key(config),
                    "scores": folds if mean is not None else None,
                    "seconds": took,
                    "error": None if mean is not None else f"failed (in {base.name})",
                }
            )
        (work / f"{entry['name']}.profile.json").write_text(
            json.dumps(entry["profile"], sort_keys=True), encoding="utf-8"
        )
        (work / f"{entry['name']}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    if not seeded:
        return None
    return {"version": data["version"], "tasks": len(seeded), "wall_seconds": held.get("wall_seconds")}


def _build_task(name, loader, pools, work, max_rows, cv, seed, seconds, workers, bar) -> None:
    results_path, profile_path = work / f"{name}.jsonl", work / f"{name}.profile.json"
    done = {json.loads(line)["key"] for line in _lines(results_path)}
    if profile_path.exists():  # nothing new for this task: no need to load its data
        kind = kind_of(json.loads(profile_path.read_text(encoding="utf-8"))["task"])
        if all(config_key(c) in done for c, _ in pools[kind]):
            return
    frame, target, task = loader(max_rows, seed)
    X, y = features_and_target(frame, target)
    prof = profile(frame, target, task=task)
    profile_path.write_text(json.dumps(prof.to_dict(), sort_keys=True), encoding="utf-8")
    todo = {config_key(c): c for c, _ in pools[kind_of(task)] if config_key(c) not in done}
    jobs = {key: _cv_job(prof, config, X, y, cv, seed) for key, config in todo.items()}
    progress = bar.add_task(f"  {name}", total=len(pools[kind_of(task)]), completed=len(done))
    with results_path.open("a", encoding="utf-8") as fh:
        for key, outcome in run_bounded(jobs, workers=workers, seconds=seconds):
            fh.write(json.dumps(_record(key, outcome)) + "\n")
            fh.flush()
            bar.advance(progress)
    bar.remove_task(progress)


def _cv_job(prof: TaskProfile, config, X, y, cv: int, seed: int):
    return lambda: cross_validate(prof, build_model(prof, config, seed), X, y, cv=cv, seed=seed).tolist()


def _record(key: str, outcome: Outcome) -> dict:
    scores = outcome.value if outcome.error is None and all(map(math.isfinite, outcome.value)) else None
    return {
        "key": key,
        "scores": scores,
        "seconds": round(outcome.seconds, 3),
        "error": outcome.error if scores is None else None,
    }


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()] if path.exists() else []


def assemble(names: list[str], pools: dict, work: Path, params: dict, wall_seconds: float) -> dict:
    """The knowledge base as plain data: pools, and per task its profile and every pool score."""
    kb = {
        "format": FORMAT,
        "version": date.today().isoformat(),
        "build": params | {"wall_seconds": round(wall_seconds), "versions": _versions()},
        "configs": {kind: [[c.family, c.params, source] for c, source in pool] for kind, pool in pools.items()},
        "tasks": [],
    }
    for name in names:
        prof = TaskProfile.from_dict(json.loads((work / f"{name}.profile.json").read_text(encoding="utf-8")))
        pool = pools[kind_of(prof.task)]
        found = {r["key"]: r for r in map(json.loads, _lines(work / f"{name}.jsonl"))}
        rows = [found.get(config_key(config)) for config, _ in pool]
        means = [sum(r["scores"]) / len(r["scores"]) if r and r["scores"] else None for r in rows]
        ranks = percentiles(means, means, METRICS[prof.metric])
        kb["tasks"].append(
            {
                "name": name,
                "source": datasets.DATASETS[name]["src"] if name in datasets.DATASETS else "user data",
                "profile": prof.to_dict(),
                # per pool configuration: [mean CV score, fold scores, seconds, percentile among the pool]
                "results": [
                    [
                        _sig(m),
                        [_sig(s) for s in r["scores"]] if m is not None else None,
                        round(r["seconds"], 2) if r else None,
                        round(float(p), 1),
                    ]
                    for m, r, p in zip(means, rows, ranks, strict=True)
                ],
            }
        )
    return kb


def _versions() -> dict:
    versions = package_versions()
    with suppress(metadata.PackageNotFoundError):  # its portfolio is in the pool
        versions["flaml"] = metadata.version("flaml")
    return versions


def _sig(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.6g}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m llm_cash_magic.bench.build_knowledge",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--task", action="append", help="a catalogued task (default: every kb task)")
    parser.add_argument("--data", action="append", default=[], help="your CSV/Parquet file (repeatable)")
    parser.add_argument("--target", action="append", default=[], help="its target column (one per --data)")
    parser.add_argument("--no-catalog", action="store_true", help="only the --data tasks")
    parser.add_argument("--out", type=Path, default=KNOWLEDGE_FILE)
    parser.add_argument("--work", type=Path, default=Path(".cash-kb"), help="resumable results (default .cash-kb)")
    parser.add_argument("--max-rows", type=int, default=DEFAULTS["max_rows"])
    parser.add_argument("--cv", type=int, default=DEFAULTS["cv"])
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    parser.add_argument("--seconds", type=float, default=DEFAULTS["seconds"], help="limit per configuration")
    parser.add_argument(
        "--random",
        type=int,
        default=DEFAULTS["random_per_family"],
        help="random configurations drawn from each family's space",
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--base",
        type=Path,
        default=KNOWLEDGE_FILE,
        help="a new --work folder starts from this knowledge base's evaluations (default: shipped)",
    )
    parser.add_argument("--no-base", action="store_true", help="evaluate everything afresh")
    args = parser.parse_args(argv)
    if len(args.data) != len(args.target):
        parser.error("give one --target per --data")
    limit_threads()
    tasks = [] if args.no_catalog else [(n, _catalog_loader(n)) for n in (args.task or datasets.names("kb"))]
    files = zip(args.data, args.target, strict=True)
    tasks += [(Path(path).stem, _file_loader(path, target)) for path, target in files]
    try:
        names = [name for name, _ in tasks]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise CashError(
                f"two tasks are named {twice[0]!r} (a file's name without its suffix names its task); rename one"
            )
        kb = build(
            tasks,
            work=args.work,
            out=args.out,
            max_rows=args.max_rows,
            cv=args.cv,
            seed=args.seed,
            seconds=args.seconds,
            per_family=args.random,
            workers=args.workers,
            base=None if args.no_base else args.base,
        )
    except CashError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1e6:.2f} MB, {len(kb['tasks'])} tasks, {kb['build']['wall_seconds']} s)")
    return 0


def _catalog_loader(name: str):
    return lambda max_rows, seed: datasets.load(name, max_rows=max_rows, seed=seed)


def _file_loader(path: str, target: str):
    def load(max_rows, seed):
        frame = datasets.load_file(path, target)
        task = profile(frame, target).task
        return datasets.subsample(frame, target, task, max_rows, seed), target, task

    return load


if __name__ == "__main__":
    sys.exit(main())
