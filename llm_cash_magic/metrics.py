"""Scoring metrics: which ones each task accepts, their scikit-learn scorer, and direction."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import CashError

TASKS = ("binary", "multiclass", "regression")


@dataclass(frozen=True)
class Metric:
    name: str
    scorer: str  # a scikit-learn scoring string
    greater_is_better: bool
    tasks: frozenset[str]

    def natural(self, scorer_value: float) -> float:
        """The metric as people quote it: scikit-learn negates losses (neg_rmse); undo that."""
        return -scorer_value if self.scorer.startswith("neg_") else scorer_value


_CLASSIFICATION = frozenset({"binary", "multiclass"})
METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("roc_auc", "roc_auc", True, frozenset({"binary"})),
        Metric("roc_auc_ovr", "roc_auc_ovr", True, frozenset({"multiclass"})),
        Metric("log_loss", "neg_log_loss", False, _CLASSIFICATION),
        Metric("accuracy", "accuracy", True, _CLASSIFICATION),
        Metric("balanced_accuracy", "balanced_accuracy", True, _CLASSIFICATION),
        Metric("f1_macro", "f1_macro", True, _CLASSIFICATION),
        Metric("rmse", "neg_root_mean_squared_error", False, frozenset({"regression"})),
        Metric("mae", "neg_mean_absolute_error", False, frozenset({"regression"})),
        Metric("rmsle", "neg_root_mean_squared_log_error", False, frozenset({"regression"})),
        Metric("r2", "r2", True, frozenset({"regression"})),
    )
}

DEFAULT_METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}


def metrics_for(task: str) -> list[str]:
    return [name for name, m in METRICS.items() if task in m.tasks]


def get_metric(name: str, task: str) -> Metric:
    """The metric called ``name``, checked against ``task``; a CashError names the allowed ones."""
    metric = METRICS.get(name)
    if metric is None or task not in metric.tasks:
        allowed = ", ".join(metrics_for(task))
        raise CashError(f"metric={name!r} is not available for {task} tasks; use one of: {allowed}")
    return metric
