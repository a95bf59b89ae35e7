"""The shared pieces of generated code: the helper functions it defines, the ColumnTransformer
that suits each kind of family, and literals made safe (``repr`` only, never spliced text)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..space import Estimator, Family

BAD_NAME = re.compile(r'[",:\[\]{}<>\s\x00-\x1f\x7f]')  # characters LightGBM or XGBoost refuse or mangle

HELPERS = {
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
    "cash_as_labels": '''
def cash_as_labels(frame):
    """Category labels as strings, missing ones as "(missing)": CatBoost's categoricals hold no NaN."""
    return frame.astype(str).astype(object).where(frame.notna(), "(missing)")
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
    "cash_safe_names": '''
def cash_safe_names(frame):
    """Feature names LightGBM and XGBoost accept: ",:[]{}<>", whitespace and control characters become
    '_' (they refuse or mangle them), an empty name '_', and a repeated name gets a number."""
    names = []
    for name in frame.columns:
        clean = re.sub(r'[",:\\[\\]{}<>\\s\\x00-\\x1f\\x7f]', "_", name) or "_"
        label, number = clean, 1
        while label in names:
            number += 1
            label = f"{clean}_{number}"
        names.append(label)
    return frame.set_axis(names, axis=1)
''',
}


PREPROCESS_NAMES = {
    "native": "cash_lightgbm_preprocess",
    "catboost": "cash_catboost_preprocess",
    "ordinal": "cash_tree_preprocess",
    "scaled": "cash_scaled_preprocess",
}
PREPROCESS_COMMENTS = {
    "native": "# LightGBM: numbers as floats, categories as pandas categoricals it splits on natively",
    "catboost": "# CatBoost: numbers as floats, categories as strings it encodes itself",
    "ordinal": "# trees: numbers as floats, categories as integer codes",
    "scaled": "# linear / kNN / MLP: missing values imputed, numbers scaled, categories one-hot encoded",
}
PANDAS_OUT = ("native", "catboost", "ordinal")  # kinds whose estimators read column names and dtypes


class Raw(str):
    """A Python expression emitted as is (our own constants only, never data)."""

    def __repr__(self) -> str:
        return str(self)


def list_code(names: list[str]) -> str:
    one_line = repr(names)
    if len(one_line) <= 90:
        return one_line
    return "[\n" + "".join(f"    {n!r},\n" for n in names) + "]"


STEP_IMPORTS = {
    "OrdinalEncoder": "sklearn.preprocessing",
    "OneHotEncoder": "sklearn.preprocessing",
    "StandardScaler": "sklearn.preprocessing",
    "SimpleImputer": "sklearn.impute",
}


def function_step(helper: str, arguments: str = "") -> str:
    """A FunctionTransformer step around one of our helpers; ``arguments``: its ``kw_args`` (code)."""
    names = "" if helper == "cash_datetime_parts" else ', feature_names_out="one-to-one"'  # it names its own
    kw_args = f", kw_args={arguments}" if arguments else ""
    return f"FunctionTransformer({helper}{names}{kw_args})"


def preprocessing(kind: str, numeric, categorical, datetimes):
    """ColumnTransformer steps for a family kind: [(name, [transformer code, ...], columns)],
    plus the helper functions and imports they need."""
    categorical_helper = {"native": "cash_as_category", "catboost": "cash_as_labels"}.get(kind, "cash_as_strings")
    categorical_steps = [function_step(categorical_helper)]
    if kind == "ordinal":
        categorical_steps += [
            'OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1,'
            " max_categories=254)",  # with missing values, 255 would make HistGradientBoosting see 256
        ]
    elif kind == "scaled":  # impute, scale, one-hot
        categorical_steps += [
            'SimpleImputer(strategy="constant", fill_value="(missing)")',
            'OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=30, sparse_output=False)',
        ]
    impute_scale = ['SimpleImputer(strategy="median", add_indicator=True)', "StandardScaler()"]
    extra = impute_scale if kind == "scaled" else []
    # the other features' names, which the datetime parts must not take
    taken = " + ".join(
        name for name, columns in (("CASH_NUMERIC", numeric), ("CASH_CATEGORICAL", categorical)) if columns
    )
    datetime_parts = function_step("cash_datetime_parts", f'{{"taken": {taken}}}' if taken else "")
    steps, helpers = [], []
    for name, columns, variable, helper, transformers in (
        ("numeric", numeric, "CASH_NUMERIC", "cash_as_float", [function_step("cash_as_float"), *extra]),
        ("categorical", categorical, "CASH_CATEGORICAL", categorical_helper, categorical_steps),
        ("datetime", datetimes, "CASH_DATETIME", "cash_datetime_parts", [datetime_parts, *extra]),
    ):
        if columns:
            steps.append((name, transformers, variable))
            helpers.append(helper)
    code = " ".join(t for _, transformers, _ in steps for t in transformers)
    imports: dict[str, list[str]] = {}
    for name, module in STEP_IMPORTS.items():
        if f"{name}(" in code:
            imports.setdefault(module, []).append(name)
    if any(len(t) > 1 for _, t, _ in steps):
        imports.setdefault("sklearn.pipeline", []).append("make_pipeline")
    return steps, helpers, imports


def emit_preprocess(steps, pandas_out: bool, variable_name: str) -> list[str]:
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


@dataclass(frozen=True)
class Member:
    """One estimator of the generated code: its name, family, class and arguments."""

    name: str  # in a blend, the ensemble's name for it ("lightgbm_1")
    family: Family
    estimator: Estimator
    kwargs: dict
    rename: bool  # LightGBM and XGBoost need its feature names cleaned
    notes: tuple[str, ...] = ()  # repairs the data forced, written as comments above the estimator
    comments: dict = field(default_factory=dict)  # argument name → why it is set, written beside it
    stops_early: bool = False  # boosting stops early on held-out rows (``cash_fit_stopping_early``)
    log_target: bool = False  # it learns log(1 + target) (for rmsle)

    @property
    def rounds(self) -> str:
        """The pipeline parameter that sets its boosting rounds, for the final fit of one that stops early."""
        return f"model__{self.family.rounds}"

    @property
    def variable(self) -> str:
        return f"cash_{self.name}"


def pipeline_code(member: Member, preprocess: str) -> str:
    steps = [f'("preprocess", {preprocess})']
    if member.rename:
        steps.append('("names", FunctionTransformer(cash_safe_names))')
    model = member.variable
    if member.log_target:  # rmsle: learn log(1 + y), predict exp(prediction) - 1, never below -1
        model = f"TransformedTargetRegressor({model}, func=np.log1p, inverse_func=np.expm1)"
    return f'Pipeline([{", ".join(steps)}, ("model", {model})])'
