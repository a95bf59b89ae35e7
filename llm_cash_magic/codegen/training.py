"""The cross-validation and final fit that end a single model's generated code."""

from __future__ import annotations

import re
from dataclasses import dataclass

FOLD_LINE = re.compile(r"^fold (\d+)/(\d+): (\w+) (\S+)$")  # what training code prints per fold


@dataclass(frozen=True)
class Training:
    data_name: str
    cv: int
    trial_id: str | None
    source: str


def data_lines(training: Training, classification: bool, seed: int) -> list[str]:
    """The start of ``cash_train``: the rows with a (finite) target, split into folds."""
    splitter = "StratifiedKFold" if classification else "KFold"
    if classification:
        rows = "    data = frame[frame[CASH_TARGET].notna()]"
    else:
        rows = "    data = frame[frame[CASH_TARGET].replace([np.inf, -np.inf], np.nan).notna()]"
    return [
        rows,
        "    X, y = data.drop(columns=[CASH_TARGET]), data[CASH_TARGET]",
        f"    folds = {splitter}(n_splits={training.cv}, shuffle=True, random_state={seed})",
    ]


def result_lines(training: Training, metric, before: tuple[str, ...] = ()) -> list[str]:
    """The call of ``cash_train`` that leaves the results behind, and the one that records them."""
    lines = [
        "",
        "",
        *before,
        f"cash_scores, cash_fit_seconds = cash_train(cash_model, {training.data_name})",
        f'print(f"{metric.name}: {{cash_scores.mean():.4f}} ± {{cash_scores.std():.4f}} over {training.cv} '
        f'folds ({{cash_fit_seconds:.1f}} s)")',
    ]
    if training.trial_id:
        lines += [
            "",
            "# Record the result in llm_cash_magic's history (delete these two lines to run without it).",
            "import llm_cash_magic",
            f"llm_cash_magic.record_result({training.trial_id!r}, cash_model, cash_scores, cash_fit_seconds)",
        ]
    return lines


def training_lines(training: Training, metric, classification: bool, seed: int) -> list[str]:
    out = [
        "",
        "",
        "def cash_train(model, frame):",
        '    """Cross-validate ``model`` on the rows of ``frame`` that have a target, then fit it on all of',
        f'    them; returns the {metric.name} of each fold and the seconds it all took."""',
    ]
    out += data_lines(training, classification, seed)
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
    return out + result_lines(training, metric)
