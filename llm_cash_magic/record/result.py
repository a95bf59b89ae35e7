"""Recording a finished trial: the call generated code ends with."""

from __future__ import annotations

import numpy as np

from ..codegen import BLEND, blend_params_of, estimator_of
from ..metrics import METRICS, TRIVIAL, Metric
from ..profiling import TaskProfile
from ..space import family, family_of, params_from_estimator
from ..text import error_line, fit_width
from .history import History


def record_result(
    trial_id: str, model, scores, fit_seconds: float, history: History | None = None, *, rounds: dict | None = None
) -> None:
    """Store a finished trial's scores; called by the last line of generated code.

    The hyperparameters are read from the fitted model itself, so edits made in the cell are
    recorded as overrides; those the estimator does not hold (early stopping) keep their planned
    values. ``rounds`` ({"cap", "kept", "final"}) is what a model whose boosting stops early kept:
    its rounds parameter is recorded as the cap it had, not as the rounds its final fit trained.
    Recording never breaks the user's code: problems print one line.
    """
    history = history or History.from_environment()
    try:
        trial = history.trial(trial_id)
        if trial is None:
            print(f"llm_cash_magic: trial {trial_id!r} is not in {history.path}; result not recorded")
            return
        if trial["family"] == BLEND:
            name, params = BLEND, _blend_params(model, trial)
        else:
            estimator = estimator_of(model)
            name = family_of(estimator) or trial["family"]
            planned = trial["params"] if name == trial["family"] else {}
            params = planned | params_from_estimator(name, trial["task"], estimator)
            if rounds and family(name).rounds:
                params[family(name).rounds] = rounds["cap"]
        history.finish_trial(
            trial_id,
            family=name,
            params=params,
            scores=scores,
            fit_seconds=fit_seconds,
            details={"rounds": rounds} if rounds else {},
        )
        line = _compared(history, trial, float(np.mean(scores)))
        if line:
            print(fit_width(line))
    except Exception as exc:  # the last line of the user's cell: a model that trained stays trained
        print(f"llm_cash_magic: could not record the result: {error_line(exc)}")


def _compared(history: History, trial: dict, score: float) -> str:
    """The result next to the references measured on the same folds, when the history has them."""
    run = history.run(trial["run_id"])
    options, profile = run["options"], TaskProfile.from_dict(run["profile"])
    refs = {
        name: history.reference(
            run["fingerprint"], run["metric"], name, params, options.get("cv_used"), options.get("seed")
        )
        for name, params in (("lightgbm", family("lightgbm").defaults(profile.task)), (TRIVIAL, None))
    }
    return comparison(METRICS[run["metric"]], score, refs, profile.task, profile.numbers_as_classes)


def comparison(metric: Metric, score: float, refs: dict, task: str, numbers_as_classes: bool = False) -> str:
    """``score`` against the references (None where not measured): one line, or two when it is
    worse than the trivial predictor, which says what to check (``numbers_as_classes``: the classes
    are numbers, which may have been meant as one, ``TaskProfile.numbers_as_classes``)."""
    parts = []
    lightgbm, trivial = refs.get("lightgbm"), refs.get(TRIVIAL)
    if lightgbm:
        reference, gap = lightgbm["cv_mean"], f"{abs(score - lightgbm['cv_mean']):.4f}"
        better = "better" if metric.is_better(score, reference) else "worse"  # in words: a loss's "+" reads as better
        verdict = "the same" if gap == "0.0000" else f"this one {gap} {better}"
        parts.append(f"LightGBM defaults {reference:.4f} ({verdict})")
    if trivial:
        what = "the mean" if task == "regression" else "the class frequencies"
        parts.append(f"trivial predictor ({what}) {trivial['cv_mean']:.4f}")
    if not parts:
        return ""
    line = f"{metric.name} on the same folds: " + ", ".join(parts)
    if trivial and not metric.is_better(score, trivial["cv_mean"]):
        hint = (
            "an integer target with few values is read as classes: task=regression reads it as a number"
            if numbers_as_classes
            else "check that the target is what you mean to predict"
        )
        line += f"\nWARNING: this model does no better than the trivial predictor; {hint}"
    return line


def _blend_params(model, trial: dict) -> dict:
    """A blend's params read back from the ensemble; a member keeps the planned values its estimator
    does not hold, and one that stops early its planned rounds cap (its final fit trained fewer)."""
    params = blend_params_of(model, trial["task"])
    planned = trial["params"].get("members", [])
    if len(planned) == len(params["members"]):
        for member, plan in zip(params["members"], planned, strict=True):
            if member["family"] == plan["family"]:
                member["params"] = plan["params"] | member["params"]
                if family(plan["family"]).stops_early(plan["params"]):
                    rounds = family(plan["family"]).rounds
                    member["params"][rounds] = plan["params"][rounds]
    return params
