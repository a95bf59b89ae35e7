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

from . import __version__
from .history import History
from .llm.settings import LLMSettings
from .metrics import METRICS

RUNS_PER_DATASET = 20  # the newest runs of each dataset that /datasets lists
LEADERBOARD_SIZE = 10
_DETAILS = ("params", "overrides")  # of trials: in a run's details, not in the /datasets overview


def datasets(runs: list[dict]) -> list[dict]:
    """Run summaries (newest first) grouped by dataset fingerprint, most recently used first.

    Each group is labelled by its newest run (variable name, shape, task, metric) and lists its
    ``RUNS_PER_DATASET`` newest runs (of ``n_runs``), each run's trials best first (without their
    hyperparameters: those are in a run's details), and a leaderboard: the best finished trials
    scored with that metric. Trials scored with an older metric stay in the runs but not in the
    leaderboard, as their scores do not compare.
    """
    groups: dict[str, dict] = {}
    for run in runs:
        group = groups.setdefault(run["fingerprint"], {
            key: run[key] for key in ("fingerprint", "data_name", "n_rows", "n_columns", "task", "metric")
        } | {"greater_is_better": METRICS[run["metric"]].greater_is_better, "n_runs": 0, "runs": [],
             "leaderboard": []})
        group["n_runs"] += 1
        trials = sorted(({k: v for k, v in t.items() if k not in _DETAILS} for t in run["trials"]),
                        key=_best_first(METRICS[run["metric"]].greater_is_better))
        if len(group["runs"]) < RUNS_PER_DATASET:
            group["runs"].append(run | {"trials": trials})
        if run["metric"] != group["metric"]:
            continue
        group["leaderboard"].extend(
            {"run_id": run["id"], "trial_id": t["id"], "family": t["family"], "source": t["source"],
             "strategy": run["strategy"], "cv_mean": t["cv_mean"], "cv_std": t["cv_std"]}
            for t in trials if t["status"] == "done" and t["cv_mean"] is not None)
    for group in groups.values():
        group["leaderboard"] = sorted(group["leaderboard"], key=_best_first(group["greater_is_better"]))[
            :LEADERBOARD_SIZE]
    return list(groups.values())


def _best_first(greater_is_better: bool):
    """Sort key: scored trials best first, then unscored ones (a stable sort keeps ties in order)."""
    sign = -1 if greater_is_better else 1
    return lambda trial: (0, sign * trial["cv_mean"]) if trial["cv_mean"] is not None else (1, 0.0)


def llm_status() -> dict | None:
    """The LLM endpoint the environment configures (model and host, never the key), or None.

    Kernels started by this server inherit its environment, so these are the settings a
    ``%%cash`` uses unless its ``%config`` says otherwise.
    """
    settings = LLMSettings.resolve()
    return {"model": settings.model, "host": settings.host} if settings.configured else None


class _HistoryHandler(APIHandler):
    async def in_thread(self, method, *args):
        return await asyncio.to_thread(method, *args)

    def write_json(self, value) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(value))


class RunsHandler(_HistoryHandler):
    @web.authenticated
    async def get(self):
        runs = await self.in_thread(History().run_summaries, self.get_query_argument("fingerprint", None))
        self.write_json({"runs": runs})


class RunHandler(_HistoryHandler):
    @web.authenticated
    async def get(self, run_id: str):
        history = History()
        run = await self.in_thread(history.run, run_id)
        if run is None:
            raise web.HTTPError(404, f"no run {run_id!r} in the history")
        self.write_json(run | {"requests": await self.in_thread(history.requests, run_id)})

    @web.authenticated
    async def delete(self, run_id: str):
        if await self.in_thread(History().run, run_id) is None:
            raise web.HTTPError(404, f"no run {run_id!r} in the history")
        await self.in_thread(History().forget, run_id)
        self.set_status(204)
        self.finish()


class DatasetsHandler(_HistoryHandler):
    @web.authenticated
    async def get(self):
        self.write_json({"datasets": datasets(await self.in_thread(History().run_summaries))})


class StatusHandler(_HistoryHandler):
    @web.authenticated
    async def get(self):
        self.write_json({"version": __version__, "history": str(History().path), "llm": llm_status()})


def _load_jupyter_server_extension(server_app) -> None:
    web_app = server_app.web_app
    base = url_path_join(web_app.settings["base_url"], "llm-cash")
    web_app.add_handlers(".*$", [
        (url_path_join(base, "runs"), RunsHandler),
        (url_path_join(base, r"runs/([0-9a-f]+)"), RunHandler),
        (url_path_join(base, "datasets"), DatasetsHandler),
        (url_path_join(base, "status"), StatusHandler),
    ])
    server_app.log.info("llm_cash_magic: history API at %s (history %s)", base, History().path)
