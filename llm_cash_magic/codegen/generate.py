"""Config → readable, self-contained scikit-learn / LightGBM training code.

The code is plain Python a user could have written: a Pipeline whose ColumnTransformer fits the
family, every hyperparameter spelled out, fixed seeds, cross-validation with the profile's metric,
a final fit on all rows. Every name or string that comes from data or a recommender is emitted
with ``repr`` (a Python literal) and never spliced into code; comments carry ``repr`` text too.

It runs in the user's namespace, so besides its imports every name it defines starts with
``cash_`` (``CASH_`` for constants) and its temporaries live inside ``cash_train``: a user's
``train``, ``X`` or ``model`` is never overwritten.
"""

from __future__ import annotations

import keyword
import math
import sys
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from importlib import metadata

from ..errors import CashError
from ..metrics import METRICS
from ..profiling import TaskProfile
from ..space import Config, estimator_kwargs, family, validate
from ..text import plural
from .blend import BLEND_METHODS, blend_label, blend_members, check_method, emit_ensemble, selection_lines
from .preprocess import (
    BAD_NAME,
    HELPERS,
    PANDAS_OUT,
    PREPROCESS_COMMENTS,
    PREPROCESS_NAMES,
    Member,
    Raw,
    emit_preprocess,
    list_code,
    pipeline_code,
    preprocessing,
)
from .training import (
    HELD_OUT,
    Training,
    scored_rows,
    splitter_code,
    splitter_name,
    stopping_helper,
    stopping_imports,
    training_lines,
    validation_words,
)

HGB_AUTO_ROWS = 10_000  # HistGradientBoosting's early_stopping="auto" stops early above this many rows
MIN_HELD_OUT = 10  # fewer held-out rows than this cannot tell one boosting round from the next


def effective_cv(profile: TaskProfile, cv: int) -> tuple[int, str | None]:
    """Folds that the data can support, and a note when fewer than asked; a CashError below 2."""
    limit = min(profile.target_stats["class_counts"]) if profile.is_classification else profile.n_rows
    reason = "the smallest class has" if profile.is_classification else "there are"
    if limit < 2:
        raise CashError(f"cross-validation needs at least 2 folds, but {reason} only {plural(limit, 'row')}")
    if cv <= limit:
        return cv, None
    return limit, f"cv={cv} reduced to {limit}: {reason} only {limit} rows"


def as_trained(profile: TaskProfile, config: Config, cv: int | None = None, stacking: bool = False) -> Config:
    """``config`` validated as the generated code trains it on this data, with notes on what the
    data forced: kNN's neighbours capped at the rows of the smallest training fold (when ``cv`` is
    known), HistGradientBoosting's max_bins raised to a bin per category, early stopping turned off
    where too few rows (or too few of a class) could be held out, or inside a stacking ensemble,
    which fits its members itself. The history stores this, so that what the data forced is not
    taken for a user's edit."""
    config = validate(config.family, config.params, profile.task)  # never trust the caller's types
    forced = validate(config.family, config.params, profile.task, n_rows=_fold_rows(profile, cv))
    params, notes = dict(forced.params), list(forced.notes)  # valid params: notes on the cap only
    fam = family(config.family)
    log_target = log_target_of(profile)
    if fam.stops_early(params) and log_target:
        notes.append(
            "early_stopping=True turned off: for rmsle the model learns log(1 + target), through a "
            "TransformedTargetRegressor that fits its regressor itself"
        )
        params["early_stopping"] = False
    if _early_stopping_asked(fam, params, profile, cv) and (stacking or not _can_hold_out(profile, cv)):
        why = (
            "a stacking ensemble fits its members itself"
            if stacking
            else (f"a tenth of a fold's rows is too few to stop on (needs {MIN_HELD_OUT}, and 2 rows of every class)")
        )
        notes.append(f"early_stopping={params['early_stopping']!r} turned off: {why}")
        params["early_stopping"] = False
    if config.family == "hist_gradient_boosting" and profile.names("categorical"):
        # it needs a bin per category; the ordinal encoder keeps at most 255 categories
        levels = min(255, max(c.n_unique for c in profile.columns if c.kind == "categorical"))
        if params["max_bins"] < levels:
            notes.append(
                f"max_bins={params['max_bins']} raised to {levels}: HistGradientBoosting needs a bin "
                f"for each of the {levels} categories of a categorical column"
            )
            params["max_bins"] = levels
    return Config(config.family, params, tuple(notes))


def _fold_rows(profile: TaskProfile, cv: int | None) -> int | None:
    """Training rows of the smallest cross-validation fold (folds differ by one row at most)."""
    return profile.n_rows - scored_rows(profile.n_rows, cv) if cv else None


def log_target_of(profile: TaskProfile) -> bool:
    """Whether the model learns log(1 + target): for rmsle, which that optimises, and which is
    undefined for predictions below -1 (a model of a heavy-tailed target can make them)."""
    return profile.metric == "rmsle"


def _early_stopping_asked(fam, params: dict, profile: TaskProfile, cv: int | None) -> bool:
    """Whether ``params`` stop boosting early on this data (HistGradientBoosting's "auto" does so
    above 10,000 rows)."""
    if fam.name == "hist_gradient_boosting":
        asked = params["early_stopping"]
        return asked is True or (asked == "auto" and (_fold_rows(profile, cv) or profile.n_rows) > HGB_AUTO_ROWS)
    return fam.stops_early(params)


def _can_hold_out(profile: TaskProfile, cv: int | None) -> bool:
    """Whether a tenth of the smallest training fold can be held out to stop on: enough rows, and
    (stratified) every class with 2 rows in the fold and a place among the held-out rows."""
    rows = _fold_rows(profile, cv) or profile.n_rows
    held_out = math.ceil(HELD_OUT * rows)
    if not profile.is_classification:
        return held_out >= MIN_HELD_OUT
    counts = profile.target_stats["class_counts"]
    rarest = min(counts) - (scored_rows(min(counts), cv) if cv else 0)
    return rarest >= 2 and held_out >= max(MIN_HELD_OUT, len(counts))


def check_data_name(name: str) -> str:
    """``name`` if it is a plain (possibly dotted) Python name, safe to emit as code."""
    parts = name.split(".")
    if not name or not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        raise CashError(f"{name!r} is not a variable name; pass the DataFrame's name, e.g. %%cash df target=price")
    return name


def generate_code(
    profile: TaskProfile,
    config: Config,
    *,
    data_name: str = "df",
    cv: int = 5,
    seed: int = 0,
    trial_id: str | None = None,
    source: str = "",
) -> str:
    """Training code for ``config`` on the DataFrame called ``data_name``.

    With a ``trial_id`` the code ends with one call recording its result in the history. Leaves
    ``cash_model`` (fitted pipeline), ``cash_scores`` (per-fold scores) and ``cash_fit_seconds``
    behind; every other name it defines starts with ``cash_`` or ``CASH_`` too.
    """
    check_data_name(data_name)
    labels = numbers_classes(profile, [config])
    return _render(profile, [config], seed, Training(data_name, cv, trial_id, source, labels))


def generate_blend_code(
    profile: TaskProfile,
    configs: list[Config],
    *,
    method: str = "voting",
    data_name: str = "df",
    cv: int = 5,
    seed: int = 0,
    trial_id: str | None = None,
    source: str = "",
) -> str:
    """Training code for a blend of ``configs``: soft voting (probabilities or predictions
    averaged with weights chosen by greedy ensemble selection on out-of-fold predictions) or
    stacking (a linear model over their out-of-fold predictions).

    Cross-validated and recorded exactly like a single model; ``cash_model`` is the ensemble.
    """
    check_data_name(data_name)
    training = Training(data_name, cv, trial_id, source, numbers_classes(profile, configs))
    return _render(profile, blend_members(configs), seed, training, check_method(method))


def numbers_classes(profile: TaskProfile, configs: list[Config]) -> bool:
    """Whether the code numbers the classes 0, 1, … (``CASH_LABELS``): XGBoost takes no other labels."""
    return profile.is_classification and any(family(c.family).name == "xgboost" for c in configs)


def model_code(profile: TaskProfile, config: Config, seed: int = 0, cv: int | None = None) -> str:
    """Only the part of ``generate_code`` that defines the unfitted ``cash_model``; ``cv``, the folds
    it will be cross-validated with, caps what the rows of a training fold limit (see ``as_trained``)."""
    return _render(profile, [config], seed, None, cv=cv)


@dataclass(frozen=True)
class Built:
    """The unfitted pipeline generated code trains, and how it fits it: ``fit`` is the code's own
    ``cash_fit_stopping_early`` (returning the fitted pipeline and the rounds kept) when its boosting
    stops early, whose final fit sets ``rounds`` (the pipeline parameter) to what the folds kept."""

    model: object
    fit: Callable | None = None
    rounds: str | None = None
    labels: bool = False  # it learns the classes numbered 0, 1, … (see ``numbers_classes``)


def build(profile: TaskProfile, config: Config, seed: int = 0, cv: int | None = None) -> Built:
    """What generated code would train, from our own ``model_code`` (validated values, literals
    only): what benchmarks, searches and the knowledge base fit, exactly as users get it in a cell."""
    namespace = {"__name__": "llm_cash_magic.generated"}
    exec(compile(model_code(profile, config, seed, cv), "<llm_cash_magic model>", "exec"), namespace)
    fit = namespace.get("cash_fit_stopping_early")
    rounds = f"model__{family(config.family).rounds}" if fit else None
    return Built(namespace["cash_model"], fit, rounds, numbers_classes(profile, [config]))


def build_model(profile: TaskProfile, config: Config, seed: int = 0, cv: int | None = None):
    """The unfitted pipeline that generated code would train (see ``build``)."""
    return build(profile, config, seed, cv).model


def _member(
    profile: TaskProfile, config: Config, seed: int, name: str, cv: int | None, stacking: bool = False
) -> Member:
    config = as_trained(profile, config, cv, stacking)
    fam = family(config.family)
    estimator = fam.estimator(profile.task)
    kwargs = estimator_kwargs(config)
    comments = {}
    if fam.stops_early(config.params):
        comments[fam.rounds] = "at most: each fit stops early, see cash_fit_stopping_early"
    if profile.names("categorical"):
        if fam.name == "hist_gradient_boosting":
            kwargs["categorical_features"] = Raw("CASH_CATEGORICAL")
        elif fam.name == "catboost":
            kwargs["cat_features"] = Raw("tuple(CASH_CATEGORICAL)")  # a list would break sklearn.clone
    if estimator.seed_param:
        kwargs[estimator.seed_param] = seed
    kwargs.update(estimator.fixed)
    features = profile.names("numeric", "boolean", "categorical", "datetime")
    rename = fam.name in ("lightgbm", "xgboost") and any(not c or BAD_NAME.search(c) for c in features)
    return Member(
        name,
        fam,
        estimator,
        kwargs,
        rename,
        config.notes,
        comments,
        fam.stops_early(config.params),
        log_target_of(profile),
    )


def _render(
    profile: TaskProfile,
    configs: list[Config],
    seed: int,
    training: Training | None,
    blend: str | None = None,
    cv: int | None = None,
) -> str:
    cv = training.cv if training else cv
    if blend:
        stacking = blend == "stacking"
        members = [_member(profile, c, seed, f"{c.family}_{i}", cv, stacking) for i, c in enumerate(configs, start=1)]
    else:
        members = [_member(profile, configs[0], seed, "estimator", cv)]
    metric = METRICS[profile.metric]
    classification = profile.is_classification
    splitter = splitter_code(classification, cv or 5, seed)
    numeric = profile.names("numeric", "boolean")
    categorical = profile.names("categorical")
    datetimes = profile.names("datetime")
    excluded = [c for c in profile.columns if c.kind not in ("numeric", "boolean", "categorical", "datetime")]

    kinds = list(dict.fromkeys(m.family.preprocessing for m in members))
    blocks, helpers, imports = [], [], {}
    for kind in kinds:
        steps, kind_helpers, kind_imports = preprocessing(kind, numeric, categorical, datetimes)
        blocks.append((kind, steps))
        helpers += kind_helpers
        for module, names in kind_imports.items():
            imports.setdefault(module, []).extend(names)
    if any(m.rename for m in members):
        helpers.append("cash_safe_names")
    stopping = list(dict.fromkeys(m.family.name for m in members if m.stops_early))
    if stopping:
        for module, names in stopping_imports(stopping).items():
            imports.setdefault(module, []).extend(names)

    out: list[str] = []
    w = out.append
    if training:
        source = f" · recommended by {training.source!r}" if training.source else ""
        if blend:
            w(f"# %%cash · blend of {len(members)} models ({blend_label(blend)}){source}")
        else:
            w(f"# %%cash · {members[0].family.label} ({members[0].estimator.cls}){source}")
        w(
            f"# data: {training.data_name} · {profile.n_rows:,} rows · fingerprint {profile.fingerprint} · "
            f"task {profile.task} · metric {metric.name}"
        )
        w(
            f"# {validation_words(training.cv, classification)}, seed {seed} · "
            f"{_versions({m.estimator.module for m in members})}"
        )
        what = "the fitted ensemble" if blend else "the fitted pipeline"
        w(f"# Leaves behind: cash_model ({what}; cash_model.predict(new_df) works on new rows")
        rounds = ", cash_rounds (the boosting rounds kept)" if not blend and members[0].stops_early else ""
        w(f"# with the same columns), cash_scores ({metric.name} of each fold), cash_fit_seconds{rounds}.")
        w("# Every other name it defines starts with cash_ or CASH_, so none of your variables changes.")
    standard = ["time"] if training else []
    standard += ["re"] if any(m.rename for m in members) else []
    standard += ["warnings"] if "lightgbm" in stopping else []
    for module in sorted(standard):
        w(f"import {module}")
    if standard:
        w("")
    w("import numpy as np")
    w("import pandas as pd")
    module_imports = {
        "sklearn.compose": ["ColumnTransformer"],
        "sklearn.pipeline": ["Pipeline"],
        "sklearn.preprocessing": ["FunctionTransformer"],
    }
    for m in members:
        module_imports.setdefault(m.estimator.module, []).append(m.estimator.cls)
        if m.log_target:
            module_imports.setdefault("sklearn.compose", []).append("TransformedTargetRegressor")
    if blend:
        ensemble = BLEND_METHODS[blend][0 if classification else 1]
        module_imports.setdefault("sklearn.ensemble", []).append(ensemble)
        if blend == "stacking":
            final = "LogisticRegression" if classification else "RidgeCV"
            module_imports.setdefault("sklearn.linear_model", []).append(final)
    if training and blend == "voting":  # scored from out-of-fold predictions, see selection_lines
        module_imports["sklearn.metrics"] = [metric.function]
        module_imports["sklearn.model_selection"] = [splitter_name(classification, cv or 5), "cross_val_predict"]
    if training and training.labels:
        module_imports.setdefault("sklearn.preprocessing", []).append("LabelEncoder")
    if training and blend != "voting":
        module_imports["sklearn.base"] = ["clone"]
        module_imports["sklearn.metrics"] = ["get_scorer"]
        module_imports["sklearn.model_selection"] = [splitter_name(classification, cv or 5)]
    if training and blend == "voting" and stopping:
        module_imports["sklearn.base"] = ["clone"]
    for module, names in imports.items():
        module_imports.setdefault(module, []).extend(names)
    for module in sorted(module_imports):
        w(f"from {module} import {', '.join(sorted(set(module_imports[module])))}")
    w("")
    w(f"CASH_TARGET = {profile.target!r}")
    for label, names in (("NUMERIC", numeric), ("CATEGORICAL", categorical), ("DATETIME", datetimes)):
        if names:
            w(f"CASH_{label} = {list_code(names)}")
    if excluded:  # names are data: only ever in a literal, never in a comment of their own
        w(f"CASH_LEFT_OUT = {_dict_code({c.name: c.why for c in excluded})}  # not features, and why")
    for name in dict.fromkeys(helpers):
        w("\n")
        w(HELPERS[name].strip("\n"))
    if stopping:
        w("\n")
        out.extend(stopping_helper(stopping, classification, seed))
    w("")
    w("")
    for kind, steps in blocks:
        if blend:
            w(PREPROCESS_COMMENTS[kind])
            out.extend(emit_preprocess(steps, kind in PANDAS_OUT, PREPROCESS_NAMES[kind]))
            w("")
        else:
            out.extend(emit_preprocess(steps, kind in PANDAS_OUT, "cash_preprocess"))
    for m in members:
        out.extend(f"# note: {note}" for note in m.notes)
        w(f"{m.variable} = {m.estimator.cls}(")
        for key, value in m.kwargs.items():
            comment = f"  # {m.comments[key]}" if key in m.comments else ""
            w(f"    {key}={value!r},{comment}")
        w(")")
    if blend:
        out.extend(emit_ensemble(members, blend, ensemble, splitter))
    else:
        w(f"cash_model = {pipeline_code(members[0], 'cash_preprocess')}")
    if training and blend == "voting":
        out.extend(
            selection_lines(
                training, metric, classification, seed, {m.name: m.rounds for m in members if m.stops_early}
            )
        )
    elif training:
        rounds = members[0].rounds if members[0].stops_early else None
        out.extend(training_lines(training, metric, classification, seed, rounds))
    code = "\n".join(out) + "\n"
    compile(code, "<llm_cash_magic>", "exec")  # a bug here must never reach a notebook cell
    return code


def package_versions() -> dict:
    """Versions of what generated code and measurements depend on, for provenance."""
    versions = {"python": sys.version.split()[0]}
    for name in ("llm_cash_magic", "pandas", "numpy", "scikit-learn", "lightgbm", "xgboost", "catboost"):
        for distribution in (name, f"{name}-cpu"):  # XGBoost also comes as xgboost-cpu
            with suppress(metadata.PackageNotFoundError):
                versions[name] = metadata.version(distribution)
                break
    return versions


def _versions(estimator_modules: set[str]) -> str:
    versions = package_versions()
    boosters = [name for name in ("lightgbm", "xgboost", "catboost") if name in estimator_modules]
    names = ["pandas", "scikit-learn", *boosters, "llm_cash_magic"]
    return " · ".join(f"{name} {versions[name]}" for name in names if name in versions)


def _dict_code(values: dict) -> str:
    one_line = repr(values)
    if len(one_line) <= 80:
        return one_line
    return "{\n" + "".join(f"    {k!r}: {v!r},\n" for k, v in values.items()) + "}"
