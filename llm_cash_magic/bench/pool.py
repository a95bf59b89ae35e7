"""The pool of configurations evaluated on every knowledge-base task (and the benchmark's yardstick).

One fixed pool per task kind (classification, regression), the same on every task, so that a
configuration's standing can be compared across tasks — what lets the offline recommender pick
what did well on the nearest tasks. It holds:

- every family's library defaults (LightGBM's among them: what every recommendation is measured
  against), and the boosted families' defaults stopping early on held-out rows;
- configurations that published zero-shot portfolios found strong, transcribed in
  ``portfolios.json`` with their sources (FLAML's ``flaml/default`` portfolios, Kayali & Wang 2022;
  AutoGluon's defaults and its TabRepo-mined zero-shot portfolios, Salinas & Erickson 2023): the
  first few of each in the portfolio's own order of priority (``TAKE``);
- random draws from every family's space, for breadth.

Everything goes through ``space.validate``, so FLAML's 32,767-tree forests become our space's
largest. AutoGluon trains its boosted models with early stopping and a large round cap; here they
stop early too, with our caps.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..space import FAMILIES, Config, family, validate
from .sampling import random_configs

KINDS = {"classification": ("binary", "multiclass"), "regression": ("regression",)}
PORTFOLIOS = Path(__file__).with_name("portfolios.json")
# How many configurations of a published portfolio join the pool (per family, or per FLAML learner
# and task), first in the portfolio's order; None: all of them.
TAKE = {"autogluon default": None, "autogluon zeroshot_2023": 5, "autogluon zeroshot_2025_small": None, "flaml": 2}
RANDOM_PER_FAMILY = 2


def kind_of(task: str) -> str:
    return "regression" if task == "regression" else "classification"


def build_pool(kind: str, per_family: int = RANDOM_PER_FAMILY, seed: int = 0) -> list[tuple[Config, str]]:
    """(config, where it came from) for ``kind``: defaults, defaults stopping early, the published
    portfolios' first configurations, and ``per_family`` random draws from each family."""
    task = KINDS[kind][0]  # binary and multiclass share every hyperparameter
    candidates = [(validate(name, {}, task), "defaults") for name in FAMILIES]
    for fam in FAMILIES.values():
        if fam.rounds:
            params = {"early_stopping": True, fam.rounds: fam.param(fam.rounds).high}
            candidates.append((validate(fam.name, params, task), "defaults, stopping early"))
    candidates += [(config, source) for config, source in published(kind)]
    for i, name in enumerate(FAMILIES):
        candidates += [(config, "random") for config in random_configs(task, per_family, seed + i, (name,))]
    pool, seen = [], set()
    for config, source in candidates:
        key = config_key(config)
        if key not in seen:
            seen.add(key)
            pool.append((config, source))
    return pool


def published(kind: str) -> list[tuple[Config, str]]:
    """The published portfolios' configurations that ``TAKE`` admits for ``kind``, in file order."""
    entries = json.loads(PORTFOLIOS.read_text(encoding="utf-8"))["configs"]
    taken: dict[tuple, int] = {}
    chosen = []
    for entry in entries:
        tasks = [t for t in entry["tasks"] if t in KINDS[kind]]
        if tasks and any(_admit(source, entry["family"], taken) for source in entry["source"].split("; ")):
            chosen.append((validate(entry["family"], entry["params"], tasks[0]), entry["source"].split("; ")[0]))
    return chosen


def _admit(source: str, family_name: str, taken: dict[tuple, int]) -> bool:
    """Whether ``source`` (one origin of an entry) is among the first ``TAKE`` of its portfolio."""
    flaml = re.match(r"flaml (\w+)/(\w+)\.json portfolio\[(\d+)\]", source)
    if flaml:
        return int(flaml[3]) < TAKE["flaml"]
    portfolio = next((name for name in TAKE if source.startswith(name)), None)
    if portfolio is None:
        return False
    limit = TAKE[portfolio]
    count = taken.get((portfolio, family_name), 0)
    taken[(portfolio, family_name)] = count + 1
    return limit is None or count < limit


def config_key(config: Config) -> str:
    return json.dumps([config.family, config.params], sort_keys=True)


def from_flaml(params: dict) -> dict:
    """FLAML's names for LightGBM hyperparameters in ours (``log_max_bin`` → ``max_bin``,
    ``max_leaves`` → ``num_leaves``): what ``flaml.default`` suggests for the benchmark's FLAML baseline."""
    params = {k: v for k, v in params.items() if k != "FLAML_sample_size"}
    if "log_max_bin" in params:
        params["max_bin"] = 2 ** params.pop("log_max_bin") - 1
    if "max_leaves" in params:
        params["num_leaves"] = params.pop("max_leaves")
    return params


def describe_pool(kind: str) -> str:
    """A line per source: how many of the pool's configurations it gave (for the build's summary)."""
    counts: dict[str, int] = {}
    for config, source in build_pool(kind):
        label = source.split(" ")[0] if source.startswith(("flaml", "autogluon")) else source
        counts[f"{family(config.family).label} · {label}"] = (
            counts.get(f"{family(config.family).label} · {label}", 0) + 1
        )
    return "\n".join(f"{n:3d}  {name}" for name, n in sorted(counts.items()))
