"""Blends: soft voting weighted by greedy ensemble selection, or stacking; how a blend is stored."""

from __future__ import annotations

from ..errors import CashError
from ..space import FAMILIES, Config, family_of, params_from_estimator
from .preprocess import PREPROCESS_NAMES, Member, pipeline_code
from .training import Training, data_lines, final_fit_lines, result_lines

BLEND_METHODS = {
    "voting": ("VotingClassifier", "VotingRegressor"),
    "stacking": ("StackingClassifier", "StackingRegressor"),
}
BLEND = "blend"  # the family name a blend's trial carries in the history


def blend_params(configs: list[Config], method: str = "voting", weights: list | None = None) -> dict:
    """How a blend is stored in the history: its method, each member's family and params, and
    the weights its code chose (a voting blend's, once trained)."""
    params = {"method": check_method(method), "members": [{"family": c.family, "params": c.params} for c in configs]}
    if weights is not None:
        params["weights"] = [float(w) for w in weights]
    return params


def blend_params_of(model, task: str) -> dict:
    """``blend_params`` read back from an ensemble, so edits made in the cell are what is recorded."""
    method = "stacking" if type(model).__name__.startswith("Stacking") else "voting"
    configs = []
    for _, member in model.estimators:
        estimator = estimator_of(member)
        name = family_of(estimator)
        if name is None:
            raise CashError(f"blend member {type(estimator).__name__} is not one of: {', '.join(FAMILIES)}")
        configs.append(Config(name, params_from_estimator(name, task, estimator)))
    return blend_params(configs, method, getattr(model, "weights", None))


def estimator_of(model):
    """The estimator of a generated pipeline (itself if it is none), unwrapped from the
    TransformedTargetRegressor that learns log(1 + target) for rmsle, or from the Dask code's model."""
    if type(model).__name__ == "CashDaskModel":
        return model.estimator
    estimator = model.steps[-1][1] if hasattr(model, "steps") else model
    return estimator.regressor if type(estimator).__name__ == "TransformedTargetRegressor" else estimator


def check_method(method: str) -> str:
    if method not in BLEND_METHODS:
        raise CashError(f"blend method {method!r} is not known; use one of: {', '.join(BLEND_METHODS)}")
    return method


def blend_members(configs) -> list[Config]:
    configs = list(configs)
    if len(configs) < 2:
        raise CashError(f"a blend needs at least 2 configurations, got {len(configs)}; ask for n=2 or more")
    return configs


def blend_label(method: str) -> str:
    return "soft voting, weights by ensemble selection" if method == "voting" else "stacking"


def emit_ensemble(members: list[Member], method: str, ensemble: str, inner_cv: str) -> list[str]:
    lines = ["", f"cash_model = {ensemble}(", "    ["]
    for m in members:
        lines.append(f'        ("{m.name}", {pipeline_code(m, PREPROCESS_NAMES[m.family.preprocessing])}),')
    lines.append("    ],")
    if method == "voting" and ensemble == "VotingClassifier":
        lines.append('    voting="soft",  # average the predicted probabilities')
    if method == "stacking":
        final = "LogisticRegression(max_iter=1000)" if ensemble == "StackingClassifier" else "RidgeCV()"
        lines.append(f"    final_estimator={final},  # learns how to weigh the models' out-of-fold predictions")
        lines.append(f"    cv={inner_cv},  # shuffled: sorted rows must not make the folds lopsided")
    lines.append(")")
    return lines


def selection_lines(
    training: Training, metric, classification: bool, seed: int, stopping: dict[str, str] | None = None
) -> list[str]:
    """A soft-voting blend whose weights come from greedy ensemble selection (Caruana et al., 2004)
    on out-of-fold predictions: weak members get weight 0 instead of diluting the strong ones. Each
    fold is scored with weights chosen on the other folds, so the CV score is an honest one.
    ``stopping`` maps the members whose boosting stops early to their rounds parameter: each stops
    within every fold, and the final fit trains the rounds its folds kept on average."""
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
        *(_out_of_fold_lines(method, stopping) if stopping else []),
        "def cash_train(model, frame):",
        '    """Cross-validate the blend on the rows of ``frame`` that have a target, each fold scored with',
        "    weights chosen on the other folds, then fit it on all of them with weights chosen on every row;",
        f'    returns the {metric.name} of each fold and the seconds it all took."""',
    ]
    out += data_lines(training, classification, seed)
    w = out.append
    w("    started = time.perf_counter()")
    w("    predictions = {}")
    w("    for name, member in model.estimators:")
    if stopping:
        w("        if name in CASH_ROUNDS:  # it stops early in each fold; the final fit trains what they kept")
        w("            predictions[name], kept = cash_out_of_fold(member, X, y, folds)")
        w("            member.set_params(**{CASH_ROUNDS[name]: max(1, round(float(np.mean(kept))))})")
        w("            continue")
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
    out.extend(final_fit_lines(training.cv))
    w("    model.fit(X, y)")
    w('    print("weights:", ", ".join(f"{name} {weight}" for name, weight in weights.items()))')
    w("    return np.array(scores), time.perf_counter() - started")
    if training.labels:
        classes = ("CASH_CLASSES = CASH_LABELS.transform(CASH_LABELS.classes_)  # predict_proba's column order",)
    else:
        classes = (
            f"CASH_CLASSES = np.unique({training.data_name}[CASH_TARGET].dropna().to_numpy())  # predict_proba's order",
        )
    return out + result_lines(training, metric, classes if classification else ())


def _out_of_fold_lines(method: str, stopping: dict[str, str]) -> list[str]:
    """``CASH_ROUNDS`` and ``cash_out_of_fold``: out-of-fold predictions of members that stop early."""
    return [
        f"CASH_ROUNDS = {stopping!r}  # members that stop early, and their rounds parameter",
        "",
        "",
        "def cash_out_of_fold(member, X, y, folds):",
        '    """Out-of-fold predictions of a member that stops early within each fold, and the rounds each kept."""',
        "    predictions, kept = None, []",
        "    for train, test in folds.split(X, y):",
        "        fitted, rounds = cash_fit_stopping_early(clone(member), X.iloc[train], y.iloc[train])",
        "        kept.append(rounds)",
        f"        predicted = fitted.{method.strip(chr(34))}(X.iloc[test])",
        "        if predictions is None:",
        "            predictions = np.zeros((len(X),) + predicted.shape[1:])",
        "        predictions[test] = predicted",
        "    return predictions, kept",
        "",
        "",
    ]
