"""The jupyter_server extension: an authenticated REST API over the history, for the sidebar.

    GET    /llm-cash/runs[?fingerprint=…]   runs newest first, without code or profile
    GET    /llm-cash/runs/<id>              one run: profile, options, recommendations, trials, LLM requests
    DELETE /llm-cash/runs/<id>              forget a run
    GET    /llm-cash/datasets               runs grouped by dataset: the newest ones and a leaderboard
    GET    /llm-cash/status                 where the history lives and which LLM would answer

Every handler is a jupyter_server ``APIHandler`` behind ``tornado.web.authenticated``, so a
request without the server's token or login cookie is refused. SQLite calls run in a worker
thread: a kernel writing a result must never stall the server's event loop.
"""

from __future__ import annotations

import asyncio
import json

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from .. import __version__
from ..codegen import BLEND
from ..metrics import METRICS, TRIVIAL, Metric
from ..profiling.task_profile import FEATURE_KINDS
from ..recommenders.llm.settings import LLMSettings
from ..record import History
from ..space import FAMILIES, changed_params
from ..text import clip

RUNS_PER_DATASET = 20  # the newest runs of each dataset that /datasets lists
LEADERBOARD_SIZE = 10
MAX_DIFFERS = 60  # characters of what sets a configuration apart (the details list every value)
_DETAILS = ("params", "overrides")  # of trials: in a run's details, not in the /datasets overview


def datasets(runs: list[dict]) -> list[dict]:
    """Run summaries (newest first) grouped by dataset fingerprint, most recently used first.

    Each group is labelled by its newest run (variable name, shape, task, metric) and lists its
    ``RUNS_PER_DATASET`` newest runs (of ``n_runs``), each run's trials best first (without their
    hyperparameters: those are in a run's details), and a leaderboard: the best finished
    configurations scored with that metric, each once. Trials scored with an older metric stay in
    the runs but not in the leaderboard, as their scores do not compare.
    """
    groups: dict[str, dict] = {}
    for run in runs:
        group = groups.setdefault(
            run["fingerprint"],
            {key: run[key] for key in ("fingerprint", "data_name", "n_rows", "n_columns", "task", "metric")}
            | {
                "greater_is_better": METRICS[run["metric"]].greater_is_better,
                "n_runs": 0,
                "runs": [],
                "leaderboard": [],
            },
        )
        group["n_runs"] += 1
        trials = METRICS[run["metric"]].ranked(
            [{k: v for k, v in labelled(t, run["task"]).items() if k not in _DETAILS} for t in run["trials"]],
            score=lambda t: t["cv_mean"],
        )
        if len(group["runs"]) < RUNS_PER_DATASET:
            group["runs"].append(run | {"trials": trials})
        if run["metric"] == group["metric"]:
            group["leaderboard"] += [t for t in run["trials"] if t["status"] == "done" and t["cv_mean"] is not None]
    for group in groups.values():
        group["leaderboard"] = _leaderboard(group["leaderboard"], METRICS[group["metric"]], group["task"])
    return list(groups.values())


def _leaderboard(trials: list[dict], metric: Metric, task: str) -> list[dict]:
    """The best ``LEADERBOARD_SIZE`` configurations (family and hyperparameters), each with its best
    trial: runs that train the same configuration again would otherwise fill every place."""
    entries, seen = [], set()
    for t in metric.ranked(trials, score=lambda t: t["cv_mean"]):
        key = (t["family"], json.dumps(t["params"], sort_keys=True))
        if key not in seen and len(entries) < LEADERBOARD_SIZE:
            seen.add(key)
            entries.append(
                {
                    "run_id": t["run_id"],
                    "trial_id": t["id"],
                    "family": t["family"],
                    "label": label(t),
                    "differs": differs(t, task),
                    "source": t["source"],
                    "cv_mean": t["cv_mean"],
                    "cv_std": t["cv_std"],
                }
            )
    return entries


def label(trial: dict) -> str:
    """A trial's or recommendation's family as the panel names it ("HistGradientBoosting", "blend of 3")."""
    if trial["family"] == BLEND:
        return f"blend of {len(trial['params'].get('members', []))}"
    if trial["family"] == TRIVIAL:
        return "trivial predictor"
    return FAMILIES[trial["family"]].label if trial["family"] in FAMILIES else trial["family"]


def differs(trial: dict, task: str) -> str:
    """What sets a configuration apart from its family's library defaults, in short: "alpha=3,
    max_iter=500", "library defaults"; "" for a blend or a reference without hyperparameters."""
    if trial["family"] not in FAMILIES:
        return ""
    changed = changed_params(trial["family"], trial["params"], task)
    return clip(changed, MAX_DIFFERS) if changed else "library defaults"


def labelled(trial: dict, task: str) -> dict:
    return trial | {"label": label(trial), "differs": differs(trial, task)}


def run_details(run: dict) -> dict:
    """A run as the sidebar shows it: family labels, and hyperparameters also as Python writes them
    (JSON cannot tell 1.0 from 1, and scikit-learn can: max_features=1 is one feature)."""

    def python(trial: dict) -> dict:
        return {
            "params": {k: repr(v) for k, v in trial["params"].items()},
            "overrides": {k: {"from": repr(c["from"]), "to": repr(c["to"])} for k, c in trial["overrides"].items()},
        }

    return run | {
        "trials": [labelled(t, run["task"]) | {"python": python(t)} for t in run["trials"]],
        "recommendations": [labelled(r, run["task"]) for r in run["recommendations"]],
    }


def n_features(run: dict | None) -> int | None:
    """The features a run's profile uses, as the panel counts them (no target, no unused column)."""
    return sum(c["kind"] in FEATURE_KINDS for c in run["profile"]["columns"]) if run else None


def llm_status() -> dict | None:
    """The LLM endpoint the environment configures (model and host, never the key), or None.

    Kernels started by this server inherit its environment, so these are the settings a
    ``%%cash`` uses unless its ``%config`` says otherwise.
    """
    settings = LLMSettings.resolve()
    return {"model": settings.model, "host": settings.host} if settings.configured else None


class _HistoryHandler(APIHandler):
    @property
    def history(self) -> History:
        """The history of the server's environment (``$LLM_CASH_HOME``), read afresh per request."""
        return History.from_environment()

    async def in_thread(self, method, *args):
        return await asyncio.to_thread(method, *args)

    def write_json(self, value) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(value))


class RunsHandler(_HistoryHandler):
    @web.authenticated
    async def get(self):
        runs = await self.in_thread(self.history.run_summaries, self.get_query_argument("fingerprint", None))
        self.write_json({"runs": runs})


class RunHandler(_HistoryHandler):
    @web.authenticated
    async def get(self, run_id: str):
        history = self.history
        run = await self.in_thread(history.run, run_id)
        if run is None:
            raise web.HTTPError(404, f"no run {run_id!r} in the history")
        self.write_json(run_details(run) | {"requests": await self.in_thread(history.requests, run_id)})

    @web.authenticated
    async def delete(self, run_id: str):
        history = self.history
        if await self.in_thread(history.run, run_id) is None:
            raise web.HTTPError(404, f"no run {run_id!r} in the history")
        await self.in_thread(history.forget, run_id)
        self.set_status(204)
        self.finish()


class DatasetsHandler(_HistoryHandler):
    @web.authenticated
    async def get(self):
        self.write_json({"datasets": await self.in_thread(self.overview)})

    @staticmethod
    def overview() -> list[dict]:
        """``datasets`` with each group's feature count, from its newest run's profile."""
        history = History.from_environment()
        groups = datasets(history.run_summaries())
        for group in groups:
            group["n_features"] = n_features(history.run(group["runs"][0]["id"]))
        return groups


class StatusHandler(_HistoryHandler):
    @web.authenticated
    async def get(self):
        self.write_json({"version": __version__, "history": str(self.history.path), "llm": llm_status()})


def _load_jupyter_server_extension(server_app) -> None:
    web_app = server_app.web_app
    base = url_path_join(web_app.settings["base_url"], "llm-cash")
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "runs"), RunsHandler),
            (url_path_join(base, "runs/([^/]+)"), RunHandler),  # any id: an unknown one gets a JSON 404
            (url_path_join(base, "datasets"), DatasetsHandler),
            (url_path_join(base, "status"), StatusHandler),
        ],
    )
    server_app.log.info("llm_cash_magic: history API at %s (history %s)", base, History.from_environment().path)
