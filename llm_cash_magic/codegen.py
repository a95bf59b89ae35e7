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
import re
from dataclasses import dataclass, field

from .errors import CashError
from .history import package_versions
from .llm import plural
from .metrics import METRICS
from .profiling import TaskProfile
from .space import (
    FAMILIES,
    Config,
    Estimator,
    Family,
    estimator_kwargs,
    family,
    family_of,
    params_from_estimator,
    validate,
)

LIGHTGBM_BAD_NAME = re.compile(r'[",:\[\]{}\s\x00-\x1f\x7f]')  # characters LightGBM refuses or mangles
FOLD_LINE = re.compile(r"^fold (\d+)/(\d+): (\w+) (\S+)$")  # what training code prints per fold
MEASURED_ROWS = 1_001  # the knowledge base measured its configurations on frames of at most this many rows

_HELPERS = {
    "cash_as_float": '''
def cash_as_float(frame):
    """Numbers (nullable and boolean too) as float64; infinities become missing values."""
    return frame.astype("float64").replace([np.inf, -np.inf], np.nan)
''',
    "cash_as_strings": '''
def cash_as_strings(frame):
    """Category labels as strings, so mixed-type columns encode uniformly; missing stays missing."""
    return frame.astype(str).astype(object).where(frame.notna(), np.nan)
''',
    "cash_as_category": '''
def cash_as_category(frame):
    """Labels as a pandas categorical, which LightGBM splits on natively (unseen labels → missing)."""
    return frame.astype(str).where(frame.notna()).astype("category")
''',
    "cash_datetime_parts": '''
def cash_datetime_parts(frame, taken=()):
    """Each datetime column as numbers: year, month, day, weekday, hour, and days since 1970, named
    like 'sold_year' ('sold_year_' if another feature in ``taken`` already has that name)."""
    parts = {}
    for name in frame.columns:
        when = pd.to_datetime(frame[name])
        if when.dt.tz is not None:
            when = when.dt.tz_localize(None)  # wall-clock time where it was recorded
        days = (when - pd.Timestamp(0)) / pd.Timedelta(days=1)
        for part, values in (("year", when.dt.year), ("month", when.dt.month), ("day", when.dt.day),
                             ("weekday", when.dt.day_of_week), ("hour", when.dt.hour), ("days", days)):
            label = f"{name}_{part}"
            while label in taken or label in parts:
                label += "_"
            parts[label] = values
    return pd.DataFrame(parts, index=frame.index).astype("float64")
''',
    "cash_lightgbm_names": '''
def cash_lightgbm_names(frame):
    """Feature names LightGBM accepts: ",:[]{}", whitespace and control characters become '_' (it
    refuses or mangles them), an empty name becomes '_', and a repeated name gets a number."""
    names = []
    for name in frame.columns:
        clean = re.sub(r'[",:\\[\\]{}\\s\\x00-\\x1f\\x7f]', "_", name) or "_"
        label, number = clean, 1
        while label in names:
            number += 1
            label = f"{clean}_{number}"
        names.append(label)
    return frame.set_axis(names, axis=1)
''',
}


def effective_cv(profile: TaskProfile, cv: int) -> tuple[int, str | None]:
    """Folds that the data can support, and a note when fewer than asked; a CashError below 2."""
    limit = min(profile.target_stats["class_counts"]) if profile.is_classification else profile.n_rows
    reason = "the smallest class has" if profile.is_classification else "there are"
    if limit < 2:
        raise CashError(f"cross-validation needs at least 2 folds, but {reason} only {plural(limit, 'row')}")
    if cv <= limit:
        return cv, None
    return limit, f"cv={cv} reduced to {limit}: {reason} only {limit} rows"


def as_trained(profile: TaskProfile, config: Config, cv: int | None = None) -> Config:
    """``config`` validated as the generated code trains it on this data, with notes on what the
    data forced: kNN's neighbours capped at the rows of the smallest training fold (when ``cv`` is
    known), HistGradientBoosting's max_bins raised to a bin per category. The history stores this,
    so that what the data forced is not taken for a user's edit."""
    config = validate(config.family, config.params, profile.task)  # never trust the caller's types
    forced = validate(config.family, config.params, profile.task, n_rows=_fold_rows(profile, cv))
    params, notes = dict(forced.params), list(forced.notes)  # valid params: notes on the cap only
    if config.family == "hist_gradient_boosting" and profile.names("categorical"):
        # it needs a bin per category; the ordinal encoder keeps at most 255 categories
        levels = min(255, max(c.n_unique for c in profile.columns if c.kind == "categorical"))
        if params["max_bins"] < levels:
            notes.append(f"max_bins={params['max_bins']} raised to {levels}: HistGradientBoosting needs a bin "
                         f"for each of the {levels} categories of a categorical column")
            params["max_bins"] = levels
    return Config(config.family, params, tuple(notes))


def _fold_rows(profile: TaskProfile, cv: int | None) -> int | None:
    """Training rows of the smallest cross-validation fold (folds differ by one row at most)."""
    return profile.n_rows - math.ceil(profile.n_rows / cv) if cv else None


def _stops_early(profile: TaskProfile, cv: int | None) -> bool:
    """Whether HistGradientBoosting gets early stopping: on frames bigger than the knowledge base
    measured, where its validation split (a stratified tenth of the training rows) works: every
    class needs 2 rows in a training fold, and the held-out rows must outnumber the classes."""
    if profile.n_rows <= MEASURED_ROWS:
        return False
    if not profile.is_classification:
        return True
    counts = profile.target_stats["class_counts"]
    rarest = min(counts) - (math.ceil(min(counts) / cv) if cv else 0)
    return rarest >= 2 and math.ceil(0.1 * (_fold_rows(profile, cv) or profile.n_rows)) >= len(counts)


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
    return _render(profile, [config], seed, _Training(data_name, cv, trial_id, source))


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
    return _render(profile, _blend_members(configs), seed, _Training(data_name, cv, trial_id, source),
                   _check_method(method))


def model_code(profile: TaskProfile, config: Config, seed: int = 0, cv: int | None = None) -> str:
    """Only the part of ``generate_code`` that defines the unfitted ``cash_model``; ``cv``, the folds
    it will be cross-validated with, caps what the rows of a training fold limit (see ``as_trained``)."""
    return _render(profile, [config], seed, None, cv=cv)


def build_model(profile: TaskProfile, config: Config, seed: int = 0, cv: int | None = None):
    """The unfitted pipeline that generated code would train: what benchmarks and searches fit.

    It runs our own ``model_code`` (validated values, literals only), so what is measured is
    exactly what users get in their cell.
    """
    namespace = {"__name__": "llm_cash_magic.generated"}
    exec(compile(model_code(profile, config, seed, cv), "<llm_cash_magic model>", "exec"), namespace)
    return namespace["cash_model"]


def blend_params(configs: list[Config], method: str = "voting", weights: list | None = None) -> dict:
    """How a blend is stored in the history: its method, each member's family and params, and
    the weights its code chose (a voting blend's, once trained)."""
    params = {"method": _check_method(method), "members": [{"family": c.family, "params": c.params} for c in configs]}
    if weights is not None:
        params["weights"] = [float(w) for w in weights]
    return params


def blend_params_of(model, task: str) -> dict:
    """``blend_params`` read back from an ensemble, so edits made in the cell are what is recorded."""
    method = "stacking" if type(model).__name__.startswith("Stacking") else "voting"
    configs = []
    for _, member in model.estimators:
        estimator = member.steps[-1][1] if hasattr(member, "steps") else member
        name = family_of(estimator)
        if name is None:
            raise CashError(f"blend member {type(estimator).__name__} is not one of: {', '.join(FAMILIES)}")
        configs.append(Config(name, params_from_estimator(name, task, estimator)))
    return blend_params(configs, method, getattr(model, "weights", None))


BLEND_METHODS = {"voting": ("VotingClassifier", "VotingRegressor"),
                 "stacking": ("StackingClassifier", "StackingRegressor")}
BLEND = "blend"  # the family name a blend's trial carries in the history


def _check_method(method: str) -> str:
    if method not in BLEND_METHODS:
        raise CashError(f"blend method {method!r} is not known; use one of: {', '.join(BLEND_METHODS)}")
    return method


def _blend_members(configs) -> list[Config]:
    configs = list(configs)
    if len(configs) < 2:
        raise CashError(f"a blend needs at least 2 configurations, got {len(configs)}; ask for n=2 or more")
    return configs


@dataclass(frozen=True)
class _Training:
    data_name: str
    cv: int
    trial_id: str | None
    source: str


@dataclass(frozen=True)
class _Member:
    """One estimator of the generated code: its name, family, class and arguments."""

    name: str  # in a blend, the ensemble's name for it ("lightgbm_1")
    family: Family
    estimator: Estimator
    kwargs: dict
    rename: bool  # LightGBM needs its feature names cleaned
    notes: tuple[str, ...] = ()  # repairs the data forced, written as comments above the estimator
    comments: dict = field(default_factory=dict)  # argument name → why it is set, written beside it

    @property
    def variable(self) -> str:
        return f"cash_{self.name}"


# A blend preprocesses once per kind of family; these name the shared ColumnTransformers.
_PREPROCESS_NAMES = {"native": "cash_lightgbm_preprocess", "ordinal": "cash_tree_preprocess",
                     "scaled": "cash_scaled_preprocess"}
_PREPROCESS_COMMENTS = {
    "native": "# LightGBM: numbers as floats, categories as pandas categoricals it splits on natively",
    "ordinal": "# trees: numbers as floats, categories as integer codes",
    "scaled": "# linear / kNN / MLP: missing values imputed, numbers scaled, categories one-hot encoded",
}


def _member(profile: TaskProfile, config: Config, seed: int, name: str, cv: int | None) -> _Member:
    config = as_trained(profile, config, cv)
    fam = family(config.family)
    estimator = fam.estimator(profile.task)
    kwargs = estimator_kwargs(config)
    comments = {}
    if fam.name == "hist_gradient_boosting":
        if profile.names("categorical"):
            kwargs["categorical_features"] = _Raw("CASH_CATEGORICAL")
        if _stops_early(profile, cv):
            kwargs["early_stopping"] = True
            comments["early_stopping"] = "'auto' stops early only above 10,000 rows; all max_iter rounds take minutes"
    if estimator.seed_param:
        kwargs[estimator.seed_param] = seed
    kwargs.update(estimator.fixed)
    features = profile.names("numeric", "boolean", "categorical", "datetime")
    rename = fam.name == "lightgbm" and any(not c or LIGHTGBM_BAD_NAME.search(c) for c in features)
    return _Member(name, fam, estimator, kwargs, rename, config.notes, comments)


def _render(profile: TaskProfile, configs: list[Config], seed: int, training: _Training | None,
            blend: str | None = None, cv: int | None = None) -> str:
    cv = training.cv if training else cv
    if blend:
        members = [_member(profile, c, seed, f"{c.family}_{i}", cv) for i, c in enumerate(configs, start=1)]
    else:
        members = [_member(profile, configs[0], seed, "estimator", cv)]
    metric = METRICS[profile.metric]
    classification = profile.is_classification
    splitter = "StratifiedKFold" if classification else "KFold"
    numeric = profile.names("numeric", "boolean")
    categorical = profile.names("categorical")
    datetimes = profile.names("datetime")
    excluded = [c for c in profile.columns if c.kind not in ("numeric", "boolean", "categorical", "datetime")]

    kinds = list(dict.fromkeys(m.family.preprocessing for m in members))
    blocks, helpers, imports = [], [], {}
    for kind in kinds:
        steps, kind_helpers, kind_imports = _preprocessing(kind, numeric, categorical, datetimes)
        blocks.append((kind, steps))
        helpers += kind_helpers
        for module, names in kind_imports.items():
            imports.setdefault(module, []).extend(names)
    if any(m.rename for m in members):
        helpers.append("cash_lightgbm_names")

    out: list[str] = []
    w = out.append
    if training:
        source = f" · recommended by {training.source!r}" if training.source else ""
        if blend:
            w(f"# %%cash · blend of {len(members)} models ({_blend_label(blend)}){source}")
        else:
            w(f"# %%cash · {members[0].family.label} ({members[0].estimator.cls}){source}")
        w(f"# data: {training.data_name} · {profile.n_rows:,} rows · fingerprint {profile.fingerprint} · "
          f"task {profile.task} · metric {metric.name}")
        w(f"# {training.cv}-fold {'stratified ' if classification else ''}CV, seed {seed} · "
          f"{_versions({m.estimator.module for m in members})}")
        what = "the fitted ensemble" if blend else "the fitted pipeline"
        w(f"# Leaves behind: cash_model ({what}; cash_model.predict(new_df) works on new rows")
        w(f"# with the same columns), cash_scores ({metric.name} of each fold) and cash_fit_seconds.")
        w("# Every other name it defines starts with cash_ or CASH_, so none of your variables changes.")
        w("import time")
    if any(m.rename for m in members):
        w("import re")
    if training or any(m.rename for m in members):
        w("")
    w("import numpy as np")
    w("import pandas as pd")
    module_imports = {"sklearn.compose": ["ColumnTransformer"], "sklearn.pipeline": ["Pipeline"],
                      "sklearn.preprocessing": ["FunctionTransformer"]}
    for m in members:
        module_imports.setdefault(m.estimator.module, []).append(m.estimator.cls)
    if blend:
        ensemble = BLEND_METHODS[blend][0 if classification else 1]
        module_imports.setdefault("sklearn.ensemble", []).append(ensemble)
        if blend == "stacking":
            final = "LogisticRegression" if classification else "RidgeCV"
            module_imports.setdefault("sklearn.linear_model", []).append(final)
    if training and blend == "voting":  # scored from out-of-fold predictions, see _selection_lines
        module_imports["sklearn.metrics"] = [metric.function]
        module_imports["sklearn.model_selection"] = [splitter, "cross_val_predict"]
    elif training:
        module_imports["sklearn.base"] = ["clone"]
        module_imports["sklearn.metrics"] = ["get_scorer"]
        module_imports["sklearn.model_selection"] = [splitter]
    for module, names in imports.items():
        module_imports.setdefault(module, []).extend(names)
    for module in sorted(module_imports):
        w(f"from {module} import {', '.join(sorted(set(module_imports[module])))}")
    w("")
    w(f"CASH_TARGET = {profile.target!r}")
    for label, names in (("NUMERIC", numeric), ("CATEGORICAL", categorical), ("DATETIME", datetimes)):
        if names:
            w(f"CASH_{label} = {_list(names)}")
    for col in excluded:
        w(f"# not a feature: {col.name!r} ({col.why})")
    for name in dict.fromkeys(helpers):
        w("\n")
        w(_HELPERS[name].strip("\n"))
    w("")
    w("")
    for kind, steps in blocks:
        if blend:
            w(_PREPROCESS_COMMENTS[kind])
            out.extend(_emit_preprocess(steps, kind in ("native", "ordinal"), _PREPROCESS_NAMES[kind]))
            w("")
        else:
            out.extend(_emit_preprocess(steps, kind in ("native", "ordinal"), "cash_preprocess"))
    for m in members:
        out.extend(f"# note: {note}" for note in m.notes)
        w(f"{m.variable} = {m.estimator.cls}(")
        for key, value in m.kwargs.items():
            comment = f"  # {m.comments[key]}" if key in m.comments else ""
            w(f"    {key}={value!r},{comment}")
        w(")")
    if blend:
        inner = f"{splitter}(n_splits={cv or 5}, shuffle=True, random_state={seed})"
        out.extend(_emit_ensemble(members, blend, ensemble, inner))
    else:
        w(f"cash_model = {_pipeline(members[0], 'cash_preprocess')}")
    if training and blend == "voting":
        out.extend(_selection_lines(training, metric, classification, seed))
    elif training:
        out.extend(_training_lines(training, metric, classification, seed))
    code = "\n".join(out) + "\n"
    compile(code, "<llm_cash_magic>", "exec")  # a bug here must never reach a notebook cell
    return code


def _blend_label(method: str) -> str:
    return "soft voting, weights by ensemble selection" if method == "voting" else "stacking"


def _pipeline(member: _Member, preprocess: str) -> str:
    steps = [f'("preprocess", {preprocess})']
    if member.rename:
        steps.append('("names", FunctionTransformer(cash_lightgbm_names))')
    return f"Pipeline([{', '.join(steps)}, (\"model\", {member.variable})])"


def _emit_ensemble(members: list[_Member], method: str, ensemble: str, inner_cv: str) -> list[str]:
    lines = ["", f"cash_model = {ensemble}(", "    ["]
    for m in members:
        lines.append(f'        ("{m.name}", {_pipeline(m, _PREPROCESS_NAMES[m.family.preprocessing])}),')
    lines.append("    ],")
    if method == "voting" and ensemble == "VotingClassifier":
        lines.append('    voting="soft",  # average the predicted probabilities')
    if method == "stacking":
        final = "LogisticRegression(max_iter=1000)" if ensemble == "StackingClassifier" else "RidgeCV()"
        lines.append(f"    final_estimator={final},  # learns how to weigh the models' out-of-fold predictions")
        lines.append(f"    cv={inner_cv},  # shuffled: sorted rows must not make the folds lopsided")
    lines.append(")")
    return lines


def _data_lines(training: _Training, classification: bool, seed: int) -> list[str]:
    """The start of ``cash_train``: the rows with a (finite) target, split into folds."""
    splitter = "StratifiedKFold" if classification else "KFold"
    if classification:
        rows = "    data = frame[frame[CASH_TARGET].notna()]"
    else:
        rows = "    data = frame[frame[CASH_TARGET].replace([np.inf, -np.inf], np.nan).notna()]"
    return [rows, "    X, y = data.drop(columns=[CASH_TARGET]), data[CASH_TARGET]",
            f"    folds = {splitter}(n_splits={training.cv}, shuffle=True, random_state={seed})"]


def _result_lines(training: _Training, metric, before: tuple[str, ...] = ()) -> list[str]:
    """The call of ``cash_train`` that leaves the results behind, and the one that records them."""
    lines = ["", "", *before, f"cash_scores, cash_fit_seconds = cash_train(cash_model, {training.data_name})",
             f'print(f"{metric.name}: {{cash_scores.mean():.4f}} ± {{cash_scores.std():.4f}} over {training.cv} '
             f'folds ({{cash_fit_seconds:.1f}} s)")']
    if training.trial_id:
        lines += ["", "# Record the result in llm_cash_magic's history (delete these two lines to run without it).",
                  "import llm_cash_magic",
                  f"llm_cash_magic.record_result({training.trial_id!r}, cash_model, cash_scores, cash_fit_seconds)"]
    return lines


def _selection_lines(training: _Training, metric, classification: bool, seed: int) -> list[str]:
    """A soft-voting blend whose weights come from greedy ensemble selection (Caruana et al., 2004)
    on out-of-fold predictions: weak members get weight 0 instead of diluting the strong ones. Each
    fold is scored with weights chosen on the other folds, so the CV score is an honest one."""
    better = "higher" if metric.greater_is_better else "lower"
    pick, compare = ("max", ">") if metric.greater_is_better else ("min", "<")
    method = '"predict_proba"' if classification else '"predict"'
    out = [
        "",
        "",
        "def cash_blend_score(y_true, prediction):",
        f'    """{metric.name} of out-of-fold predictions ({better} is better)."""',
        f"    return {metric.of_prediction}",
        "",
        "",
        "def cash_select_weights(predictions, y, rounds=25):",
        '    """Greedy ensemble selection (Caruana et al., 2004): each round adds, with replacement, the',
        "    model whose predictions improve the average most; a weight is how often a model was added.",
        '    The weights of the best round are kept, so the blend is never worse than its best model."""',
        "    weights, total, best, best_weights = dict.fromkeys(predictions, 0), 0, None, None",
        "    for round_ in range(1, rounds + 1):",
        f"        name = {pick}(predictions, key=lambda m: cash_blend_score(y, (total + predictions[m]) / round_))",
        "        weights[name] += 1",
        "        total = total + predictions[name]",
        "        score = cash_blend_score(y, total / round_)",
        f"        if best is None or score {compare} best:",
        "            best, best_weights = score, dict(weights)",
        "    return best_weights",
        "",
        "",
        "def cash_train(model, frame):",
        '    """Cross-validate the blend on the rows of ``frame`` that have a target, each fold scored with',
        "    weights chosen on the other folds, then fit it on all of them with weights chosen on every row;",
        f'    returns the {metric.name} of each fold and the seconds it all took."""',
    ]
    out += _data_lines(training, classification, seed)
    w = out.append
    w("    started = time.perf_counter()")
    w("    predictions = {}")
    w("    for name, member in model.estimators:")
    w(f"        predictions[name] = cross_val_predict(member, X, y, cv=folds, method={method})")
    w(f'        print(f"{{name}}: {metric.name} {{cash_blend_score(y, predictions[name]):.4f}} out of fold")')
    w("    scores = []")
    w("    for fold, (train, test) in enumerate(folds.split(X, y), start=1):")
    w("        # weights chosen without this fold's rows, so its score is not flattered by the choice")
    w("        chosen = cash_select_weights({name: p[train] for name, p in predictions.items()}, y.iloc[train])")
    w("        blended = sum(w * predictions[name][test] for name, w in chosen.items()) / sum(chosen.values())")
    w("        scores.append(cash_blend_score(y.iloc[test], blended))")
    w(f'        print(f"fold {{fold}}/{training.cv}: {metric.name} {{scores[-1]:.4f}}")')
    w("    weights = cash_select_weights(predictions, y)  # for the final model: chosen on every row")
    w("    model.set_params(weights=list(weights.values()))  # a model with weight 0 does not count")
    w("    model.fit(X, y)")
    w('    print("weights:", ", ".join(f"{name} {weight}" for name, weight in weights.items()))')
    w("    return np.array(scores), time.perf_counter() - started")
    classes = (f"CASH_CLASSES = np.unique({training.data_name}[CASH_TARGET].dropna())  # predict_proba's column order",)
    return out + _result_lines(training, metric, classes if classification else ())


def _training_lines(training: _Training, metric, classification: bool, seed: int) -> list[str]:
    out = [
        "",
        "",
        "def cash_train(model, frame):",
        '    """Cross-validate ``model`` on the rows of ``frame`` that have a target, then fit it on all of',
        f'    them; returns the {metric.name} of each fold and the seconds it all took."""',
    ]
    out += _data_lines(training, classification, seed)
    w = out.append
    w(f"    scorer = get_scorer({metric.scorer!r})")
    w("    started = time.perf_counter()")
    w("    scores = []")
    w("    for fold, (train, test) in enumerate(folds.split(X, y), start=1):")
    w("        fitted = clone(model).fit(X.iloc[train], y.iloc[train])")
    if metric.scorer.startswith("neg_"):
        w("        scores.append(-scorer(fitted, X.iloc[test], y.iloc[test]))  # scikit-learn negates losses")
    else:
        w("        scores.append(scorer(fitted, X.iloc[test], y.iloc[test]))")
    w(f'        print(f"fold {{fold}}/{training.cv}: {metric.name} {{scores[-1]:.4f}}")')
    w("    model.fit(X, y)")
    w("    return np.array(scores), time.perf_counter() - started")
    return out + _result_lines(training, metric)


class _Raw(str):
    """A Python expression emitted as is (our own constants only, never data)."""

    def __repr__(self) -> str:
        return str(self)


def _list(names: list[str]) -> str:
    one_line = repr(names)
    if len(one_line) <= 90:
        return one_line
    return "[\n" + "".join(f"    {n!r},\n" for n in names) + "]"


_STEP_IMPORTS = {"OrdinalEncoder": "sklearn.preprocessing", "OneHotEncoder": "sklearn.preprocessing",
                 "StandardScaler": "sklearn.preprocessing", "SimpleImputer": "sklearn.impute"}


def _function(helper: str, arguments: str = "") -> str:
    """A FunctionTransformer step around one of our helpers; ``arguments``: its ``kw_args`` (code)."""
    names = "" if helper == "cash_datetime_parts" else ', feature_names_out="one-to-one"'  # it names its own
    kw_args = f", kw_args={arguments}" if arguments else ""
    return f"FunctionTransformer({helper}{names}{kw_args})"


def _preprocessing(kind: str, numeric, categorical, datetimes):
    """ColumnTransformer steps for a family kind: [(name, [transformer code, ...], columns)],
    plus the helper functions and imports they need."""
    categorical_helper = "cash_as_category" if kind == "native" else "cash_as_strings"
    categorical_steps = [_function(categorical_helper)]
    if kind == "ordinal":
        categorical_steps += [
            'OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1,'
            " max_categories=255)",
        ]
    elif kind == "scaled":  # impute, scale, one-hot
        categorical_steps += [
            'SimpleImputer(strategy="constant", fill_value="(missing)")',
            'OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=30, sparse_output=False)',
        ]
    impute_scale = ['SimpleImputer(strategy="median", add_indicator=True)', "StandardScaler()"]
    extra = impute_scale if kind == "scaled" else []
    # the other features' names, which the datetime parts must not take
    taken = " + ".join(name for name, columns in (("CASH_NUMERIC", numeric), ("CASH_CATEGORICAL", categorical))
                       if columns)
    datetime_parts = _function("cash_datetime_parts", f'{{"taken": {taken}}}' if taken else "")
    steps, helpers = [], []
    for name, columns, variable, helper, transformers in (
        ("numeric", numeric, "CASH_NUMERIC", "cash_as_float", [_function("cash_as_float"), *extra]),
        ("categorical", categorical, "CASH_CATEGORICAL", categorical_helper, categorical_steps),
        ("datetime", datetimes, "CASH_DATETIME", "cash_datetime_parts", [datetime_parts, *extra]),
    ):
        if columns:
            steps.append((name, transformers, variable))
            helpers.append(helper)
    code = " ".join(t for _, transformers, _ in steps for t in transformers)
    imports: dict[str, list[str]] = {}
    for name, module in _STEP_IMPORTS.items():
        if f"{name}(" in code:
            imports.setdefault(module, []).append(name)
    if any(len(t) > 1 for _, t, _ in steps):
        imports.setdefault("sklearn.pipeline", []).append("make_pipeline")
    return steps, helpers, imports


def _emit_preprocess(steps, pandas_out: bool, variable_name: str) -> list[str]:
    prefix = variable_name.removesuffix("preprocess")  # "cash_" for a single model, "cash_tree_" in a blend
    lines = []
    inline = []
    for name, transformers, variable in steps:
        if len(transformers) == 1:
            inline.append((f'"{name}"', transformers[0], variable))
            continue
        lines.append(f"{prefix}{name}_steps = make_pipeline(")
        lines.extend(f"    {t}," for t in transformers)
        lines.append(")")
        inline.append((f'"{name}"', f"{prefix}{name}_steps", variable))
    lines.append(f"{variable_name} = ColumnTransformer(")
    lines.append("    [")
    for step in inline:
        one_line = f"({', '.join(step)}),"
        if len(one_line) <= 100:
            lines.append(f"        {one_line}")
        else:  # a part a line, as black would
            lines.extend(["        (", *(f"            {part}," for part in step), "        ),"])
    lines.append("    ],")
    lines.append('    remainder="drop",')
    lines.append("    verbose_feature_names_out=False,")
    lines.append(")" + ('.set_output(transform="pandas")' if pandas_out else ""))
    return lines


def _versions(estimator_modules: set[str]) -> str:
    versions = package_versions()
    lightgbm = ["lightgbm"] if "lightgbm" in estimator_modules else []
    names = ["pandas", "scikit-learn"] + lightgbm + ["llm_cash_magic"]
    return " · ".join(f"{name} {versions[name]}" for name in names if name in versions)
