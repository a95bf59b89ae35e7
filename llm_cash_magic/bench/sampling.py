"""The search space of every family as Optuna suggestions, for random search, TPE and the KB pool.

One definition serves three uses: Optuna's RandomSampler draws the knowledge base's random
configurations and the random-search baseline, its TPESampler drives the TPE baseline. Ranges
come from each hyperparameter's prompt grid, the values practitioners actually try: log-scale
parameters are searched continuously between the grid's ends, the others over the grid itself
(so regularisers keep their 0, 0.001, …, 10 spread instead of a uniform draw up to 100).
"""

from __future__ import annotations

import optuna

from ..space import Config, Param, families_for, family, validate


def suggest_config(trial: optuna.Trial, task: str, families: tuple[str, ...] | None = None) -> Config:
    """A family and its hyperparameters suggested by ``trial`` (names are ``family.param``)."""
    names = list(families or [f.name for f in families_for(task)])
    name = trial.suggest_categorical("family", names) if len(names) > 1 else names[0]
    params = {p.name: _suggest(trial, f"{name}.{p.name}", p) for p in family(name).params_for(task)}
    return validate(name, params, task)


def _suggest(trial: optuna.Trial, key: str, param: Param):
    if param.type == "bool":
        return trial.suggest_categorical(key, [False, True])
    if param.type == "categorical":
        return trial.suggest_categorical(key, list(param.choices))
    if param.log:
        if param.nullable and not trial.suggest_categorical(f"{key}.limited", [True, False]):
            return None  # e.g. CatBoost's learning_rate: None lets the library choose
        grid = [value for value in param.grid if value is not None]
        low, high = min(grid), max(grid)
        if param.type == "int":
            return trial.suggest_int(key, int(low), int(high), log=True)
        return trial.suggest_float(key, low, high, log=True)
    return trial.suggest_categorical(key, list(param.grid))


def random_configs(task: str, n: int, seed: int, families: tuple[str, ...] | None = None) -> list[Config]:
    """``n`` configurations drawn uniformly from the space (family first, then its parameters)."""
    study = quiet_study(optuna.samplers.RandomSampler(seed=seed))
    return [suggest_config(study.ask(), task, families) for _ in range(n)]


def quiet_study(sampler: optuna.samplers.BaseSampler, direction: str = "maximize") -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(sampler=sampler, direction=direction)
