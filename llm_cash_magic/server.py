"""The jupyter_server extension: an authenticated REST API over the history, for the sidebar.

    GET    /llm-cash/runs[?fingerprint=…]   runs newest first, without code or profile
    GET    /llm-cash/runs/<id>              one run: profile, options, recommendations, trials
    DELETE /llm-cash/runs/<id>              forget a run
    GET    /llm-cash/datasets               runs grouped by dataset, each with a leaderboard
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

_SUMMARY_DROP = ("options", "profile", "meta_features", "recommendations", "versions")
_TRIAL_DROP = ("code", "recommended", "cv_scores")


def run_summary(run: dict) -> dict:
    """A run as the sidebar lists it: what, when, how it scored — without code or the profile."""
    summary = {k: v for k, v in run.items() if k not in _SUMMARY_DROP}
    summary["trials"] = [{k: v for k, v in t.items() if k not in _TRIAL_DROP} for t in run["trials"]]
    return summary


def datasets(runs: list[dict]) -> list[dict]:
    """Runs (newest first) grouped by dataset fingerprint, most recently used dataset first.

    Each group is labelled by its newest run (variable name, shape, task, metric) and carries a
    leaderboard: every finished trial scored with that metric, best first. Trials scored with an
    older metric stay in the runs but not in the leaderboard, as their scores do not compare.
    Within a run, trials are listed best first too (a refined run has many).
    """
    groups: dict[str, dict] = {}
    for run in runs:
        group = groups.setdefault(run["fingerprint"], {
            key: run[key] for key in ("fingerprint", "data_name", "n_rows", "n_columns", "task", "metric")
        } | {"greater_is_better": METRICS[run["metric"]].greater_is_better, "runs": [], "leaderboard": []})
        summary = run_summary(run)
        summary["trials"].sort(key=_best_first(METRICS[run["metric"]].greater_is_better))
        group["runs"].append(summary)
        if run["metric"] != group["metric"]:
            continue
        for trial in summary["trials"]:
            if trial["status"] == "done" and trial["cv_mean"] is not None:
                group["leaderboard"].append({
                    "run_id": run["id"], "trial_id": trial["id"], "family": trial["family"],
                    "source": trial["source"], "strategy": run["strategy"], "params": trial["params"],
                    "overrides": trial["overrides"], "cv_mean": trial["cv_mean"], "cv_std": trial["cv_std"],
                })
    for group in groups.values():
        group["leaderboard"].sort(key=_best_first(group["greater_is_better"]))
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
        runs = await self.in_thread(History().runs, self.get_query_argument("fingerprint", None))
        self.write_json({"runs": [run_summary(r) for r in runs]})


class RunHandler(_HistoryHandler):
    @web.authenticated
    async def get(self, run_id: str):
        run = await self.in_thread(History().run, run_id)
        if run is None:
            raise web.HTTPError(404, f"no run {run_id!r} in the history")
        self.write_json(run)

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
        self.write_json({"datasets": datasets(await self.in_thread(History().runs))})


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
