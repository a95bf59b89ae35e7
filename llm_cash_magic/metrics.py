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
    function: str  # the sklearn.metrics function behind it
    # the metric of out-of-fold ``prediction``s (probabilities for classifiers) against ``y_true``,
    # as Python code; ``CLASSES`` are the sorted labels, the order of the probability columns
    of_prediction: str

    def natural(self, scorer_value: float) -> float:
        """The metric as people quote it: scikit-learn negates losses (neg_rmse); undo that."""
        return -scorer_value if self.scorer.startswith("neg_") else scorer_value


_CLASSIFICATION = frozenset({"binary", "multiclass"})
_REGRESSION = frozenset({"regression"})
_LABELS = "CLASSES[prediction.argmax(axis=1)]"
METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("roc_auc", "roc_auc", True, frozenset({"binary"}), "roc_auc_score",
               "roc_auc_score(y_true, prediction[:, 1])"),
        Metric("roc_auc_ovr", "roc_auc_ovr", True, frozenset({"multiclass"}), "roc_auc_score",
               'roc_auc_score(y_true, prediction, multi_class="ovr", labels=CLASSES)'),
        Metric("log_loss", "neg_log_loss", False, _CLASSIFICATION, "log_loss",
               "log_loss(y_true, prediction, labels=CLASSES)"),
        Metric("accuracy", "accuracy", True, _CLASSIFICATION, "accuracy_score",
               f"accuracy_score(y_true, {_LABELS})"),
        Metric("balanced_accuracy", "balanced_accuracy", True, _CLASSIFICATION, "balanced_accuracy_score",
               f"balanced_accuracy_score(y_true, {_LABELS})"),
        Metric("f1_macro", "f1_macro", True, _CLASSIFICATION, "f1_score",
               f'f1_score(y_true, {_LABELS}, average="macro")'),
        Metric("rmse", "neg_root_mean_squared_error", False, _REGRESSION, "root_mean_squared_error",
               "root_mean_squared_error(y_true, prediction)"),
        Metric("mae", "neg_mean_absolute_error", False, _REGRESSION, "mean_absolute_error",
               "mean_absolute_error(y_true, prediction)"),
        Metric("rmsle", "neg_root_mean_squared_log_error", False, _REGRESSION, "root_mean_squared_log_error",
               "root_mean_squared_log_error(y_true, prediction)"),
        Metric("r2", "r2", True, _REGRESSION, "r2_score", "r2_score(y_true, prediction)"),
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
