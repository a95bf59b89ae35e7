"""Build the offline recommender's knowledge base: the pool of configurations cross-validated on
every ``kb`` task at the sizes users have, written as compact JSON.

    python -m llm_cash_magic.bench.build_knowledge                       # the shipped KB
    python -m llm_cash_magic.bench.build_knowledge --data sales.csv --target revenue \\
        --out "$LLM_CASH_HOME/knowledge.json"                            # extended with your task

Each task is measured at every size of ``SIZES`` its rows allow (a stratified subsample; a task
smaller than the first, at its own size), each size an entry of its own: configurations that win
on 1,000 rows often lose on 50,000. An entry holds every pool configuration's fold scores, its
fit seconds, and the trivial predictor's scores on the same folds (3-fold CV; from 4,000 rows on,
the first fold only: a third of 4,000 rows or more measures well enough, and fits there are long).

Resumable: each finished evaluation is appended to ``--work`` (a JSONL file per entry) and skipped
next time, and a new work folder starts from the entries the ``--base`` knowledge base holds (the
shipped one by default). So committing ``kb.json`` commits the build's progress: a build stopped on
one machine goes on on another. Fits run single-threaded in child processes, ``--workers`` at a
time, each bounded in time (more for larger sizes); ``--hours`` stops starting new entries after
that long, and the JSON holds what is done. ``--snapshot`` writes the JSON from the work folder as
it stands, its finished entries only, fitting nothing: how a build that runs for days ships its
progress while it goes on.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from contextlib import suppress
from datetime import date
from importlib import metadata
from pathlib import Path

import numpy as np

from ..codegen import Built, package_versions
from ..codegen import build as build_model
from ..errors import CashError
from ..metrics import METRICS, percentiles
from ..profiling import META_FEATURES_VERSION, TaskProfile, profile
from ..recommenders.offline import FORMAT, KNOWLEDGE_FILE
from ..run.evaluation import cross_validate
from ..run.references import trivial_model
from ..space import validate
from . import datasets
from .evaluate import Outcome, features_and_target, limit_threads, one_thread, run_bounded
from .pool import KINDS, build_pool, config_key, kind_of
from .progress import progress_bar

SIZES = (1_000, 4_000, 16_000, 50_000)  # rows of an entry; smaller tasks are measured at their own size
ONE_FOLD_FROM = 4_000  # from this size on, only the first of the folds is run
DEFAULTS = {"cv": 3, "seed": 0, "seconds": 20.0, "random_per_family": 2}
MAX_SECONDS = 600.0  # no fit may take longer, whatever the size
SCORED_WITH = ("cv", "seed", "seconds_per_config", "sizes")  # what a stored score depends on
WALL_SECONDS = "wall_seconds"  # in the work folder: the build's wall-clock time, summed over runs


def entry_sizes(n_rows: int) -> list[int]:
    """The sizes a task of ``n_rows`` is measured at."""
    return [size for size in SIZES if size <= n_rows] or [n_rows]


def folds_run(size: int, cv: int) -> int:
    return 1 if size >= ONE_FOLD_FROM else cv


def seconds_at(size: int, seconds: float) -> float:
    """The time limit of one configuration's folds at ``size`` rows (``seconds`` at 1,000)."""
    return min(MAX_SECONDS, seconds * max(1.0, size / 1_000) ** 0.8)


def entry_name(task: str, size: int) -> str:
    return f"{task}@{size}"


def build(
    tasks: list[tuple[str, object]],
    *,
    work: Path,
    out: Path,
    cv: int = DEFAULTS["cv"],
    seed: int = DEFAULTS["seed"],
    seconds: float = DEFAULTS["seconds"],
    per_family: int = DEFAULTS["random_per_family"],
    workers: int = 1,
    base: Path | None = None,
    hours: float | None = None,
    families: tuple[str, ...] = (),
) -> dict:
    """Evaluate the pool (of ``families`` only, if given) on each (name, loader) task at each of
    its sizes, resuming from ``work`` (seeded from the ``base`` knowledge base when new); write ``out``."""
    params = {
        "cv": cv,
        "seed": seed,
        "seconds_per_config": seconds,
        "random_per_family": per_family,
        "sizes": list(SIZES),
        "one_fold_from": ONE_FOLD_FROM,
    }
    held = _claim(work, params)
    if held is None:
        params["base"] = _seed(work, base, params) if base else None
    else:
        params["base"] = held.get("base")
    (work / "params.json").write_text(json.dumps(params, sort_keys=True), encoding="utf-8")
    pools = {kind: build_pool(kind, per_family, seed) for kind in KINDS}
    if families:
        pools = {kind: [(c, s) for c, s in pool if c.family in families] for kind, pool in pools.items()}
    started = time.monotonic()
    entries = _plan(tasks, work)
    try:
        with progress_bar() as bar:
            overall = bar.add_task("knowledge base", total=len(entries))
            for name, size, loader in entries:
                if hours is not None and time.monotonic() - started > 3600 * hours:
                    break
                try:
                    _build_entry(name, size, loader, pools, work, cv, seed, seconds, workers, bar)
                except CashError as exc:  # a sample this task cannot be measured on (a class of one row)
                    bar.console.print(f"skipped {entry_name(name, size)}: {exc}")
                bar.advance(overall)
    finally:
        total = _wall_seconds(work) + time.monotonic() - started
        (work / WALL_SECONDS).write_text(f"{total:.0f}", encoding="utf-8")
    return _write(assemble(pools, work, params | {"workers": workers, "cpus": os.cpu_count()}, total), out)


def _plan(tasks: list[tuple[str, object]], work: Path) -> list[tuple[str, int, object]]:
    """Every (task, size) entry. First the smallest entry of each task not yet begun: a new task is a
    new neighbour, where another size of a known one refines one. Then the rest, the size buckets
    taken in turn (the rarest first, few tasks reach 50,000 rows): a build stopped early has
    evidence at every size rather than all of one."""
    entries = []
    for name, loader in tasks:
        rows = work / "rows.json"
        known = json.loads(rows.read_text(encoding="utf-8")) if rows.exists() else {}
        if name not in known:  # how many rows the task has, learnt once
            known[name] = len(loader(None, 0)[0])
            rows.write_text(json.dumps(known, sort_keys=True), encoding="utf-8")
        entries += [(name, size, loader) for size in entry_sizes(known[name])]
    begun = {path.name.partition("@")[0] for path in (work / "entries").glob("*.meta.json")}
    new: dict[str, tuple] = {}  # each task not yet begun: its smallest entry
    buckets: dict[int, list] = {}
    for entry in sorted(entries, key=lambda e: (e[0], e[1])):
        if entry[0] not in begun and entry[0] not in new:
            new[entry[0]] = entry
        else:
            buckets.setdefault(_bucket(entry[1]), []).append(entry)
    rarest_first = sorted(buckets.values(), key=lambda b: (len(b), -b[0][1]))
    rounds = max(map(len, rarest_first), default=0)
    return [*new.values()] + [b[i] for i in range(rounds) for b in rarest_first if i < len(b)]


def _bucket(size: int) -> int:
    """Sizes below the first of ``SIZES`` (small tasks at their own size) count as one bucket."""
    return max(size, SIZES[0]) if size >= SIZES[0] else 0


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


def _seed(work: Path, base: Path, params: dict) -> dict | None:
    """Copy the ``base`` knowledge base's entries into ``work`` when they were scored alike (and
    its configurations are still valid as they are); returns what the build started from."""
    if not base.exists():
        return None
    data = json.loads(base.read_text(encoding="utf-8"))
    if data.get("format") != FORMAT or any(data["build"].get(k) != params[k] for k in SCORED_WITH):
        return None
    (work / "entries").mkdir(exist_ok=True)
    for entry in data["tasks"]:
        kind = kind_of(entry["profile"]["task"])
        lines = []
        for (family, params_, _), result in zip(data["configs"][kind], entry["results"], strict=True):
            config = validate(family, params_, KINDS[kind][0])
            if result is None or config.params != params_:  # not measured, or the space changed since
                continue
            mean, folds, took, _ = result
            lines.append(
                {
                    "key": config_key(config),
                    "scores": folds if mean is not None else None,
                    "seconds": took,
                    "error": None if mean is not None else f"failed (in {base.name})",
                }
            )
        stem = work / "entries" / entry_name(entry["name"], entry["size"])
        meta = {
            "name": entry["name"],
            "size": entry["size"],
            "source": entry["source"],
            "profile": entry["profile"],
            "trivial": entry["trivial"],
        }
        stem.with_suffix(".meta.json").write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")
        stem.with_suffix(".jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    return {
        "version": data["version"],
        "entries": len(data["tasks"]),
        "wall_seconds": data["build"].get("wall_seconds"),
    }


def _build_entry(name, size, loader, pools, work, cv, seed, seconds, workers, bar) -> None:
    stem = work / "entries" / entry_name(name, size)
    stem.parent.mkdir(exist_ok=True)
    results, meta_path = stem.with_suffix(".jsonl"), stem.with_suffix(".meta.json")
    done = {json.loads(line)["key"] for line in _lines(results)}
    if meta_path.exists():  # nothing new for this entry: no need to load its data
        kind = kind_of(json.loads(meta_path.read_text(encoding="utf-8"))["profile"]["task"])
        if all(config_key(c) in done for c, _ in pools[kind]):
            return
    frame, target, task = loader(size, seed)
    X, y = features_and_target(frame, target)
    prof = profile(frame, target, task=task)
    limit = folds_run(size, cv)
    if not meta_path.exists():
        meta = {
            "name": name,
            "size": size,
            "source": _source(name),
            "profile": prof.to_dict(),
            "trivial": _trivial(prof, X, y, cv, seed, limit),
        }
        meta_path.write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")
    pool = pools[kind_of(task)]
    todo = {config_key(c): c for c, _ in pool if config_key(c) not in done}
    jobs = {key: _cv_job(prof, config, X, y, cv, seed, limit) for key, config in todo.items()}
    progress = bar.add_task(f"  {entry_name(name, size)}", total=len(pool), completed=len(done))
    with results.open("a", encoding="utf-8") as fh:
        for key, outcome in run_bounded(jobs, workers=workers, seconds=seconds_at(size, seconds)):
            fh.write(json.dumps(_record(key, outcome)) + "\n")
            fh.flush()
            bar.advance(progress)
    bar.remove_task(progress)


def _cv_job(prof: TaskProfile, config, X, y, cv: int, seed: int, limit: int):
    def job():
        built = build_model(prof, config, seed, cv)
        one_thread(built.model)
        return cross_validate(prof, built, X, y, cv=cv, seed=seed, limit=limit).tolist()

    return job


def _trivial(prof: TaskProfile, X, y, cv: int, seed: int, limit: int) -> list[float]:
    """The trivial predictor's fold scores: class frequencies, or the mean."""
    scores = cross_validate(prof, Built(trivial_model(prof)), X, y, cv=cv, seed=seed, limit=limit)
    return [_sig(s) for s in scores]


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


def _source(name: str) -> str:
    return datasets.DATASETS[name]["src"] if name in datasets.DATASETS else "user data"


def assemble(pools: dict, work: Path, params: dict, wall_seconds: float, finished_only: bool = False) -> dict:
    """The knowledge base as plain data: pools, and per entry (task and size) its profile, the
    trivial predictor's score and every pool configuration's result (null: not measured yet; with
    ``finished_only``, entries with any such are left out)."""
    kb = {
        "format": FORMAT,
        "version": date.today().isoformat(),
        "build": params
        | {"wall_seconds": round(wall_seconds), "versions": _versions(), "meta_features": META_FEATURES_VERSION},
        "configs": {kind: [[c.family, c.params, source] for c, source in pool] for kind, pool in pools.items()},
        "tasks": [],
    }
    fit_seconds = 0.0
    for meta_path in sorted((work / "entries").glob("*.meta.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        prof = TaskProfile.from_dict(meta["profile"])
        pool = pools[kind_of(prof.task)]
        found = {
            r["key"]: r
            for r in map(json.loads, _lines(meta_path.with_name(meta_path.name.replace(".meta.json", ".jsonl"))))
        }
        rows = [found.get(config_key(config)) for config, _ in pool]
        if not any(rows) or (finished_only and not all(rows)):
            continue
        means = [float(np.mean(r["scores"])) if r and r["scores"] else None for r in rows]
        measured = [m for m, r in zip(means, rows, strict=True) if r]
        ranks = percentiles(means, measured, METRICS[prof.metric])
        kb["tasks"].append(
            {
                "name": meta["name"],
                "size": meta["size"],
                "source": meta["source"],
                "profile": meta["profile"],
                "meta_features": prof.meta_feature_vector().tolist(),  # what loading reads instead of the profile
                "trivial": meta["trivial"],
                # per pool configuration: [mean CV score, fold scores, seconds, percentile among those
                # measured] (mean null: it failed or ran out of time), or null: not measured yet
                "results": [
                    [
                        _sig(m),
                        [_sig(s) for s in r["scores"]] if m is not None else None,
                        round(r["seconds"], 2),
                        round(float(p), 1),
                    ]
                    if r
                    else None
                    for m, r, p in zip(means, rows, ranks, strict=True)
                ],
            }
        )
        fit_seconds += sum(r["seconds"] for r in rows if r)
    kb["build"]["fit_hours"] = round(fit_seconds / 3600, 1)  # the fits' own time, one core each
    return kb


def snapshot(work: Path, out: Path) -> dict:
    """Write ``out`` from the finished entries of the build in ``work``, fitting nothing."""
    path = work / "params.json"
    if not path.exists():
        raise CashError(f"{work} holds no knowledge-base build (no params.json)")
    params = json.loads(path.read_text(encoding="utf-8"))
    pools = {kind: build_pool(kind, params["random_per_family"], params["seed"]) for kind in KINDS}
    kb = assemble(pools, work, params | {"cpus": os.cpu_count()}, _wall_seconds(work), finished_only=True)
    return _write(kb, out)


def _wall_seconds(work: Path) -> float:
    """The build's wall-clock time so far, summed over resumed runs, even interrupted ones."""
    spent = work / WALL_SECONDS
    return float(spent.read_text()) if spent.exists() else 0.0


def _write(kb: dict, out: Path) -> dict:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(kb, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
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
    parser.add_argument("--cv", type=int, default=DEFAULTS["cv"])
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    parser.add_argument(
        "--seconds",
        type=float,
        default=DEFAULTS["seconds"],
        help="time limit per configuration at 1,000 rows (more for larger sizes)",
    )
    parser.add_argument(
        "--random",
        type=int,
        default=DEFAULTS["random_per_family"],
        help="random configurations drawn from each family's space",
    )
    parser.add_argument("--family", action="append", help="only these families' configurations (default: all)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--hours", type=float, help="start no new entry after this many hours; write what is done")
    parser.add_argument(
        "--base",
        type=Path,
        default=KNOWLEDGE_FILE,
        help="a new --work folder starts from this knowledge base's entries (default: shipped)",
    )
    parser.add_argument("--no-base", action="store_true", help="evaluate everything afresh")
    parser.add_argument(
        "--snapshot", action="store_true", help="write --out from --work's finished entries, fitting nothing"
    )
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
        if args.snapshot:
            kb = snapshot(args.work, args.out)
        else:
            kb = build(
                tasks,
                work=args.work,
                out=args.out,
                cv=args.cv,
                seed=args.seed,
                seconds=args.seconds,
                per_family=args.random,
                workers=args.workers,
                base=None if args.no_base else args.base,
                hours=args.hours,
                families=tuple(args.family or ()),
            )
    except CashError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1e6:.2f} MB, {len(kb['tasks'])} entries, {kb['build']['wall_seconds']} s)")
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
