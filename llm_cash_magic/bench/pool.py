"""The pool of configurations evaluated on every knowledge-base task (and the benchmark's yardstick).

One fixed pool per task kind (classification, regression), the same on every task, so that a
configuration's standing can be compared across tasks — what lets the offline recommender pick
a portfolio that does well on the nearest tasks. It holds each family's library defaults,
FLAML's shipped zero-shot portfolio where it maps onto our families, and random draws from the
space. Everything goes through ``space.validate``, so FLAML's 32,767-tree forests become our
space's largest and unknown knobs (``max_leaves``) are dropped.
"""

from __future__ import annotations

import json
from importlib import util
from pathlib import Path

from ..space import FAMILIES, Config, validate
from .sampling import random_configs

KINDS = {"classification": ("binary", "multiclass"), "regression": ("regression",)}
# FLAML's portfolio maps onto ours for "lgbm", "rf" and "extra_tree"; its forests (300–2,047 trees,
# no depth limit) cost two thirds of the build's time for little, so only LightGBM's are taken.
FLAML_LEARNERS = {"lgbm": "lightgbm"}


def kind_of(task: str) -> str:
    return "regression" if task == "regression" else "classification"


def build_pool(kind: str, per_family: int, seed: int = 0) -> list[tuple[Config, str]]:
    """(config, where it came from) for ``kind``: defaults, FLAML's portfolio, and ``per_family``
    random draws from each family."""
    task = KINDS[kind][0]  # binary and multiclass share every hyperparameter
    candidates = [(validate(name, {}, task), "defaults") for name in FAMILIES]
    candidates += [(config, "flaml") for config in flaml_portfolio(kind)]
    for i, name in enumerate(FAMILIES):
        candidates += [(config, "random") for config in random_configs(task, per_family, seed + i, (name,))]
    pool, seen = [], set()
    for config, source in candidates:
        key = config_key(config)
        if key not in seen:
            seen.add(key)
            pool.append((config, source))
    return pool


def config_key(config: Config) -> str:
    return json.dumps([config.family, config.params], sort_keys=True)


def flaml_portfolio(kind: str) -> list[Config]:
    """FLAML's zero-shot portfolio configurations for our families (empty without FLAML)."""
    spec = util.find_spec("flaml")
    if spec is None:
        return []
    root = Path(list(spec.submodule_search_locations)[0]) / "default"
    configs = []
    for learner, name in FLAML_LEARNERS.items():
        for task in KINDS[kind]:
            for entry in json.loads((root / learner / f"{task}.json").read_text())["portfolio"]:
                configs.append(validate(name, from_flaml(entry["hyperparameters"]), task))
    return configs


def from_flaml(params: dict) -> dict:
    """FLAML's names for LightGBM / forest hyperparameters in ours (``log_max_bin`` → ``max_bin``)."""
    params = {k: v for k, v in params.items() if k not in ("FLAML_sample_size", "max_leaves")}
    if "log_max_bin" in params:
        params["max_bin"] = 2 ** params.pop("log_max_bin") - 1
    return params
