"""Config → plain training code for a Dask DataFrame, on the user's ``distributed`` cluster.

LightGBM trains there through ``lightgbm.dask``, XGBoost (its extra installed) through
``xgboost.dask``. The code validates on a held-out fraction of the rows (k folds would read the
data k + 1 times, and each training is itself distributed), then fits on every row. Features are
prepared by one pandas function applied to each partition, so ``cash_model`` predicts on Dask
frames (on the cluster) and pandas frames (here) alike, with the categories of the whole data.
The same rules as ``generate``: literals by ``repr`` only, and every name defined starts with
``cash_``, ``CASH_`` or ``Cash``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..metrics import METRICS
from ..profiling import TaskProfile
from ..space import Config, estimator_kwargs, family, validate
from .generate import check_data_name, log_target_of, package_versions
from .preprocess import BAD_NAME, HELPERS, list_code
from .training import PATIENCE

HOLD_OUT = 0.2  # the share of rows the code validates on


@dataclass(frozen=True)
class DaskBooster:
    """How one family trains on a cluster."""

    module: str  # its Dask interface
    prefix: str  # of its estimators' names: DaskLGBMClassifier
    local: tuple[str, ...]  # the body of CashDaskModel._local: the same model, to predict here
    codes: bool  # labels as integer codes, as the pandas code's OrdinalEncoder gives them
    stops: bool  # stops early itself on an eval_set (lightgbm.dask cannot: see ``checkpoints``)


DASK_BOOSTERS = {
    "lightgbm": DaskBooster("lightgbm.dask", "DaskLGBM", ("return self.estimator.to_local()",), False, False),
    "xgboost": DaskBooster(
        "xgboost.dask",
        "DaskXGB",
        (
            "local = {local}()  # the same booster, to predict without the cluster",
            'local.load_model(bytearray(self.estimator.get_booster().save_raw("json")))',
            "return local",
        ),
        True,
        True,
    ),
}


def dask_families() -> tuple[str, ...]:
    """The installed families whose training is itself distributed."""
    return tuple(name for name in DASK_BOOSTERS if family(name).installed)


def dask_note() -> str:
    """What the profile line says about a Dask frame: the families offered, and why."""
    offered = [f"{family(name).label} ({DASK_BOOSTERS[name].module})" for name in dask_families()]
    missing = [family(name) for name in DASK_BOOSTERS if not family(name).installed]
    more = "".join(f'; {f.label} too with pip install "llm_cash_magic[{f.requires}]"' for f in missing)
    return (
        f"a Dask DataFrame: only families whose training is itself distributed are recommended: "
        f"{', '.join(offered)}{more}; validated on a held-out {HOLD_OUT:.0%} of the rows, not by cross-validation"
    )


def checkpoints(cap: int) -> list[int]:
    """The rounds at which the held-out rows score a model that would stop early: ``lightgbm.dask``
    cannot stop early, so the code trains the cap once and keeps the best of these (doubling from
    25, then the cap itself)."""
    found = [r for r in (25 * 2**i for i in range(20)) if r < cap]
    return [*found, cap]


def dask_model_code(profile: TaskProfile, config: Config, *, seed: int = 0, source: str = "") -> str:
    """Only the definitions of ``generate_dask_code`` (no training runs): what a refinement's trials
    call on the cluster, ``cash_validate`` without the final fit."""
    config = validate(config.family, config.params, profile.task)
    return "\n".join(_definitions(profile, config, "ddf", seed, source)) + "\n"


def generate_dask_code(
    profile: TaskProfile,
    config: Config,
    *,
    data_name: str = "ddf",
    seed: int = 0,
    trial_id: str | None = None,
    source: str = "",
) -> str:
    """Training code for ``config`` on the Dask DataFrame called ``data_name``; with a ``trial_id``
    it ends with one call recording its result, like ``generate_code``'s."""
    check_data_name(data_name)
    config = validate(config.family, config.params, profile.task)
    out = _definitions(profile, config, data_name, seed, source)
    w = out.append
    stops = family(config.family).stops_early(config.params)
    results = "cash_model, cash_scores, cash_fit_seconds" + (", cash_rounds" if stops else "")
    w("")
    w("")
    w(f"{results} = cash_train({data_name})")
    name = METRICS[profile.metric].name
    w(f'print(f"{name}: {{cash_scores.mean():.4f}} on the held-out rows ({{cash_fit_seconds:.1f}} s)")')
    if trial_id:
        w("")
        w("# Record the result in llm_cash_magic's history (delete these two lines to run without it).")
        w("import llm_cash_magic")
        rounds = ", rounds=cash_rounds" if stops else ""
        w(f"llm_cash_magic.record_result({trial_id!r}, cash_model, cash_scores, cash_fit_seconds{rounds})")
    code = "\n".join(out) + "\n"
    compile(code, "<llm_cash_magic>", "exec")  # a bug here must never reach a notebook cell
    return code


def _definitions(profile: TaskProfile, config: Config, data_name: str, seed: int, source: str) -> list[str]:
    """The code's header, imports, constants and functions, up to (not including) the call that trains;
    ``config`` is validated."""
    if config.family not in dask_families():
        raise ValueError(f"{config.family} does not train on Dask here")  # the recommenders never offer it
    fam, booster = family(config.family), DASK_BOOSTERS[config.family]
    metric = METRICS[profile.metric]
    classification = profile.is_classification
    kind = "Classifier" if classification else "Regressor"
    estimator, local = booster.prefix + kind, fam.estimator(profile.task).cls
    numeric, categorical = profile.names("numeric", "boolean"), profile.names("categorical")
    datetimes = profile.names("datetime")
    features = numeric + categorical + datetimes
    rename = any(not c or BAD_NAME.search(c) for c in features)
    log_target = log_target_of(profile)
    versions = package_versions()
    shown = " · ".join(f"{n} {versions[n]}" for n in ("pandas", fam.name, "llm_cash_magic") if n in versions)

    out: list[str] = []
    w = out.append
    credit = f" · recommended by {source!r}" if source else ""
    w(f"# %%cash · {fam.label} on Dask ({estimator}){credit}")
    w(
        f"# data: {data_name} (Dask) · {profile.n_rows:,} rows · fingerprint {profile.fingerprint} · "
        f"task {profile.task} · metric {metric.name}"
    )
    w(f"# validated on a held-out {HOLD_OUT:.0%} of the rows (seed {seed}), then fitted on all of them · {shown}")
    w("# Leaves behind: cash_model (cash_model.predict(new_rows) works on Dask and pandas frames with the")
    stops = fam.stops_early(config.params)
    rounds = ", cash_rounds (the rounds kept)" if stops else ""
    w(f"# same columns), cash_scores ({metric.name} on the held-out rows), cash_fit_seconds{rounds}.")
    w("# Every other name it defines starts with cash_, CASH_ or Cash, so none of your variables changes.")
    w("import time")
    w("")
    if rename:
        w("import re")
        w("")
    w("import dask")
    w("import numpy as np")
    w("import pandas as pd")
    w("from distributed import Client, LocalCluster, get_client")
    w(f"from {booster.module} import {estimator}")
    if any("{local}" in line for line in booster.local):  # it rebuilds the pandas estimator
        w(f"from {fam.name} import {local}")
    w(f"from sklearn.metrics import {metric.function}")
    w("")
    w(f"CASH_TARGET = {profile.target!r}")
    for label, names in (("NUMERIC", numeric), ("CATEGORICAL", categorical), ("DATETIME", datetimes)):
        w(f"CASH_{label} = {list_code(names)}")
    excluded = {c.name: c.why for c in profile.columns if c.name not in features}
    if excluded:  # names are data: only ever in a literal
        w(f"CASH_LEFT_OUT = {excluded!r}  # not features, and why")
    w("")
    w("try:")
    w("    cash_client = get_client()  # the cluster this notebook already works with")
    w("except ValueError:")
    w("    cash_client = Client(LocalCluster())  # no cluster yet: one on this machine's cores")
    for helper in ("cash_datetime_parts", "cash_safe_names") if rename else ("cash_datetime_parts",):
        w("\n")
        w(HELPERS[helper].strip("\n"))
    w("\n")
    out.extend(_with_target(classification))
    w("\n")
    out.extend(_features_function(rename, booster.codes))
    w("\n")
    out.extend(_model_class(classification, log_target, [line.format(local=local) for line in booster.local]))
    w("\n")
    w(f"def cash_score(y_true, prediction, classes):  # {'higher' if metric.greater_is_better else 'lower'} is better")
    w(f"    return {metric.of_prediction.replace('CASH_CLASSES', 'classes')}")
    w("\n")
    out.extend(_levels_function(classification))
    w("\n")
    out.extend(_inputs_function(classification, log_target, fam.label))
    w("\n")
    out.extend(_validate_function(profile, config, booster, estimator, log_target, seed, metric))
    w("\n")
    out.extend(_train_function(config, booster, metric))
    return out


def _with_target(classification: bool) -> list[str]:
    kept = "frame[CASH_TARGET].notna()" if classification else 'np.isfinite(frame[CASH_TARGET].astype("float64"))'
    known = "present" if classification else "neither missing nor infinite"
    return [
        "def cash_with_target(frame):",
        f'    """The rows of a pandas frame (one partition) whose target is {known}."""',
        f"    return frame[{kept}]",
    ]


def _features_function(rename: bool, codes: bool) -> list[str]:
    named = "cash_safe_names(features)" if rename else "features"
    if codes:
        labels = [
            "    numbers as float64 (infinities missing), labels as their position among ``levels``, those of",
            '    the whole data in sorted order (-1 for a missing label or one it never saw), datetimes as numbers."""',
        ]
        encoded = "pd.Categorical(text.where(text.isin(levels[name])), categories=levels[name]).codes"
    else:
        labels = [
            "    numbers as float64 (infinities missing), labels as categoricals over ``levels``, those of the",
            '    whole data (a label it never saw is missing), datetimes as numbers."""',
        ]
        encoded = "pd.Categorical(text.where(text.isin(levels[name])), categories=levels[name])"
    return [
        "def cash_features(frame, levels):",
        '    """The model\'s columns from a pandas frame (one partition of a Dask frame, or new rows):',
        *labels,
        '    numbers = frame[CASH_NUMERIC].astype("float64").replace([np.inf, -np.inf], np.nan)',
        "    labels = {}",
        "    for name in CASH_CATEGORICAL:",
        "        text = frame[name].astype(str).where(frame[name].notna())",
        f"        labels[name] = {encoded}",
        "    when = cash_datetime_parts(frame[CASH_DATETIME], taken=CASH_NUMERIC + CASH_CATEGORICAL)",
        "    features = pd.concat([numbers, pd.DataFrame(labels, index=frame.index), when], axis=1)",
        f"    return {named}",
    ]


def _model_class(classification: bool, log_target: bool, local: list[str]) -> list[str]:
    out = [
        "class CashDaskModel:",
        '    """The fitted model with its feature preparation: predicts on the cluster for a Dask frame,',
        '    here for a pandas one."""',
        "",
        "    def __init__(self, estimator, levels, classes=None):",
        "        self.estimator, self.levels, self.classes = estimator, levels, classes",
        "",
        "    def _local(self):",
        *(f"        {line}" for line in local),
        "",
        "    def _run(self, method, frame):",
        "        if isinstance(frame, pd.DataFrame):",
        "            return getattr(self._local(), method)(cash_features(frame, self.levels))",
        "        predicted = getattr(self.estimator, method)(frame.map_partitions(cash_features, self.levels))",
        '        return predicted.to_dask_array() if hasattr(predicted, "to_dask_array") else predicted  # an array',
        "",
        "    def predict(self, frame):",
    ]
    if classification:
        out += [
            '        codes = self._run("predict", frame)  # the model learns the classes as 0, 1, …',
            "        if isinstance(frame, pd.DataFrame):",
            "            return self.classes[codes]",
            "        return codes.map_blocks(self.classes.__getitem__, dtype=self.classes.dtype)",
        ]
        out += ["", "    def predict_proba(self, frame):", '        return self._run("predict_proba", frame)']
    elif log_target:
        out.append('        return np.expm1(self._run("predict", frame))  # the model learns log(1 + target)')
    else:
        out.append('        return self._run("predict", frame)')
    return out


def _levels_function(classification: bool) -> list[str]:
    out = [
        "def cash_label_levels(data):",
        '    """One pass over the data for what every partition must agree on: the levels of each label',
        "    column" + (', and the classes (sorted)."""' if classification else ' (and no classes: a regression)."""'),
        "    found = dask.compute(",
        "        [data[name].dropna().astype(str).drop_duplicates(split_out=1) for name in CASH_CATEGORICAL],",
    ]
    if classification:
        out.append("        data[CASH_TARGET].drop_duplicates(split_out=1),")
    out += [
        "    )",
        "    levels = {name: sorted(values) for name, values in zip(CASH_CATEGORICAL, found[0])}",
        "    return levels, " + ("np.sort(np.asarray(found[1]))" if classification else "None"),
    ]
    return out


def _inputs_function(classification: bool, log_target: bool, label: str) -> list[str]:
    out = [
        "def cash_inputs(data, levels, classes):",
        '    """The model\'s features and target (lazily: nothing is read yet)."""',
        "    X = data.map_partitions(cash_features, levels)",
    ]
    if classification:
        out += [
            f"    target = data[CASH_TARGET].map_partitions(  # the classes numbered 0, 1, … as {label} needs",
            "        lambda y: pd.Series(np.searchsorted(classes, y.to_numpy()), index=y.index),",
            '        meta=(CASH_TARGET, "int64"),',
            "    )",
        ]
    elif log_target:
        out.append('    target = np.log1p(data[CASH_TARGET].astype("float64"))  # the model learns log(1 + target)')
    else:
        out.append('    target = data[CASH_TARGET].astype("float64")')
    return out + ["    return X, target"]


def _validate_function(
    profile: TaskProfile,
    config: Config,
    booster: DaskBooster,
    estimator: str,
    log_target: bool,
    seed: int,
    metric,
) -> list[str]:
    fam = family(config.family)
    spec = fam.estimator(profile.task)
    classification = profile.is_classification
    kwargs = estimator_kwargs(config) | {spec.seed_param: seed} | spec.fixed
    stops = fam.stops_early(config.params)
    cap = config.params.get(fam.rounds) if stops else None
    if stops and booster.stops:
        kwargs["early_stopping_rounds"] = PATIENCE
        how = f"    it stops after {PATIENCE} rounds in a row that did not improve the score there;"
    elif stops:
        how = f"    the rounds kept are those that scored best there ({', '.join(map(str, checkpoints(cap)))});"
    returned = f"returns the model, its {metric.name} there" + (" and the rounds kept" if stops else "")
    out = [f"# note: {note}" for note in config.notes]
    out += [
        "def cash_validate(X, target, classes):",
        f'    """Train on a random {1 - HOLD_OUT:.0%} of the rows (seed {seed}) and score the held-out {HOLD_OUT:.0%};',
        *([how] if stops else []),
        f'    {returned}."""',
        f"    X_train, X_valid = X.random_split([{1 - HOLD_OUT:g}, {HOLD_OUT:g}], random_state={seed})",
        f"    y_train, y_valid = target.random_split([{1 - HOLD_OUT:g}, {HOLD_OUT:g}], random_state={seed})",
        f"    model = {estimator}(",
    ]
    comment = "  # at most: the held-out rows choose the rounds" if stops else ""
    out += [f"        {key}={value!r},{comment if key == fam.rounds else ''}" for key, value in kwargs.items()]
    out.append("    )")
    method = "predict_proba" if classification else "predict"
    predicted = f"model.{method}(X_valid{{}}).compute()"
    if log_target:
        truth, predicted = "np.expm1(y_valid.compute().to_numpy())", f"np.expm1({predicted})"
    else:
        truth = "y_valid.compute().to_numpy()"
    labels = "labels" if classification else "None"
    if classification:
        out.append("    labels = np.arange(len(classes))  # the classes as the model numbers them")
    if not stops:
        return out + [
            "    model.fit(X_train, y_train)",
            f"    score = cash_score({truth}, {predicted.format('')}, {labels})",
            "    return model, score",
        ]
    if booster.stops:
        return out + [
            "    model.fit(X_train, y_train, eval_set=[(X_valid, y_valid)], verbose=False)",
            f"    score = cash_score({truth}, {predicted.format('')}, {labels})  # with the rounds kept",
            "    return model, score, model.best_iteration + 1",
        ]
    best = "max" if metric.greater_is_better else "min"
    return out + [
        "    model.fit(X_train, y_train)",
        "    # lightgbm.dask cannot stop early: the held-out rows score the rounds at these checkpoints",
        "    X_valid, y_valid = dask.persist(X_valid, y_valid)  # read once, scored at every checkpoint",
        f"    truth, scores = {truth}, {{}}",
        f"    for rounds in {checkpoints(cap)!r}:",
        f"        scores[rounds] = cash_score(truth, {predicted.format(', num_iteration=rounds')}, {labels})",
        f"    rounds = {best}(scores, key=scores.get)",
        "    return model, scores[rounds], rounds",
    ]


def _train_function(config: Config, booster: DaskBooster, metric) -> list[str]:
    fam = family(config.family)
    cap = config.params.get(fam.rounds)
    out = [
        "def cash_train(frame):",
        f'    """Validate on a held-out {HOLD_OUT:.0%} of the rows that have a target (``cash_validate``), then fit',
    ]
    if not fam.stops_early(config.params):
        return out + [
            f"    on all of them; returns the model, its {metric.name} on the held-out rows and the seconds it",
            '    took."""',
            *_prepared_lines(),
            "    model, score = cash_validate(X, target, classes)",
            "    seconds = time.perf_counter() - started",
            f'    print(f"held-out rows: {metric.name} {{score:.4f}} ({{seconds:.1f}} s); final fit on all rows…")',
            "    model.fit(X, target)",
            "    return CashDaskModel(model, levels, classes), np.array([score]), time.perf_counter() - started",
        ]
    stopped = ", early_stopping_rounds=None" if booster.stops else ""
    return out + [
        f"    on all of them with the rounds kept there; returns the model, its {metric.name} on the held-out",
        '    rows, the seconds it took and the rounds."""',
        *_prepared_lines(),
        "    model, score, rounds = cash_validate(X, target, classes)",
        "    seconds = time.perf_counter() - started",
        f'    print(f"held-out rows: {metric.name} {{score:.4f}} after {{rounds}} of {cap} rounds "',
        '          f"({seconds:.1f} s); final fit on all rows with {rounds} rounds…")',
        f"    model.set_params({fam.rounds}=rounds{stopped})",
        "    model.fit(X, target)",
        f"    rounds_kept = {{'cap': {cap}, 'kept': [rounds], 'final': rounds}}",
        "    seconds = time.perf_counter() - started  # the validation and the final fit",
        "    return CashDaskModel(model, levels, classes), np.array([score]), seconds, rounds_kept",
    ]


def _prepared_lines() -> list[str]:
    return [
        "    started = time.perf_counter()",
        "    data = frame.map_partitions(cash_with_target)",
        "    levels, classes = cash_label_levels(data)",
        "    X, target = cash_inputs(data, levels, classes)",
    ]
