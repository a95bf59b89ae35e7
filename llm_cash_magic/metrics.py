"""Scoring metrics: which ones each task accepts, their scikit-learn scorer, and direction."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from .errors import CashError

TASKS = ("binary", "multiclass", "regression")
T = TypeVar("T")


@dataclass(frozen=True)
class Metric:
    name: str
    scorer: str  # a scikit-learn scoring string
    greater_is_better: bool
    tasks: frozenset[str]
    function: str  # the sklearn.metrics function behind it
    # the metric of out-of-fold ``prediction``s (probabilities for classifiers) against ``y_true``,
    # as Python code; ``CASH_CLASSES`` (a name the generated code defines) are the sorted labels, the
    # order of the probability columns
    of_prediction: str

    def natural(self, scorer_value: float) -> float:
        """The metric as people quote it: scikit-learn negates losses (neg_rmse); undo that."""
        return -scorer_value if self.scorer.startswith("neg_") else scorer_value

    # The one definition of "better": every ranking, best-so-far and comparison goes through these.
    def signed(self, score: float | None) -> float:
        """``score`` on a scale where higher is better whatever the metric; a missing or non-finite
        score (a failed fit) is ``-inf``, worse than any other."""
        if score is None or not np.isfinite(score):
            return -np.inf
        return float(score) if self.greater_is_better else -float(score)

    def is_better(self, score: float | None, than: float | None) -> bool:
        """Whether ``score`` beats ``than`` (anything beats a missing score)."""
        return self.signed(score) > self.signed(than)

    def ranked(self, items: Iterable[T], score: Callable[[T], float | None] = lambda x: x) -> list[T]:
        """``items`` best first by ``score`` (stable: ties keep their order)."""
        return sorted(items, key=lambda item: -self.signed(score(item)))

    def best(self, items: Iterable[T], score: Callable[[T], float | None] = lambda x: x) -> T | None:
        """The item with the best ``score`` (the first of equals), or None when there is none."""
        ranked = self.ranked(items, score)
        return ranked[0] if ranked else None

    def error_cut(self, score: float | None, reference: float) -> float:
        """The share of ``reference``'s error that ``score`` removes (negative: more error; AUC's
        error is 1 − AUC); NaN for a missing score or a reference without error."""
        if score is None:
            return np.nan
        error = (lambda s: 1.0 - s) if self.greater_is_better else (lambda s: s)
        base = error(reference)
        return (base - error(score)) / base if base > 0 else np.nan


_CLASSIFICATION = frozenset({"binary", "multiclass"})
_REGRESSION = frozenset({"regression"})
_LABELS = "CASH_CLASSES[prediction.argmax(axis=1)]"
METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            "roc_auc",
            "roc_auc",
            True,
            frozenset({"binary"}),
            "roc_auc_score",
            "roc_auc_score(y_true, prediction[:, 1])",
        ),
        Metric(
            "roc_auc_ovr",
            "roc_auc_ovr",
            True,
            frozenset({"multiclass"}),
            "roc_auc_score",
            'roc_auc_score(y_true, prediction, multi_class="ovr", labels=CASH_CLASSES)',
        ),
        Metric(
            "log_loss",
            "neg_log_loss",
            False,
            _CLASSIFICATION,
            "log_loss",
            "log_loss(y_true, prediction, labels=CASH_CLASSES)",
        ),
        Metric("accuracy", "accuracy", True, _CLASSIFICATION, "accuracy_score", f"accuracy_score(y_true, {_LABELS})"),
        Metric(
            "balanced_accuracy",
            "balanced_accuracy",
            True,
            _CLASSIFICATION,
            "balanced_accuracy_score",
            f"balanced_accuracy_score(y_true, {_LABELS})",
        ),
        Metric(
            "f1_macro", "f1_macro", True, _CLASSIFICATION, "f1_score", f'f1_score(y_true, {_LABELS}, average="macro")'
        ),
        Metric(
            "rmse",
            "neg_root_mean_squared_error",
            False,
            _REGRESSION,
            "root_mean_squared_error",
            "root_mean_squared_error(y_true, prediction)",
        ),
        Metric(
            "mae",
            "neg_mean_absolute_error",
            False,
            _REGRESSION,
            "mean_absolute_error",
            "mean_absolute_error(y_true, prediction)",
        ),
        Metric(
            "rmsle",
            "neg_root_mean_squared_log_error",
            False,
            _REGRESSION,
            "root_mean_squared_log_error",
            "root_mean_squared_log_error(y_true, prediction)",
        ),
        Metric("r2", "r2", True, _REGRESSION, "r2_score", "r2_score(y_true, prediction)"),
    )
}

DEFAULT_METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}
TRIVIAL = "trivial"  # the reference that predicts the class frequencies (or the mean), whatever the features


def metrics_for(task: str) -> list[str]:
    return [name for name, m in METRICS.items() if task in m.tasks]


def get_metric(name: str, task: str) -> Metric:
    """The metric called ``name``, checked against ``task``; a CashError names the allowed ones."""
    metric = METRICS.get(name)
    if metric is None or task not in metric.tasks:
        allowed = ", ".join(metrics_for(task))
        raise CashError(f"metric={name!r} is not available for {task} tasks; use one of: {allowed}")
    return metric


def percentiles(scores: list[float | None], reference: list[float | None], metric: Metric) -> np.ndarray:
    """Each score's percentile among ``reference`` (share beaten, ties count half), in [0, 100].

    Missing scores (failed or timed-out fits) lose to everything; our analogue of the paper's
    leaderboard p_rank, and how history and knowledge base alike rank a task's configurations.
    """
    ref = np.array([metric.signed(r) for r in reference])
    out = []
    for s in scores:
        value = metric.signed(s)
        out.append(100.0 * ((ref < value).sum() + 0.5 * (ref == value).sum()) / len(ref))
    return np.array(out)
