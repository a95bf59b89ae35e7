"""The persistent history: one SQLite file of runs (a profile + recommendations) and their trials.

A *run* is one ``%%cash`` invocation: the profile, options, and the recommendations made. A
*trial* is one configuration trained on that data: recommended and actual hyperparameters (their
difference is the user's overrides), the generated code, and cross-validated scores. Trials of
past tasks are what meta-informed recommendations learn from. An *LLM request* is one exchange
with an endpoint: the exact messages, the raw answer, what was parsed and repaired, tokens and
timings (never the key); its answer is replayed when the same request is made again.

Short-lived connections in WAL mode with a busy timeout let several kernels write at once.
A file that is not a database, or whose pages turn out damaged, is moved aside with a warning and
a fresh one is created.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sqlite3
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..codegen import package_versions
from ..errors import CashError
from ..home import default_home
from ..metrics import METRICS, TRIVIAL, percentiles
from ..profiling import TaskProfile
from ..recommenders import PastTask
from .migrations import MIGRATIONS, SCHEMA_VERSION

REFERENCE = "reference"  # the source of the references a result is shown next to

_DAMAGED = ("malformed", "not a database")  # what SQLite says of a damaged file


def _recovering(method: Callable) -> Callable:
    """Run ``method``; if the file turns out damaged, move it aside and run it once more on a fresh one.

    SQLite notices a damaged page only when a statement reads it, at any point of any method, so
    this wraps whole methods rather than opening (a full integrity check on every open would cost
    more than most calls).
    """

    @functools.wraps(method)
    def once_more_if_damaged(self: History, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            if not any(word in str(exc) for word in _DAMAGED):
                raise
            self._move_aside(exc)
        return method(self, *args, **kwargs)

    return once_more_if_damaged


class History:
    """The SQLite store. Cheap to create; every method opens its own short connection."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    @classmethod
    def from_environment(cls) -> History:
        """The user's history: ``history.sqlite`` in ``$LLM_CASH_HOME`` (default: under Jupyter's data dir)."""
        return cls(default_home() / "history.sqlite")

    # ---- connection and schema -------------------------------------------------------------
    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        read_only = self.read_only
        if not read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise self._unusable(exc.strerror or exc) from None
        conn = self._open_patiently(read_only)
        try:
            with conn:
                yield conn
        except sqlite3.OperationalError as exc:
            if "readonly" in str(exc):  # a write to a history this process may only read
                raise CashError(
                    f"cannot write the history {self.path}: it is read-only here (the file or its folder); "
                    "set $LLM_CASH_HOME to a writable folder"
                ) from None
            raise
        finally:
            conn.close()

    @property
    def read_only(self) -> bool:
        """Whether this process may only read the file: it, or the folder its journal files go to,
        is not writable (a shared or archived history)."""
        return self.path.exists() and not (os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK))

    def _open_patiently(self, read_only: bool = False) -> sqlite3.Connection:
        """Open, waiting out other processes that are creating or migrating the same file.

        SQLite can report "locked" without waiting while another connection switches a new
        file to WAL, so opening is retried for up to 30 s.
        """
        deadline = time.monotonic() + 30
        while True:
            try:
                return self._open_read_only() if read_only else self._open()
            except sqlite3.OperationalError as exc:
                if "unable to open" in str(exc):
                    raise self._unusable(exc) from None
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _unusable(self, reason) -> CashError:
        """One line for a home the history cannot live in, naming the way out."""
        return CashError(f"cannot open the history {self.path} ({reason}); set $LLM_CASH_HOME to a writable folder")

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version < SCHEMA_VERSION:
                self._migrate(conn, version)
            elif version > SCHEMA_VERSION:
                raise CashError(
                    f"{self.path} was written by a newer llm_cash_magic (schema {version}); upgrade the package"
                )
            conn.isolation_level = ""  # back to implicit transactions, committed by `with conn`
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_read_only(self) -> sqlite3.Connection:
        """Open for reading only: no journal mode to set, no migration; ``immutable`` because a WAL
        file's readers need to write its shared memory, which a read-only folder refuses."""
        conn = sqlite3.connect(f"{self.path.as_uri()}?mode=ro&immutable=1", uri=True, timeout=30)
        conn.row_factory = sqlite3.Row
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            conn.close()
            raise CashError(
                f"the history {self.path} is read-only here and of another version (schema {version}, this package "
                f"reads {SCHEMA_VERSION}); set $LLM_CASH_HOME to a writable folder"
            )
        return conn

    def _migrate(self, conn: sqlite3.Connection, version: int) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have won
            for target in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[target].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {target}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _move_aside(self, exc: Exception) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        self.path.replace(aside)
        for suffix in ("-wal", "-shm"):
            extra = self.path.with_name(self.path.name + suffix)
            if extra.exists():
                extra.replace(aside.with_name(aside.name + suffix))
        warnings.warn(
            f"llm_cash_magic: {self.path} was unreadable ({exc}); moved it to {aside.name} and started a fresh history",
            stacklevel=3,
        )

    # ---- writing -----------------------------------------------------------------------------
    @_recovering
    def start_run(
        self,
        profile: TaskProfile,
        *,
        data_name: str,
        n_columns: int,
        strategy: str,
        notes: str = "",
        options: dict | None = None,
        recommendations: list[dict] | None = None,
        run_id: str | None = None,
    ) -> str:
        """Store a run; ``run_id`` (from ``new_run_id``) when LLM requests already point to it."""
        run_id = run_id or new_run_id()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO runs (id, created_at, fingerprint, data_name, n_rows, n_columns, task, metric,"
                " strategy, notes, options, profile, meta_features, recommendations, versions)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    time.time(),
                    profile.fingerprint,
                    data_name,
                    profile.n_rows,
                    n_columns,
                    profile.task,
                    profile.metric,
                    strategy,
                    notes,
                    _json(options or {}),
                    _json(profile.to_dict()),
                    _json(profile.meta_features()),
                    _json(recommendations or []),
                    _json(package_versions()),
                ),
            )
        return run_id

    @_recovering
    def set_recommendations(self, run_id: str, recommendations: list[dict]) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE runs SET recommendations = ? WHERE id = ?", (_json(recommendations), run_id))

    @_recovering
    def add_trial(self, run_id: str, *, family: str, source: str, recommended: dict, params: dict) -> str:
        """A trial about to run: the recommended params and the (possibly edited) ones to train."""
        with self._connect() as conn:
            # counting and inserting in one write transaction: two kernels adding trials to one run at
            # once must not take the same number
            conn.execute("BEGIN IMMEDIATE")
            n = conn.execute("SELECT COUNT(*) FROM trials WHERE run_id = ?", (run_id,)).fetchone()[0]
            trial_id = f"{run_id}-{n + 1}"
            now = time.time()
            conn.execute(
                "INSERT INTO trials (id, run_id, created_at, updated_at, family, source, recommended, params,"
                " overrides) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    trial_id,
                    run_id,
                    now,
                    now,
                    family,
                    source,
                    _json(recommended),
                    _json(params),
                    _json(overrides(recommended, params)),
                ),
            )
        return trial_id

    @_recovering
    def set_trial_code(self, trial_id: str, code: str) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE trials SET code = ? WHERE id = ?", (code, trial_id))

    @_recovering
    def finish_trial(
        self, trial_id: str, *, family: str, params: dict, scores, fit_seconds: float, details: dict | None = None
    ) -> None:
        """Scores of a finished trial; ``params`` are what actually ran (edits in the cell count);
        ``details``: what else the run learned (the boosting rounds kept)."""
        scores = [float(s) for s in np.asarray(scores, dtype=float).ravel()]
        with self._connect() as conn:
            row = conn.execute("SELECT recommended FROM trials WHERE id = ?", (trial_id,)).fetchone()
            if row is None:
                raise CashError(f"trial {trial_id!r} is not in {self.path}")
            conn.execute(
                "UPDATE trials SET updated_at = ?, family = ?, params = ?, overrides = ?, status = 'done',"
                " cv_mean = ?, cv_std = ?, cv_scores = ?, fit_seconds = ?, details = ?, error = NULL WHERE id = ?",
                (
                    time.time(),
                    family,
                    _json(params),
                    _json(overrides(json.loads(row["recommended"]), params)),
                    _finite(np.mean(scores)),
                    _spread(scores),
                    _json(scores),
                    float(fit_seconds),
                    _json(details or {}),
                    trial_id,
                ),
            )

    @_recovering
    def fail_trial(self, trial_id: str, error: str) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE trials SET updated_at = ?, status = 'failed', error = ? WHERE id = ?",
                (time.time(), error, trial_id),
            )

    @_recovering
    def record_request(self, **request) -> str:
        """Store one LLM request (columns of ``llm_requests`` as keywords); returns its id."""
        unknown = set(request) - set(_REQUEST_COLUMNS)
        if unknown:
            raise TypeError(f"llm_requests has no column {', '.join(sorted(unknown))}")
        request_id = uuid.uuid4().hex[:12]
        row = {"id": request_id, "created_at": time.time()} | {
            k: _json(v) if k in _JSON_COLUMNS and v is not None else v for k, v in request.items()
        }
        with self._connect() as conn:
            conn.execute(
                f"INSERT INTO llm_requests ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values())
            )
        return request_id

    @_recovering
    def resolve(self, prefix: str) -> str:
        """The id of the one run whose id starts with ``prefix`` (ids are shown by %cash history)."""
        if not prefix:
            raise CashError("give a run id (as shown by %cash history)")
        with self._connect() as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM runs WHERE substr(id, 1, ?) = ?", (len(prefix), prefix))]
        if len(ids) != 1:
            problem = "is ambiguous" if ids else "matches no run"
            raise CashError(f"run id {prefix!r} {problem} ({len(ids)} runs start with it); see %cash history")
        return ids[0]

    @_recovering
    def forget(self, run_id: str) -> str:
        """Delete a run (an id prefix is enough), its trials and its LLM requests; returns its full id."""
        full_id = self.resolve(run_id)
        with self._connect() as conn:
            conn.execute("DELETE FROM runs WHERE id = ?", (full_id,))
            conn.execute("DELETE FROM llm_requests WHERE run_id = ?", (full_id,))
        return full_id

    @_recovering
    def forget_all(self) -> int:
        with self._connect() as conn:
            n = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
            conn.execute("DELETE FROM runs")
            conn.execute("DELETE FROM llm_requests")
        return n

    # ---- reading -----------------------------------------------------------------------------
    @_recovering
    def runs(self, fingerprint: str | None = None, limit: int | None = None) -> list[dict]:
        """Runs newest first, each with its trials."""
        query, args = "SELECT * FROM runs", []
        if fingerprint:
            query, args = query + " WHERE fingerprint = ?", [fingerprint]
        query += " ORDER BY created_at DESC, id"
        if limit:
            query, args = query + " LIMIT ?", args + [int(limit)]
        with self._connect() as conn:
            runs = [_row_dict(r) for r in conn.execute(query, args)]
            for run in runs:
                run["trials"] = [
                    _row_dict(t)
                    for t in conn.execute("SELECT * FROM trials WHERE run_id = ? ORDER BY created_at, id", (run["id"],))
                ]
        return runs

    @_recovering
    def run_summaries(self, fingerprint: str | None = None) -> list[dict]:
        """Runs newest first with their trials, as lists show them: without the profile, the
        recommendations or any code, and read in two queries however many runs there are."""
        where, args = ("WHERE r.fingerprint = ?", (fingerprint,)) if fingerprint else ("", ())
        run_columns = ", ".join(f"r.{c}" for c in _SUMMARY_COLUMNS)
        trial_columns = ", ".join(f"t.{c}" for c in _TRIAL_SUMMARY_COLUMNS)
        with self._connect() as conn:
            runs = [
                _row_dict(r) | {"trials": []}
                for r in conn.execute(
                    f"SELECT {run_columns} FROM runs r {where} ORDER BY r.created_at DESC, r.id", args
                )
            ]
            trials = conn.execute(
                f"SELECT {trial_columns} FROM trials t JOIN runs r ON r.id = t.run_id {where}"
                " ORDER BY t.created_at, t.id",
                args,
            ).fetchall()
        by_id = {run["id"]: run for run in runs}
        for trial in trials:
            if trial["run_id"] in by_id:  # not a run recorded between the two reads
                by_id[trial["run_id"]]["trials"].append(_row_dict(trial))
        return runs

    @_recovering
    def run(self, run_id: str) -> dict | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                return None
            run = _row_dict(row)
            run["trials"] = [
                _row_dict(t)
                for t in conn.execute("SELECT * FROM trials WHERE run_id = ? ORDER BY created_at, id", (run_id,))
            ]
        return run

    @_recovering
    def trial(self, trial_id: str) -> dict | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT t.*, r.task FROM trials t JOIN runs r ON r.id = t.run_id WHERE t.id = ?", (trial_id,)
            ).fetchone()
        return _row_dict(row) if row else None

    def record_reference(
        self, run_id: str, family: str, scores, *, params: dict | None = None, fit_seconds: float = 0.0
    ) -> str:
        """A reference measured on the run's folds: the trivial predictor (``family`` "trivial") or
        LightGBM's defaults; stored as a finished trial whose source is "reference"."""
        params = params or {}
        trial_id = self.add_trial(run_id, family=family, source=REFERENCE, recommended=params, params=params)
        self.finish_trial(trial_id, family=family, params=params, scores=scores, fit_seconds=fit_seconds)
        return trial_id

    @_recovering
    def reference(
        self, fingerprint: str, metric: str, family: str, params: dict | None, cv: int, seed: int
    ) -> dict | None:
        """The newest reference of ``family`` with ``params`` (None: any) measured on this dataset with
        the same metric and folds (``cv``, ``seed``): cached, so each dataset pays for its references once."""
        return self._on_same_folds(fingerprint, metric, family, params, cv, seed, source=REFERENCE)

    def find_trial(self, fingerprint: str, metric: str, family: str, params: dict, cv: int, seed: int) -> dict | None:
        """The newest finished trial of exactly ``family`` with ``params`` on this dataset, metric and
        folds (``cv``, ``seed``), whoever ran it: a refinement need not fit it again."""
        return self._on_same_folds(fingerprint, metric, family, params, cv, seed)

    @_recovering
    def _on_same_folds(
        self, fingerprint, metric, family, params: dict | None, cv: int, seed: int, source: str | None = None
    ) -> dict | None:
        """The newest finished trial of ``family`` (and ``params``, None: any; and ``source``, None:
        any) scored on every fold of this dataset's folds ``cv`` and ``seed``, in ``metric``."""
        query = (
            "SELECT t.*, r.options FROM trials t JOIN runs r ON r.id = t.run_id"
            " WHERE r.fingerprint = ? AND r.metric = ? AND t.family = ? AND t.status = 'done'"
            " AND t.cv_mean IS NOT NULL" + (" AND t.source = ?" if source else "") + " ORDER BY t.updated_at DESC, t.id"
        )
        with self._connect() as conn:
            rows = conn.execute(query, (fingerprint, metric, family, *([source] if source else []))).fetchall()
        for trial in map(_row_dict, rows):
            every_fold = len(trial["cv_scores"] or []) == cv  # not a run whose code was edited to other folds
            if _same_folds(trial.pop("options"), cv, seed) and every_fold and params in (None, trial["params"]):
                return trial
        return None

    @_recovering
    def requests(self, run_id: str | None = None) -> list[dict]:
        """LLM requests oldest first: all of them, or those made for ``run_id``."""
        query, args = "SELECT * FROM llm_requests", ()
        if run_id is not None:
            query, args = query + " WHERE run_id = ?", (run_id,)
        with self._connect() as conn:
            return [_row_dict(r) for r in conn.execute(query + " ORDER BY created_at, id", args)]

    @_recovering
    def stored_answer(self, cache_key: str) -> tuple[str, str] | None:
        """(request id, answer) of the newest usable answer to the request ``cache_key`` identifies."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT id, response FROM llm_requests WHERE cache_key = ? AND status = 'ok' AND replay_of IS NULL"
                " AND recommendations != '[]' ORDER BY created_at DESC, id LIMIT 1",
                (cache_key,),
            ).fetchone()
        return (row["id"], row["response"]) if row else None

    @_recovering
    def export_jsonl(self, path: str | os.PathLike) -> int:
        """Write every run (with its trials and LLM requests) as one JSON object per line; returns the count."""
        runs = self.runs()
        try:
            with open(path, "w", encoding="utf-8") as fh:
                for run in reversed(runs):
                    run["llm_requests"] = self.requests(run["id"])
                    fh.write(json.dumps(run, sort_keys=True) + "\n")
        except OSError as exc:
            raise CashError(f"cannot write {path}: {exc.strerror or exc}") from None
        return len(runs)

    @_recovering
    def measured_tasks(self) -> list[PastTask]:
        """Every dataset with finished trials (blends aside), as a past task whose trials are ranked
        best first in its newest metric; how near one is to a new task is the offline meta-learner's
        to say. Order is deterministic: newest run first."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT r.fingerprint, r.data_name, r.profile, r.metric, t.family, t.params,"
                " t.cv_mean, t.cv_scores, t.fit_seconds FROM trials t JOIN runs r ON r.id = t.run_id"
                " WHERE t.status = 'done' AND t.cv_mean IS NOT NULL"
                " AND t.family != 'blend'"  # a blend is not one configuration to recommend
                " ORDER BY r.created_at DESC, t.id",
            ).fetchall()
        tasks: dict[str, dict] = {}
        for row in rows:
            task = tasks.setdefault(
                row["fingerprint"],
                {
                    "name": row["data_name"],
                    "profile": row["profile"],
                    "metric": row["metric"],
                    "trials": {},
                    "trivial": [],
                },
            )
            if row["metric"] != task["metric"]:
                continue  # scores of another metric are not comparable; the newest metric wins
            if row["family"] == TRIVIAL:
                task["trivial"].append(row["cv_mean"])
                continue
            key = (row["family"], row["params"])
            folds = len(json.loads(row["cv_scores"] or "[0]"))
            per_fold = row["fit_seconds"] / folds if row["fit_seconds"] else None  # runs may differ in folds
            task["trials"].setdefault(key, []).append((row["cv_mean"], per_fold))
        return [self._past_task(task) for task in tasks.values() if task["trials"]]

    @staticmethod
    def _past_task(task: dict) -> PastTask:
        metric = METRICS[task["metric"]]
        trials = [
            (family, params, float(np.mean([score for score, _ in runs])), _mean_seconds(runs))
            for (family, params), runs in task["trials"].items()
        ]
        trials = metric.ranked(sorted(trials, key=lambda t: t[:2]), score=lambda t: t[2])  # equals by family and params
        # as the knowledge base ranks its pools: the share of the task's other trials beaten, ties
        # half, so a lone trial sits at 0.5 rather than passing for the best there is
        ranks = percentiles([t[2] for t in trials], [t[2] for t in trials], metric) / 100.0
        ranked = [
            {
                "family": family,
                "params": json.loads(params),
                "cv_mean": score,
                "normalized_rank": float(rank),
                "seconds": seconds,
            }
            for (family, params, score, seconds), rank in zip(trials, ranks, strict=True)
        ]
        trivial = float(np.mean(task["trivial"])) if task["trivial"] else None
        return PastTask(TaskProfile.from_dict(json.loads(task["profile"])), ranked, task["name"], trivial=trivial)


_REQUEST_COLUMNS = (
    "run_id",
    "strategy",
    "purpose",
    "model",
    "endpoint",
    "temperature",
    "seed",
    "cache_key",
    "replay_of",
    "messages",
    "response",
    "recommendations",
    "repairs",
    "usage",
    "first_token_seconds",
    "latency_seconds",
    "status",
    "error",
)


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def overrides(recommended: dict, params: dict) -> dict:
    """Hyperparameters the user changed: name → {"from": recommended, "to": used}.

    Only names the recommendation set count: a blend's weights are chosen by its code, not the user.
    """
    return {k: {"from": recommended[k], "to": v} for k, v in params.items() if k in recommended and recommended[k] != v}


def _finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _same_folds(options: dict, cv: int, seed: int) -> bool:
    """Whether a run's trials were scored on the folds ``cv`` and ``seed`` make."""
    return options.get("cv_used", options.get("cv")) == cv and options.get("seed") == seed


def _mean_seconds(runs: list[tuple[float, float | None]]) -> float | None:
    """The mean training time per fold of a configuration's runs on one dataset, where any was timed."""
    timed = [seconds for _, seconds in runs if seconds]
    return float(np.mean(timed)) if timed else None


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, default=_plain)


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


_JSON_COLUMNS = (
    "details",
    "options",
    "profile",
    "meta_features",
    "recommendations",
    "versions",
    "recommended",
    "params",
    "overrides",
    "cv_scores",
    "messages",
    "repairs",
    "usage",
)


_SUMMARY_COLUMNS = (
    "id",
    "created_at",
    "fingerprint",
    "data_name",
    "n_rows",
    "n_columns",
    "task",
    "metric",
    "strategy",
    "notes",
)
_TRIAL_SUMMARY_COLUMNS = (
    "id",
    "run_id",
    "created_at",
    "updated_at",
    "family",
    "source",
    "params",
    "overrides",
    "status",
    "cv_mean",
    "cv_std",
    "fit_seconds",
    "error",
)


def _spread(scores: list[float]) -> float | None:
    """The std of the fold scores; None for one held-out split (a Dask or large frame's), whose spread
    is unknown rather than zero, so that no view shows "± 0.0000"."""
    return _finite(np.std(scores)) if len(scores) > 1 else None


def _row_dict(row: sqlite3.Row) -> dict:
    return {k: json.loads(row[k]) if k in _JSON_COLUMNS and row[k] is not None else row[k] for k in row.keys()}  # noqa: SIM118
