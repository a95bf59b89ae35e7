"""Model families and their typed hyperparameter spaces; validation and projection onto them.

Everything a recommender says passes through ``validate`` before it can reach code generation:
unknown families are rejected, unknown names dropped, values coerced to their type and projected
onto the valid range, and each repair is reported as a note. Estimators are imported lazily.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import CashError

CLASSIFICATION = ("binary", "multiclass")


@dataclass(frozen=True)
class Param:
    """One hyperparameter: type, valid range or choices, library default, and a prompt grid."""

    name: str
    type: str  # "int" | "float" | "bool" | "categorical"
    default: Any
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()
    grid: tuple = ()  # the discrete values offered in prompts, as in the paper
    nullable: bool = False  # None is valid, e.g. "no depth limit"
    no_limit: Any = None  # the number the library reads as "no limit" (LightGBM's max_depth -1), if any
    tasks: tuple[str, ...] | None = None  # None: every task of the family
    task_defaults: dict = field(default_factory=dict)  # library defaults that differ by task
    help: str = ""
    estimator_arg: bool = True  # False: the generated code acts on it (early stopping), not the estimator

    def applies_to(self, task: str | None) -> bool:
        return task is None or self.tasks is None or task in self.tasks

    def default_for(self, task: str | None) -> Any:
        return self.task_defaults.get(task, self.default)

    def describe(self) -> dict:
        """A JSON description for prompts and UIs."""
        out: dict[str, Any] = {"type": self.type, "default": self.default}
        if self.type in ("int", "float"):
            out.update(low=self.low, high=self.high, log=self.log)
        if self.choices:
            out["choices"] = list(self.choices)
        if self.grid:
            out["grid"] = list(self.grid)
        if self.nullable:
            out["nullable"] = True
        if self.help:
            out["help"] = self.help
        return out

    def coerce(self, value: Any) -> tuple[Any, str | None]:
        """``value`` made valid: (valid value, note saying what changed or None)."""
        if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null")):
            if self.nullable or None in self.choices:
                return None, None
            return self._fallback(value, "may not be null")
        if self.type == "bool":
            return self._coerce_bool(value)
        if self.type == "categorical":
            return self._coerce_choice(value)
        return self._coerce_number(value)

    def _fallback(self, value: Any, problem: str) -> tuple[Any, str]:
        return self.default, f"{self.name}={_show(value)} {problem}; used the default {self.default!r}"

    def _coerce_bool(self, value):
        if isinstance(value, bool):
            return value, None
        text = str(value).strip().lower()
        if text in ("true", "yes", "1", "1.0"):
            return True, f"{self.name}={_show(value)} read as True"
        if text in ("false", "no", "0", "0.0"):
            return False, f"{self.name}={_show(value)} read as False"
        return self._fallback(value, "is not a boolean")

    def _coerce_choice(self, value):
        number = _as_number(value) if not isinstance(value, str) else None
        numeric = [c for c in self.choices if isinstance(c, (int, float)) and not isinstance(c, bool)]
        for choice in self.choices:
            if choice == value and (number is None) == (choice not in numeric):
                return choice, None
        text = "-".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
        for choice in self.choices:
            if str(choice).lower() == text.strip().lower():
                return choice, f"{self.name}={_show(value)} read as {choice!r}"
        number = _as_number(value)
        if number is not None and numeric:
            nearest = min(numeric, key=lambda c: self._distance(number, c))
            return nearest, f"{self.name}={_show(value)} is not a choice; projected to {nearest!r}"
        layers = _layers(value)
        if layers and all(isinstance(c, str) and _layers(c) for c in self.choices):  # hidden_layer_sizes
            nearest = min(self.choices, key=lambda c: _layer_distance(layers, _layers(c)))
            return nearest, f"{self.name}={_show(value)} is not a choice; projected to {nearest!r}"
        allowed = ", ".join(repr(c) for c in self.choices)
        return self._fallback(value, f"is not one of {allowed}")

    def _coerce_number(self, value):
        number = _as_number(value)
        if number is None or math.isnan(number):
            return self._fallback(value, f"is not {'an integer' if self.type == 'int' else 'a number'}")
        note = None
        projected = min(max(number, self.low), self.high)
        if projected != number:
            note = f"{self.name}={_show(value)} is outside [{self.low:g}, {self.high:g}]; projected to {projected:g}"
        if self.type == "int":
            rounded = int(round(projected))
            if rounded != projected and note is None:
                note = f"{self.name}={_show(value)} rounded to {rounded}"
            return rounded, note
        if note is None and isinstance(value, str):
            note = f"{self.name}={_show(value)} read as {projected:g}"
        return float(projected), note

    def _distance(self, a: float, b: float) -> float:
        if self.log and a > 0 and b > 0:
            return abs(math.log(a) - math.log(b))
        return abs(a - b)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:  # an integer beyond any float (JSON allows 400 digits): far out of every range
            return math.inf if value > 0 else -math.inf
    try:
        return float(str(value).strip().replace("_", ""))
    except ValueError:
        return None


def _layers(value: Any) -> tuple[int, ...] | None:
    """Neurons per hidden layer in (50,), [512, 256], "512-256" or "(50,)"; None for anything else."""
    text = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    if not re.fullmatch(r"[\s(\[]*\d+(\s*[-,]\s*\d+)*[\s,)\]]*", text):
        return None
    sizes = tuple(int(n) for n in re.findall(r"\d+", text))
    return sizes if all(sizes) else None


def _layer_distance(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, float]:
    """How far apart two layer specs are: first in depth, then in log size over their common layers."""
    return abs(len(a) - len(b)), sum(abs(math.log(x) - math.log(y)) for x, y in zip(a, b, strict=False))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class Estimator:
    """The class a family uses for one task kind, and constructor arguments we always set."""

    module: str
    cls: str
    fixed: dict = field(default_factory=dict)
    seed_param: str | None = "random_state"

    def load(self) -> type:
        return getattr(importlib.import_module(self.module), self.cls)


@dataclass(frozen=True)
class Family:
    name: str
    label: str
    classifier: Estimator
    regressor: Estimator
    params: tuple[Param, ...]
    # "native" (pandas categoricals: LightGBM), "catboost" (labels as strings), "ordinal" (integer
    # codes: sklearn trees, XGBoost), "scaled" (one-hot + scaling)
    preprocessing: str
    aliases: tuple[str, ...] = ()
    param_aliases: dict = field(default_factory=dict)
    requires: str | None = None  # the optional package it needs (pip install "llm_cash_magic[<it>]")
    rounds: str | None = None  # the boosting rounds parameter, a cap when the generated code stops early

    @property
    def installed(self) -> bool:
        """Whether its library can be imported here (checked without importing it)."""
        return self.requires is None or importlib.util.find_spec(self.requires) is not None

    def stops_early(self, params: dict) -> bool:
        """Whether the generated code stops this configuration's boosting early on held-out rows."""
        return self.rounds is not None and bool(params.get("early_stopping"))

    def estimator(self, task: str) -> Estimator:
        return self.regressor if task == "regression" else self.classifier

    def params_for(self, task: str | None) -> list[Param]:
        return [p for p in self.params if p.applies_to(task)]

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def defaults(self, task: str) -> dict:
        """The library's own defaults for every tuned hyperparameter."""
        return {p.name: p.default_for(task) for p in self.params_for(task)}


_CLASS_WEIGHT = Param(
    "class_weight",
    "categorical",
    None,
    choices=(None, "balanced"),
    tasks=CLASSIFICATION,
    help="'balanced' reweights classes inversely to their frequency",
)
_NO_LIMIT = "null means no limit"
_ROUNDS_HELP = (
    "boosting rounds; with early_stopping a cap. Without it every round is trained: thousands of rounds of "
    "hundreds of leaves at a low learning_rate take minutes even on a few thousand rows"
)
_EARLY_STOPPING = Param(
    "early_stopping",
    "bool",
    False,
    estimator_arg=False,
    help="hold out a tenth of the training rows and stop adding rounds once 50 have not improved the score "
    "there; the final fit on all rows uses the rounds the folds kept",
)

FAMILIES: dict[str, Family] = {}


def _register(family: Family) -> None:
    FAMILIES[family.name] = family


_register(
    Family(
        name="lightgbm",
        label="LightGBM",
        classifier=Estimator("lightgbm", "LGBMClassifier", {"verbose": -1}),
        regressor=Estimator("lightgbm", "LGBMRegressor", {"verbose": -1}),
        preprocessing="native",
        rounds="n_estimators",
        aliases=("lgbm", "lgb", "lgbmclassifier", "lgbmregressor", "lightgbmclassifier", "lightgbmregressor"),
        param_aliases={
            "num_iterations": "n_estimators",
            "num_boost_round": "n_estimators",
            "n_iter": "n_estimators",
            "eta": "learning_rate",
            "shrinkage_rate": "learning_rate",
            "min_data_in_leaf": "min_child_samples",
            "min_child_weight_samples": "min_child_samples",
            "bagging_fraction": "subsample",
            "bagging_freq": "subsample_freq",
            "feature_fraction": "colsample_bytree",
            "colsample_bynode": "colsample_bytree",
            "lambda_l1": "reg_alpha",
            "lambda_l2": "reg_lambda",
            "min_gain_to_split": "min_split_gain",
            "max_leaves": "num_leaves",
        },
        params=(
            Param(
                "n_estimators",
                "int",
                100,
                10,
                2000,
                log=True,
                grid=(50, 100, 200, 300, 500, 1000, 2000),
                help=_ROUNDS_HELP,
            ),
            Param("learning_rate", "float", 0.1, 0.001, 1.0, log=True, grid=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3)),
            Param("num_leaves", "int", 31, 2, 1024, log=True, grid=(7, 15, 31, 63, 127, 255)),
            Param("max_depth", "int", -1, -1, 64, grid=(-1, 3, 4, 6, 8, 12), no_limit=-1, help="-1 means no limit"),
            Param("min_child_samples", "int", 20, 1, 1000, log=True, grid=(1, 5, 10, 20, 50, 100, 200)),
            Param(
                "subsample",
                "float",
                1.0,
                0.1,
                1.0,
                grid=(0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
                help="row fraction per tree; used only when subsample_freq > 0",
            ),
            Param("subsample_freq", "int", 0, 0, 10, grid=(0, 1, 5)),
            Param("colsample_bytree", "float", 1.0, 0.1, 1.0, grid=(0.3, 0.5, 0.7, 0.8, 0.9, 1.0)),
            Param("reg_alpha", "float", 0.0, 0.0, 100.0, grid=(0.0, 0.001, 0.01, 0.1, 1.0, 10.0)),
            Param("reg_lambda", "float", 0.0, 0.0, 100.0, grid=(0.0, 0.001, 0.01, 0.1, 1.0, 10.0)),
            Param("min_split_gain", "float", 0.0, 0.0, 10.0, grid=(0.0, 0.01, 0.1, 0.5, 1.0)),
            Param("max_bin", "int", 255, 15, 1023, log=True, grid=(63, 127, 255, 511)),
            Param("extra_trees", "bool", False, help="random split thresholds: smoother, less prone to overfit"),
            _CLASS_WEIGHT,
            _EARLY_STOPPING,
        ),
    )
)

_register(
    Family(
        name="hist_gradient_boosting",
        label="HistGradientBoosting",
        classifier=Estimator("sklearn.ensemble", "HistGradientBoostingClassifier"),
        regressor=Estimator("sklearn.ensemble", "HistGradientBoostingRegressor"),
        preprocessing="ordinal",
        aliases=(
            "hgb",
            "hgbt",
            "histgb",
            "histgbm",
            "histgradientboostingclassifier",
            "histgradientboostingregressor",
            "sklearnhgb",
        ),
        param_aliases={
            "n_estimators": "max_iter",
            "num_leaves": "max_leaf_nodes",
            "min_child_samples": "min_samples_leaf",
            "reg_lambda": "l2_regularization",
            "max_bin": "max_bins",
            "colsample_bynode": "max_features",
        },
        params=(
            Param("learning_rate", "float", 0.1, 0.001, 1.0, log=True, grid=(0.01, 0.02, 0.05, 0.1, 0.2, 0.3)),
            Param(
                "max_iter",
                "int",
                100,
                10,
                1000,
                log=True,
                grid=(50, 100, 200, 500, 1000),
                help="most boosting rounds; with early_stopping it stops once a held-out tenth of the training "
                "rows has not improved for 10 rounds",
            ),
            Param("max_leaf_nodes", "int", 31, 2, 1024, log=True, grid=(7, 15, 31, 63, 127, 255)),
            Param("max_depth", "int", None, 1, 64, nullable=True, grid=(None, 3, 4, 6, 8, 12), help=_NO_LIMIT),
            Param("min_samples_leaf", "int", 20, 1, 1000, log=True, grid=(1, 5, 10, 20, 50, 100, 200)),
            Param("l2_regularization", "float", 0.0, 0.0, 100.0, grid=(0.0, 0.001, 0.01, 0.1, 1.0, 10.0)),
            Param(
                "max_features",
                "float",
                1.0,
                0.1,
                1.0,
                grid=(0.3, 0.5, 0.7, 0.9, 1.0),
                help="feature fraction per split",
            ),
            Param("max_bins", "int", 255, 8, 255, grid=(31, 63, 127, 255)),
            Param(
                "early_stopping",
                "categorical",
                "auto",
                choices=("auto", True, False),
                help="stop once a held-out tenth of the training rows stops improving; 'auto' does so above "
                "10,000 rows",
            ),
            _CLASS_WEIGHT,
        ),
    )
)

_TREE_PARAMS = (
    Param("n_estimators", "int", 100, 10, 1000, log=True, grid=(50, 100, 200, 300, 500)),
    Param("max_depth", "int", None, 1, 100, nullable=True, grid=(None, 4, 6, 8, 12, 16, 24), help=_NO_LIMIT),
    Param("min_samples_split", "int", 2, 2, 100, log=True, grid=(2, 5, 10, 20)),
    Param("min_samples_leaf", "int", 1, 1, 100, log=True, grid=(1, 2, 4, 8, 16)),
    Param(
        "max_leaf_nodes",
        "int",
        None,
        2,
        32768,
        log=True,
        nullable=True,
        grid=(None, 64, 256, 1024, 4096),
        help="most leaves per tree; " + _NO_LIMIT,
    ),
    Param(
        "max_features",
        "categorical",
        "sqrt",
        choices=("sqrt", "log2", 0.25, 0.5, 0.75, 1.0),
        task_defaults={"regression": 1.0},
        help="features considered per split (fraction or rule)",
    ),
    Param("criterion", "categorical", "gini", choices=("gini", "entropy", "log_loss"), tasks=CLASSIFICATION),
    Param("class_weight", "categorical", None, choices=(None, "balanced", "balanced_subsample"), tasks=CLASSIFICATION),
)
_TREE_ALIASES = {
    "num_trees": "n_estimators",
    "n_trees": "n_estimators",
    "min_child_samples": "min_samples_leaf",
    "colsample_bynode": "max_features",
}

_register(
    Family(
        name="random_forest",
        label="RandomForest",
        classifier=Estimator("sklearn.ensemble", "RandomForestClassifier", {"n_jobs": -1}),
        regressor=Estimator("sklearn.ensemble", "RandomForestRegressor", {"n_jobs": -1}),
        preprocessing="ordinal",
        aliases=("rf", "randomforestclassifier", "randomforestregressor", "forest"),
        param_aliases=_TREE_ALIASES,
        params=_TREE_PARAMS + (Param("bootstrap", "bool", True),),
    )
)

_register(
    Family(
        name="extra_trees",
        label="ExtraTrees",
        classifier=Estimator("sklearn.ensemble", "ExtraTreesClassifier", {"n_jobs": -1}),
        regressor=Estimator("sklearn.ensemble", "ExtraTreesRegressor", {"n_jobs": -1}),
        preprocessing="ordinal",
        aliases=("et", "extratreesclassifier", "extratreesregressor", "extremelyrandomizedtrees"),
        param_aliases=_TREE_ALIASES,
        params=_TREE_PARAMS + (Param("bootstrap", "bool", False),),
    )
)

_register(
    Family(
        name="linear",
        label="Linear",
        classifier=Estimator("sklearn.linear_model", "LogisticRegression", {"max_iter": 1000}),
        regressor=Estimator("sklearn.linear_model", "Ridge", seed_param=None),
        preprocessing="scaled",
        aliases=(
            "logisticregression",
            "logreg",
            "logistic",
            "ridge",
            "ridgeregression",
            "linearmodel",
            "linearregression",
            "glm",
        ),
        param_aliases={"lambda": "alpha", "l2": "alpha", "reg_lambda": "alpha"},
        params=(
            Param(
                "C",
                "float",
                1.0,
                1e-4,
                1e4,
                log=True,
                grid=(0.001, 0.01, 0.1, 1.0, 10.0, 100.0),
                tasks=CLASSIFICATION,
                help="inverse regularisation strength",
            ),
            _CLASS_WEIGHT,
            Param(
                "alpha",
                "float",
                1.0,
                1e-4,
                1e4,
                log=True,
                grid=(0.001, 0.01, 0.1, 1.0, 10.0, 100.0),
                tasks=("regression",),
                help="L2 regularisation strength",
            ),
        ),
    )
)

_register(
    Family(
        name="knn",
        label="k-nearest neighbours",
        classifier=Estimator("sklearn.neighbors", "KNeighborsClassifier", {"n_jobs": -1}, seed_param=None),
        regressor=Estimator("sklearn.neighbors", "KNeighborsRegressor", {"n_jobs": -1}, seed_param=None),
        preprocessing="scaled",
        aliases=(
            "kneighbors",
            "kneighborsclassifier",
            "kneighborsregressor",
            "knearestneighbors",
            "nearestneighbors",
            "knearestneighbours",
        ),
        param_aliases={"k": "n_neighbors", "neighbors": "n_neighbors"},
        params=(
            Param("n_neighbors", "int", 5, 1, 200, log=True, grid=(3, 5, 10, 15, 25, 50)),
            Param("weights", "categorical", "uniform", choices=("uniform", "distance")),
            Param("p", "categorical", 2, choices=(1, 2), help="1 = Manhattan, 2 = Euclidean distance"),
        ),
    )
)

_register(
    Family(
        name="mlp",
        label="MLP (scikit-learn)",
        classifier=Estimator("sklearn.neural_network", "MLPClassifier"),
        regressor=Estimator("sklearn.neural_network", "MLPRegressor"),
        preprocessing="scaled",
        aliases=("mlpclassifier", "mlpregressor", "skmlp", "neuralnetwork", "neuralnet", "multilayerperceptron"),
        param_aliases={
            "layers": "hidden_layer_sizes",
            "lr": "learning_rate_init",
            "learning_rate": "learning_rate_init",
            "l2": "alpha",
        },
        params=(
            Param(
                "hidden_layer_sizes",
                "categorical",
                "100",
                choices=("32", "64", "100", "128", "256", "64-32", "128-64", "256-128", "100-100"),
                help="neurons per hidden layer, e.g. '128-64' is two layers",
            ),
            Param("activation", "categorical", "relu", choices=("relu", "tanh", "logistic")),
            Param("alpha", "float", 1e-4, 1e-6, 1.0, log=True, grid=(1e-5, 1e-4, 1e-3, 1e-2, 0.1)),
            Param("learning_rate_init", "float", 1e-3, 1e-4, 0.1, log=True, grid=(1e-4, 1e-3, 1e-2)),
            Param("max_iter", "int", 200, 20, 1000, log=True, grid=(100, 200, 500)),
            Param("early_stopping", "bool", False),
        ),
    )
)

_register(
    Family(
        name="xgboost",
        label="XGBoost",
        classifier=Estimator("xgboost", "XGBClassifier", {"tree_method": "hist"}),
        regressor=Estimator("xgboost", "XGBRegressor", {"tree_method": "hist"}),
        preprocessing="ordinal",  # its native categoricals refuse labels unseen in training
        requires="xgboost",
        rounds="n_estimators",
        aliases=("xgb", "xgbclassifier", "xgbregressor", "xgboostclassifier", "xgboostregressor"),
        param_aliases={
            "num_boost_round": "n_estimators",
            "num_round": "n_estimators",
            "eta": "learning_rate",
            "lambda": "reg_lambda",
            "alpha": "reg_alpha",
            "min_split_loss": "gamma",
            "min_split_gain": "gamma",
            "num_leaves": "max_leaves",
        },
        params=(
            Param(
                "n_estimators", "int", 100, 10, 2000, log=True, grid=(50, 100, 200, 500, 1000, 2000), help=_ROUNDS_HELP
            ),
            Param("learning_rate", "float", 0.3, 0.001, 1.0, log=True, grid=(0.01, 0.02, 0.05, 0.1, 0.2, 0.3)),
            Param("max_depth", "int", 6, 0, 20, grid=(0, 3, 4, 6, 8, 10), no_limit=0, help="0 means no limit"),
            Param("max_leaves", "int", 0, 0, 1024, grid=(0, 15, 31, 63, 255), no_limit=0, help="0 means no limit"),
            Param("grow_policy", "categorical", "depthwise", choices=("depthwise", "lossguide")),
            Param("min_child_weight", "float", 1.0, 0.001, 128.0, log=True, grid=(0.01, 0.1, 1.0, 5.0, 20.0)),
            Param("subsample", "float", 1.0, 0.1, 1.0, grid=(0.5, 0.7, 0.8, 0.9, 1.0)),
            Param("colsample_bytree", "float", 1.0, 0.1, 1.0, grid=(0.3, 0.5, 0.7, 0.8, 1.0)),
            Param("colsample_bylevel", "float", 1.0, 0.1, 1.0, grid=(0.5, 0.7, 1.0)),
            Param("reg_alpha", "float", 0.0, 0.0, 100.0, grid=(0.0, 0.001, 0.01, 0.1, 1.0, 10.0)),
            Param("reg_lambda", "float", 1.0, 0.0, 100.0, grid=(0.0, 0.1, 1.0, 5.0, 10.0)),
            Param("gamma", "float", 0.0, 0.0, 10.0, grid=(0.0, 0.1, 0.5, 1.0)),
            Param("max_bin", "int", 256, 16, 1024, log=True, grid=(64, 128, 256, 512)),
            _EARLY_STOPPING,
        ),
    )
)

_register(
    Family(
        name="catboost",
        label="CatBoost",
        classifier=Estimator(
            "catboost", "CatBoostClassifier", {"verbose": 0, "allow_writing_files": False}, seed_param="random_seed"
        ),
        regressor=Estimator(
            "catboost", "CatBoostRegressor", {"verbose": 0, "allow_writing_files": False}, seed_param="random_seed"
        ),
        preprocessing="catboost",
        requires="catboost",
        rounds="iterations",
        aliases=("cat", "cb", "catboostclassifier", "catboostregressor"),
        param_aliases={
            "n_estimators": "iterations",
            "num_boost_round": "iterations",
            "num_trees": "iterations",
            "eta": "learning_rate",
            "max_depth": "depth",
            "reg_lambda": "l2_leaf_reg",
            "min_child_samples": "min_data_in_leaf",
            "max_bin": "border_count",
        },
        params=(
            Param(
                "iterations", "int", 1000, 10, 3000, log=True, grid=(100, 300, 500, 1000, 2000, 3000), help=_ROUNDS_HELP
            ),
            Param(
                "learning_rate",
                "float",
                None,
                0.001,
                1.0,
                log=True,
                nullable=True,
                grid=(None, 0.01, 0.03, 0.05, 0.1, 0.2),
                help="null lets CatBoost choose from the data's size",
            ),
            Param("depth", "int", 6, 1, 10, grid=(4, 5, 6, 7, 8, 10)),
            Param("l2_leaf_reg", "float", 3.0, 0.01, 100.0, log=True, grid=(0.5, 1.0, 3.0, 5.0, 10.0)),
            Param("random_strength", "float", 1.0, 0.0, 20.0, grid=(0.0, 0.5, 1.0, 2.0, 5.0)),
            Param("border_count", "int", 254, 16, 1024, log=True, grid=(32, 64, 128, 254)),
            Param("grow_policy", "categorical", "SymmetricTree", choices=("SymmetricTree", "Depthwise", "Lossguide")),
            Param(
                "min_data_in_leaf",
                "int",
                1,
                1,
                500,
                log=True,
                grid=(1, 5, 20, 100),
                help="used by the Depthwise and Lossguide policies",
            ),
            Param(
                "one_hot_max_size",
                "int",
                None,
                1,
                255,
                log=True,
                nullable=True,
                grid=(None, 2, 10, 64),
                help="categoricals with at most this many levels are one-hot encoded; null lets CatBoost choose",
            ),
            Param(
                "max_ctr_complexity",
                "int",
                None,
                1,
                8,
                nullable=True,
                grid=(None, 1, 2, 4),
                help="most categoricals combined into one feature; null lets CatBoost choose",
            ),
            Param(
                "auto_class_weights",
                "categorical",
                None,
                choices=(None, "Balanced", "SqrtBalanced"),
                tasks=CLASSIFICATION,
                help="'Balanced' reweights classes inversely to their frequency",
            ),
            _EARLY_STOPPING,
        ),
    )
)

_MANAGED = (
    "random_state",
    "random_seed",
    "seed",
    "n_jobs",
    "thread_count",
    "verbose",
    "verbosity",
    "num_threads",
    "nthread",
    "silent",
    "logging_level",
)


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


_FAMILY_KEYS = {_key(alias): f.name for f in FAMILIES.values() for alias in (f.name, f.label, *f.aliases)}


def family(name: str) -> Family:
    """The family called ``name`` or one of its aliases (``LGBMClassifier`` → lightgbm)."""
    found = _FAMILY_KEYS.get(_key(name))
    if found is None:
        raise CashError(f"unknown model family {name!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[found]


def families_for(task: str) -> list[Family]:
    """The families that can train here: every built-in one, and the optional ones installed."""
    return [f for f in FAMILIES.values() if f.installed]


def require_installed(name: str) -> Family:
    """The family ``name``, or a CashError saying what to install when its library is missing."""
    fam = family(name)
    if not fam.installed:
        raise CashError(f'{fam.label} is not installed here: pip install "llm_cash_magic[{fam.requires}]"')
    return fam


@dataclass(frozen=True)
class Config:
    """A family and a complete, valid set of its hyperparameters for one task."""

    family: str
    params: dict
    notes: tuple[str, ...] = ()


def validate(family_name: str, params: dict | None, task: str | None = None, n_rows: int | None = None) -> Config:
    """Make ``params`` valid for ``family_name`` (and ``task``): coerce, project, fill defaults.

    Unknown names are dropped and aliases or names in another case renamed, each with a note (an
    exact name wins over an alias of it); missing names take the library default. ``n_rows``
    (training rows) caps parameters that cannot exceed it. Raises CashError for an unknown family
    or params that are not a mapping.
    """
    fam = family(family_name)
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise CashError(f"hyperparameters for {fam.name} must be a mapping, got {type(params).__name__}")
    notes: list[str] = []
    if _key(family_name) != _key(fam.name):
        notes.append(f"family {family_name!r} read as {fam.name!r}")
    valid = {p.name: p for p in fam.params_for(task)}
    every = {p.name for p in fam.params}
    given: dict[str, Any] = {}
    named = [(*_param_name(fam, raw_name), raw_name, value) for raw_name, value in params.items()]
    for name, renamed, raw_name, value in sorted(named, key=lambda n: n[1] is not None):  # exact names first
        if name in _MANAGED:
            notes.append(f"dropped {name!r}: seeds and threads are set by the run")
        elif name in given:
            notes.append(f"dropped {_show(raw_name)}: {name!r} is given too")
        elif name in valid:
            if renamed:
                notes.append(renamed)
            given[name], note = valid[name].coerce(value)
            if note:
                notes.append(note)
        elif name in every:
            notes.append(f"dropped {name!r}: it does not apply to {task} tasks")
        else:
            notes.append(f"dropped unknown hyperparameter {_show(raw_name)} for {fam.name}")
    out = {name: given.get(name, p.default_for(task)) for name, p in valid.items()}
    if n_rows and fam.name == "knn" and out["n_neighbors"] > n_rows:
        notes.append(f"n_neighbors={out['n_neighbors']} exceeds the {n_rows} training rows; capped")
        out["n_neighbors"] = n_rows
    return Config(fam.name, out, tuple(notes))


def _param_name(fam: Family, raw_name: Any) -> tuple[str, str | None]:
    """The hyperparameter ``raw_name`` means: itself, a name of ``fam`` in another case, or the one
    it is an alias of; with a note when renamed."""
    name = str(raw_name)
    if name in _MANAGED or any(p.name == name for p in fam.params):
        return name, None
    in_any_case = {p.name.lower(): p.name for p in fam.params}.get(name.lower())
    meant = in_any_case or fam.param_aliases.get(name) or fam.param_aliases.get(name.lower())
    if meant is None:
        return name.lower() if name.lower() in _MANAGED else name, None
    return meant, f"renamed {name!r} to {meant!r}"


def estimator_kwargs(config: Config) -> dict:
    """Constructor arguments for the estimator: the params in the library's own types (those the
    generated code acts on itself, such as early stopping of LightGBM, are not among them)."""
    fam = family(config.family)
    kwargs = {k: v for k, v in config.params.items() if fam.param(k).estimator_arg}
    if config.family == "mlp":
        kwargs["hidden_layer_sizes"] = tuple(int(n) for n in kwargs["hidden_layer_sizes"].split("-"))
    return kwargs


def changed_params(family_name: str, params: dict, task: str) -> str:
    """The values that differ from the library's defaults, as Python, floats to 4 significant
    digits (the code keeps every digit); "" when none differ."""
    defaults = family(family_name).defaults(task)
    return ", ".join(
        f"{k}={f'{v:.4g}' if isinstance(v, float) else repr(v)}" for k, v in params.items() if defaults.get(k) != v
    )


def family_of(estimator) -> str | None:
    """The family whose classifier or regressor class ``estimator`` is, if any."""
    cls = type(estimator).__name__
    return next((f.name for f in FAMILIES.values() if cls in (f.classifier.cls, f.regressor.cls)), None)


def params_from_estimator(family_name: str, task: str, estimator) -> dict:
    """The tuned hyperparameters of a fitted or unfitted estimator, in the space's own types; those the
    estimator does not hold (early stopping is the generated code's) are left out."""
    fam = family(family_name)
    raw = estimator.get_params(deep=False)
    params = {}
    for p in fam.params_for(task):
        if p.estimator_arg and p.name in raw:
            params[p.name] = raw[p.name]
        elif p.estimator_arg and (p.nullable or None in p.choices):
            params[p.name] = None  # CatBoost leaves unset (None) arguments out of get_params
    if isinstance(params.get("hidden_layer_sizes"), (tuple, list)):
        params["hidden_layer_sizes"] = "-".join(str(n) for n in params["hidden_layer_sizes"])
    return params


def describe(task: str) -> dict:
    """Every family's hyperparameters for ``task`` as JSON (what prompts and UIs show)."""
    return {
        f.name: {
            "estimator": f.estimator(task).cls,
            "params": {p.name: p.describe() | {"default": p.default_for(task)} for p in f.params_for(task)},
        }
        for f in families_for(task)
    }
