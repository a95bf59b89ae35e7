"""The cross-validation and final fit that end a single model's generated code, and the early
stopping that boosted configurations use in it (and in a blend's)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

FOLD_LINE = re.compile(r"^fold (\d+)/(\d+): (\w+) (\S+)$")  # what training code prints per fold
PATIENCE = 50  # rounds without improvement on the held-out rows before boosting stops
HELD_OUT = 0.1  # the share of a fit's rows held out to stop on
SPLIT_OUT = 0.2  # cv=1: one split instead of folds, scored on this share of the rows (large data)

# How each library stops early on (X_stop, y_stop), and how many rounds it kept (its best).
_STOPS = {
    "lightgbm": (
        "with warnings.catch_warnings():  # LightGBM >= 4.7 deprecates eval_set (its eval_y takes no labels yet)\n"
        "    warnings.filterwarnings('ignore', \"The argument 'eval_set' is deprecated\")\n"
        "    booster.fit(X_fit, y_fit, eval_set=[(X_stop, y_stop)], "
        "callbacks=[early_stopping({patience}, verbose=False)])",
        "booster.best_iteration_",
        "LGBMModel",
    ),
    "xgboost": (
        "booster.set_params(early_stopping_rounds={patience}).fit(X_fit, y_fit, eval_set=[(X_stop, y_stop)], "
        "verbose=False)",
        "booster.best_iteration + 1",
        "XGBModel",
    ),
    "catboost": (
        "booster.fit(X_fit, y_fit, eval_set=(X_stop, y_stop), early_stopping_rounds={patience})",
        "booster.get_best_iteration() + 1",
        "CatBoost",
    ),
}
STOP_IMPORTS = {
    "lightgbm": ("lightgbm", "LGBMModel"),
    "xgboost": ("xgboost", "XGBModel"),
    "catboost": ("catboost", "CatBoost"),
}


@dataclass(frozen=True)
class Training:
    data_name: str
    cv: int
    trial_id: str | None
    source: str
    labels: bool = False  # classes numbered 0, 1, … by CASH_LABELS (XGBoost wants no other labels)


def splitter_name(classification: bool, cv: int) -> str:
    """The scikit-learn splitter of ``splitter_code``."""
    if cv == 1:
        return "StratifiedShuffleSplit" if classification else "ShuffleSplit"
    return "StratifiedKFold" if classification else "KFold"


def splitter_code(classification: bool, cv: int, seed: int) -> str:
    """The folds generated code scores on: ``cv`` shuffled folds (stratified for classification), or
    with cv=1 a single split holding out ``SPLIT_OUT`` of the rows, for data too large for folds."""
    name = splitter_name(classification, cv)
    if cv == 1:
        return f"{name}(n_splits=1, test_size={SPLIT_OUT}, random_state={seed})"
    return f"{name}(n_splits={cv}, shuffle=True, random_state={seed})"


def scored_rows(n_rows: int, cv: int) -> int:
    """The rows a fold scores on (at most): one of ``cv`` folds, or with cv=1 the held-out split."""
    return math.ceil(n_rows * SPLIT_OUT) if cv == 1 else math.ceil(n_rows / cv)


def validation_words(cv: int, classification: bool) -> str:
    """How the code validates, in the words of its header and of the profile's notes."""
    stratified = "stratified " if classification else ""
    if cv == 1:
        return f"one {stratified}held-out split of {SPLIT_OUT:.0%} of the rows"
    return f"{cv}-fold {stratified}CV"


def validation_fits(cv: int) -> float:
    """What validating on ``cv`` folds costs in fits on every row: each fold trains on (cv - 1)/cv of
    them (one split: on 1 - SPLIT_OUT of them). The final fit takes the validation's time over it."""
    return 1 - SPLIT_OUT if cv == 1 else cv - 1


def final_fit_lines(cv: int) -> list[str]:
    """The lines said before the final fit, on large data the longest wait, with how long it should
    take: the validation's time over ``validation_fits``."""
    pace = f"{validation_fits(cv):g}  # the " + ("split's pace" if cv == 1 else "folds' pace")
    return [
        f"    expected = (time.perf_counter() - started) / {pace}, on every row",
        '    print(f"final fit on all {len(X):,} rows, about {expected:.1f} s…")',
    ]


LABELS_LINES = (
    "# XGBoost wants the classes numbered 0, 1, …: cash_model predicts those numbers, and",
    "# CASH_LABELS.inverse_transform(cash_model.predict(new_df)) gives back the labels.",
)


def stopping_helper(families: list[str], classification: bool, seed: int) -> list[str]:
    """``cash_fit_stopping_early``: fit a pipeline whose booster (of one of ``families``) stops early."""
    stratify = "y" if classification else "None"
    by = "stratified by class, " if classification else ""
    lines = [
        "def cash_fit_stopping_early(model, X, y):",
        f'    """Fit the pipeline ``model``, stopping its boosting early: a tenth of the rows ({by}seeded) is',
        f"    held out, and boosting stops once {PATIENCE} rounds in a row have not improved the score on them.",
        '    Returns the fitted pipeline and the number of rounds it kept."""',
        f"    X_fit, X_stop, y_fit, y_stop = train_test_split(X, y, test_size={HELD_OUT}, random_state={seed}, "
        f"stratify={stratify})",
        "    preprocess, booster = model[:-1].fit(X_fit, y_fit), model[-1]",
        "    X_fit, X_stop = preprocess.transform(X_fit), preprocess.transform(X_stop)",
    ]
    for i, name in enumerate(families):
        fit, kept, base = _STOPS[name]
        body = [*fit.format(patience=PATIENCE).splitlines(), f"return model, {kept}"]
        if len(families) > 1 and i < len(families) - 1:
            lines += [f"    if isinstance(booster, {base}):", *(f"        {line}" for line in body)]
        else:
            lines += [f"    {line}" for line in body]
    return lines


def stopping_imports(families: list[str]) -> dict[str, list[str]]:
    """What ``stopping_helper``'s code imports."""
    imports = {"sklearn.model_selection": ["train_test_split"]}
    if "lightgbm" in families:
        imports.setdefault("lightgbm", []).append("early_stopping")
    if len(families) > 1:
        for name in families[:-1]:
            module, base = STOP_IMPORTS[name]
            imports.setdefault(module, []).append(base)
    return imports


def data_lines(training: Training, classification: bool, seed: int) -> list[str]:
    """The start of ``cash_train``: the rows with a (finite) target, split into folds."""
    if classification:
        rows = "    data = frame[frame[CASH_TARGET].notna()]"
    else:
        rows = "    data = frame[frame[CASH_TARGET].replace([np.inf, -np.inf], np.nan).notna()]"
    values = "data[CASH_TARGET].to_numpy()"  # plain values: estimators refuse some pandas (pyarrow) dtypes
    if training.labels:
        values = f"CASH_LABELS.transform({values})"
    return [
        rows,
        "    X = data.drop(columns=[CASH_TARGET])",
        f"    y = pd.Series({values}, index=data.index)",
        f"    folds = {splitter_code(classification, training.cv, seed)}",
    ]


def result_lines(training: Training, metric, before: tuple[str, ...] = (), rounds: bool = False) -> list[str]:
    """The call of ``cash_train`` that leaves the results behind, and the one that records them;
    with ``rounds``, ``cash_train`` also returns the rounds the boosting kept."""
    results = "cash_scores, cash_fit_seconds" + (", cash_rounds" if rounds else "")
    if training.labels:
        before = (
            *LABELS_LINES,
            f"CASH_LABELS = LabelEncoder().fit({training.data_name}[CASH_TARGET].dropna().to_numpy())",
            *before,
        )
    lines = [
        "",
        "",
        *before,
        f"{results} = cash_train(cash_model, {training.data_name})",
        f'print(f"{metric.name}: {{cash_scores.mean():.4f}} ± {{cash_scores.std():.4f}} over {training.cv} '
        f'folds ({{cash_fit_seconds:.1f}} s)")'
        if training.cv > 1
        else f'print(f"{metric.name}: {{cash_scores[0]:.4f}} on the held-out rows ({{cash_fit_seconds:.1f}} s)")',
    ]
    if training.trial_id:
        extra = ", rounds=cash_rounds" if rounds else ""
        lines += [
            "",
            "# Record the result in llm_cash_magic's history (delete these two lines to run without it).",
            "import llm_cash_magic",
            f"llm_cash_magic.record_result({training.trial_id!r}, cash_model, cash_scores, cash_fit_seconds{extra})",
        ]
    return lines


def training_lines(training: Training, metric, classification: bool, seed: int, rounds: str | None = None) -> list[str]:
    """``cash_train`` for a single model; ``rounds`` names the pipeline's rounds parameter when its
    boosting stops early (each fold on held-out rows of its own; the final fit trains the rounds the
    folds kept on average)."""
    how = "Cross-validate" if training.cv > 1 else f"Validate (on a held-out {SPLIT_OUT:.0%})"
    if rounds:
        doc = [
            f'    """{how} ``model`` on the rows of ``frame`` that have a target, each fold stopping early',
            "    on held-out rows of its own, then fit it on all of them for the rounds the folds kept on average;",
            f'    returns the {metric.name} of each fold, the seconds it all took, and the rounds."""',
        ]
    else:
        doc = [
            f'    """{how} ``model`` on the rows of ``frame`` that have a target, then fit it on all of',
            f'    them; returns the {metric.name} of each fold and the seconds it all took."""',
        ]
    out = ["", "", "def cash_train(model, frame):", *doc]
    out += data_lines(training, classification, seed)
    w = out.append
    w(f"    scorer = get_scorer({metric.scorer!r})")
    w("    started = time.perf_counter()")
    w("    scores, kept = [], []" if rounds else "    scores = []")
    w("    for fold, (train, test) in enumerate(folds.split(X, y), start=1):")
    if rounds:
        w("        fitted, rounds = cash_fit_stopping_early(clone(model), X.iloc[train], y.iloc[train])")
        w("        kept.append(rounds)")
    else:
        w("        fitted = clone(model).fit(X.iloc[train], y.iloc[train])")
    if metric.scorer.startswith("neg_"):
        w("        scores.append(-scorer(fitted, X.iloc[test], y.iloc[test]))  # scikit-learn negates losses")
    else:
        w("        scores.append(scorer(fitted, X.iloc[test], y.iloc[test]))")
    w(f'        print(f"fold {{fold}}/{training.cv}: {metric.name} {{scores[-1]:.4f}}")')
    if rounds:
        w(f'    cap, final = model.get_params()["{rounds}"], max(1, round(float(np.mean(kept))))')
        w(f"    model.set_params({rounds}=final)  # the rounds the folds kept, on average")
        out.extend(final_fit_lines(training.cv))
        w("    model.fit(X, y)")
        w('    print(f"rounds kept by the folds: {kept}; the final fit trains {final} (at most {cap})")')
        w('    return np.array(scores), time.perf_counter() - started, {"cap": cap, "kept": kept, "final": final}')
    else:
        out.extend(final_fit_lines(training.cv))
        w("    model.fit(X, y)")
        w("    return np.array(scores), time.perf_counter() - started")
    return out + result_lines(training, metric, rounds=bool(rounds))
