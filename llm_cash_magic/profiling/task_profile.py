"""The TaskProfile: the compact, privacy-safe description of a dataset that every recommender sees.

It keeps column names, kinds and aggregate numbers only: never a cell value, never a category
label. ``frames`` builds one from a pandas DataFrame; the history, the knowledge base and the
prompts read it back with ``from_dict``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

HIGH_CARDINALITY = 50  # a categorical with more levels than this is "high-cardinality"
SINGLE_CELL_STATS = ("target_min", "target_max", "target_median")  # the value of one row (two for a median)
FEATURE_KINDS = ("numeric", "boolean", "categorical", "datetime")
EXCLUDED_KINDS = ("id", "constant", "text", "unsupported")
PREDICTION_TYPE = {
    "binary": "binary classification",
    "multiclass": "multi-class classification",
    "regression": "regression",
}


@dataclass(frozen=True)
class Column:
    """One column of the frame: its kind and aggregate numbers, never its values."""

    name: str
    kind: str  # one of FEATURE_KINDS or EXCLUDED_KINDS
    missing: float  # fraction of rows missing
    n_unique: int  # distinct non-missing values (on the sample for large string columns; a string
    # column whose sampled values are all distinct counts as distinct in every row)
    why: str = ""  # why an excluded column is excluded


@dataclass(frozen=True)
class TaskProfile:
    """What a recommender may know about a dataset. JSON-serialisable via ``to_dict``."""

    target: str
    task: str
    metric: str
    n_rows: int
    n_rows_dropped: int  # rows whose target was missing (or infinite)
    columns: tuple[Column, ...]
    numeric_range_avg: float | None
    numeric_skew_mean_abs: float | None
    n_skewed: int  # numeric features with |skewness| > 1
    target_stats: dict = field(compare=False)
    n_missing_values: int = 0
    sample_rows: int = 0
    fingerprint: str = ""

    # ---- derived views -------------------------------------------------------------
    def names(self, *kinds: str) -> list[str]:
        """Column names of the given kinds, in frame order."""
        return [c.name for c in self.columns if c.kind in kinds]

    def count(self, *kinds: str) -> int:
        return sum(c.kind in kinds for c in self.columns)

    @property
    def features(self) -> list[Column]:
        return [c for c in self.columns if c.kind in FEATURE_KINDS]

    @property
    def n_features(self) -> int:
        return len(self.features)

    @property
    def is_classification(self) -> bool:
        return self.task != "regression"

    @property
    def numbers_as_classes(self) -> bool:
        """Whether a target of a few numbers (a rating, a count) was read as classes, which
        ``task=regression`` would read as one number: the profile and a poor result say so."""
        return self.task == "multiclass" and bool(self.target_stats.get("numeric_labels"))

    @property
    def density(self) -> float:
        cells = self.n_rows * max(self.n_features, 1)
        return 1.0 - self.n_missing_values / cells if cells else 1.0

    @property
    def cardinality(self) -> dict | None:
        levels = [c.n_unique for c in self.columns if c.kind == "categorical"]
        if not levels:
            return None
        return {
            "min": min(levels),
            "max": max(levels),
            "median": float(np.median(levels)),
            "mode": Counter(levels).most_common(1)[0][0],
        }

    @property
    def n_high_cardinality(self) -> int:
        return sum(c.kind == "categorical" and c.n_unique > HIGH_CARDINALITY for c in self.columns)

    # ---- serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["columns"] = [dataclasses.asdict(c) for c in self.columns]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> TaskProfile:
        data = dict(data)
        data["columns"] = tuple(Column(**c) for c in data["columns"])
        return cls(**data)

    def paper_dict(self, column_names: bool = False) -> dict:
        """The paper's metadata fields (with its names), ID-like columns excluded, plus our extras.

        This is what prompts show. A regression target's min, max and median are single cells of
        the frame, so they show only 2 significant digits (7777.0 → 7800.0): coarse aggregates.
        """
        features: dict = {
            "total": self.n_features,
            "numeric_features": self.count("numeric"),
            "categorical_features": self.count("categorical", "boolean"),
            "numerical_range_avg": _round(self.numeric_range_avg),
        }
        if self.cardinality:
            features["unique_values_per_categorical"] = self.cardinality
        details = {
            "boolean_features": self.count("boolean"),
            "datetime_features": self.count("datetime"),
            "high_cardinality_categoricals": self.n_high_cardinality,
            "numeric_skewness_mean_abs": _round(self.numeric_skew_mean_abs),
            "highly_skewed_numeric_features": self.n_skewed,
            "dropped_id_like_columns": self.count("id"),
            "dropped_constant_columns": self.count("constant"),
            "dropped_free_text_columns": self.count("text"),
        }
        target = {k: _round(v, 2 if k in SINGLE_CELL_STATS else 4) for k, v in self.target_stats.items()}
        dataset = {
            "prediction_type": PREDICTION_TYPE[self.task],
            "score_name": self.metric,
            "n_train": self.n_rows,
            "features": features,
            "feature_details": details,
            "missing_data": {
                "has_missing": self.n_missing_values > 0,
                "total_missing_values": self.n_missing_values,
                "data_density": round(self.density, 4),
            },
            "target_values": target,
        }
        if column_names:
            dataset["columns"] = {kind: self.names(kind) for kind in FEATURE_KINDS + EXCLUDED_KINDS if self.count(kind)}
        return {"dataset": dataset}

    def to_markdown(self, column_names: bool = False) -> str:
        """The profile in the paper's Markdown layout (headers per section, ``**key**: value``)."""
        return _markdown(self.paper_dict(column_names), title="# Task profile")

    # ---- nearest-task search --------------------------------------------------------------
    def meta_features(self) -> dict[str, float]:
        """Numeric description for nearest-task search; sizes on a log scale so 1k vs 2k ≈ 1M vs 2M."""
        n_feat = max(self.n_features, 1)
        rows = self.n_rows
        card = self.cardinality
        stats = self.target_stats
        return {
            "log_rows": math.log10(rows + 1),
            "log_features": math.log10(self.n_features + 1),
            "log_rows_per_feature": math.log10((rows + 1) / n_feat),
            "numeric_share": self.count("numeric") / n_feat,
            "categorical_share": self.count("categorical", "boolean") / n_feat,
            "datetime_share": self.count("datetime") / n_feat,
            "log_median_cardinality": math.log10(1 + (card["median"] if card else 0)),
            "high_cardinality_share": self.n_high_cardinality / n_feat,
            "missing_share": 1.0 - self.density,
            "skew_mean_abs": min(self.numeric_skew_mean_abs or 0.0, 10.0) / 10.0,
            "is_binary": float(self.task == "binary"),
            "is_multiclass": float(self.task == "multiclass"),
            "is_regression": float(self.task == "regression"),
            "log_classes": math.log10(stats.get("n_classes", 1)),
            "minority_share": stats.get("minority_share", 0.0),
            "target_skew": min(abs(stats.get("skewness", 0.0)), 10.0) / 10.0,
        }

    def meta_feature_vector(self) -> np.ndarray:
        return np.array(list(self.meta_features().values()), dtype=float)

    @classmethod
    def meta_feature_names(cls) -> tuple[str, ...]:
        """The names of ``meta_features``, in the order of ``meta_feature_vector``."""
        return _META_FEATURE_NAMES


def _round(value, digits: int = 4):
    """Round to significant digits for display; full precision stays in ``to_dict``."""
    if isinstance(value, float) and math.isfinite(value) and value != 0:
        return float(f"{value:.{digits}g}")
    return value


def _markdown(data: dict, title: str, level: int = 2) -> str:
    lines = [title]
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(_markdown(value, "#" * level + f" {key}", level + 1))
        elif isinstance(value, list):
            lines.append(f"**{key}**: " + ", ".join(json.dumps(v) for v in value))
        else:
            lines.append(f"**{key}**: {json.dumps(value) if isinstance(value, bool) else value}")
    return "\n".join(lines)


# Knowledge bases store each entry's meta-features, so that loading one reads no profile: bump this
# when anything ``meta_features`` reads changes (a name, a formula, a constant such as
# HIGH_CARDINALITY or FEATURE_KINDS), and a stored vector of another version is recomputed from its
# profile.
META_FEATURES_VERSION = 1

_META_FEATURE_NAMES = (
    "log_rows",
    "log_features",
    "log_rows_per_feature",
    "numeric_share",
    "categorical_share",
    "datetime_share",
    "log_median_cardinality",
    "high_cardinality_share",
    "missing_share",
    "skew_mean_abs",
    "is_binary",
    "is_multiclass",
    "is_regression",
    "log_classes",
    "minority_share",
    "target_skew",
)
