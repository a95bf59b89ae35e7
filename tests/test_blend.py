"""Blends: generated code that cross-validates a soft-voting (or stacking) ensemble of configs."""

import contextlib
import io

import numpy as np
import pandas as pd
import pytest
from conftest import newest_code
from sklearn.model_selection import KFold, cross_val_predict

import llm_cash_magic as cash
from llm_cash_magic.codegen import BLEND, blend_params_of, generate_blend_code
from llm_cash_magic.errors import CashError
from llm_cash_magic.run.evaluation import fit_blend
from llm_cash_magic.space import validate

MEMBERS = ("lightgbm", "random_forest", "linear")


def configs(task):
    return [validate(name, {"n_estimators": 20} if name != "linear" else {}, task) for name in MEMBERS]


def run(code, name, df):
    namespace = {name: df}
    exec(compile(code, "<blend>", "exec"), namespace)
    return namespace


def test_blend_code_cross_validates_a_soft_voting_classifier(churn):
    prof = cash.profile(churn, "churned")
    ns = run(generate_blend_code(prof, configs(prof.task), data_name="churn", cv=3), "churn", churn)
    assert type(ns["cash_model"]).__name__ == "VotingClassifier"
    assert ns["cash_model"].voting == "soft"
    assert len(ns["cash_scores"]) == 3 and np.all((ns["cash_scores"] > 0.5) & (ns["cash_scores"] <= 1))
    assert set(ns["cash_model"].predict(churn.drop(columns="churned").head(5))) <= {"yes", "no"}


def test_blend_code_averages_regressors_on_hostile_column_names(houses):
    df = houses.rename(columns={"city": 'ci"ty:[x]', "area": "area m²"})
    prof = cash.profile(df, "price")
    ns = run(generate_blend_code(prof, configs(prof.task), data_name="df", cv=3), "df", df)
    assert type(ns["cash_model"]).__name__ == "VotingRegressor"
    assert np.all(np.isfinite(ns["cash_scores"])) and ns["cash_model"].predict(df.head(3)).shape == (3,)


def test_blend_code_names_each_member_and_shares_preprocessing_per_kind(houses):
    prof = cash.profile(houses, "price")
    code = generate_blend_code(prof, configs(prof.task), data_name="houses")
    assert "blend of 3 models (soft voting, weights by ensemble selection)" in code
    for member in ("lightgbm_1", "random_forest_2", "linear_3"):
        assert f'("{member}", Pipeline' in code
    assert code.count("lightgbm_preprocess = ColumnTransformer(") == 1
    assert code.count("tree_preprocess = ColumnTransformer(") == 1


def test_stacking_fits_a_linear_model_over_the_members(churn):
    prof = cash.profile(churn, "churned")
    code = generate_blend_code(prof, configs(prof.task), method="stacking", data_name="churn", cv=3)
    model = run(code, "churn", churn)["cash_model"]
    assert type(model.final_estimator_).__name__ == "LogisticRegression"
    assert model.predict_proba(churn.drop(columns="churned").head(4)).shape == (4, 2)
    # the members' out-of-fold predictions come from shuffled, seeded folds (sorted rows stay fair)
    assert (model.cv.n_splits, model.cv.shuffle, model.cv.random_state) == (3, True, 0)


def test_a_blend_needs_two_configurations(churn):
    prof = cash.profile(churn, "churned")
    with pytest.raises(CashError, match="at least 2"):
        generate_blend_code(prof, configs(prof.task)[:1])


def test_an_unknown_blend_method_is_refused(churn):
    prof = cash.profile(churn, "churned")
    with pytest.raises(CashError, match="voting, stacking"):
        generate_blend_code(prof, configs(prof.task), method="bagging")


def test_blend_params_are_read_back_from_the_ensemble(churn):
    prof = cash.profile(churn, "churned")
    model = fit_blend(prof, configs(prof.task), churn, cv=3)
    model.set_params(random_forest_2__model__n_estimators=7)  # an edit made in the cell
    params = blend_params_of(model, prof.task)
    assert params["method"] == "voting" and params["weights"] == [float(w) for w in model.weights]
    assert [m["family"] for m in params["members"]] == list(MEMBERS)
    assert params["members"][1]["params"]["n_estimators"] == 7


def test_blend_flag_trains_and_records_a_blend_of_the_n_recommendations(ip, churn, history, capsys):
    ip.user_ns["churn"] = churn
    ip.run_line_magic("cash", "churn target=churned strategy=defaults n=3 cv=3 --blend")
    out = capsys.readouterr().out
    assert "training a blend of all 3, weighted by ensemble selection" in out
    assert "VotingClassifier(" in newest_code()
    trial = history.runs()[0]["trials"][0]
    assert trial["family"] == BLEND and trial["status"] == "done"
    assert len(trial["params"]["members"]) == 3 and 0.5 < trial["cv_mean"] <= 1


def test_blend_flag_with_a_single_recommendation_is_refused(ip, churn):
    from IPython.core.error import UsageError

    ip.user_ns["churn"] = churn
    with pytest.raises(UsageError, match="n=2 or more"):
        ip.run_line_magic("cash", "churn target=churned n=1 --blend")


def test_blends_are_shown_in_the_history_but_never_recommended_as_one_config(ip, churn, history, capsys):
    ip.user_ns["churn"] = churn
    ip.run_line_magic("cash", "churn target=churned strategy=defaults n=2 cv=3 --blend")
    capsys.readouterr()
    ip.run_line_magic("cash", "history")
    assert "blend of 2" in capsys.readouterr().out
    [task] = history.measured_tasks()  # the blend is not a configuration to recommend: only its references
    assert [t["family"] for t in task.trials] == ["lightgbm"] and task.trivial == 0.5


def test_ensemble_selection_gives_a_useless_member_weight_zero(churn):
    df = churn.copy()
    prof = cash.profile(df, "churned")
    members = configs(prof.task) + [validate("knn", {"n_neighbors": 1}, prof.task)]  # 1-NN: a weak member
    ns = run(generate_blend_code(prof, members, data_name="df", cv=3), "df", df)
    model = ns["cash_model"]
    weights = dict(zip([name for name, _ in model.estimators], model.weights, strict=True))
    assert 1 <= sum(weights.values()) <= 25 and weights["knn_4"] == 0
    assert blend_params_of(model, prof.task)["weights"] == [float(w) for w in model.weights]


def test_each_fold_is_scored_with_weights_chosen_without_its_rows(houses):
    prof = cash.profile(houses, "price")
    code = generate_blend_code(prof, configs(prof.task), data_name="houses", cv=3)
    with contextlib.redirect_stdout(io.StringIO()):
        ns = run(code, "houses", houses)
    select, score = ns["cash_select_weights"], ns["cash_blend_score"]
    X, y, folds = houses.drop(columns="price"), houses["price"], KFold(n_splits=3, shuffle=True, random_state=0)
    predictions = {name: cross_val_predict(member, X, y, cv=folds) for name, member in ns["cash_model"].estimators}
    for (train, test), reported in zip(folds.split(X, y), ns["cash_scores"], strict=True):
        chosen = select({name: p[train] for name, p in predictions.items()}, y.iloc[train])
        blended = sum(w * predictions[name][test] for name, w in chosen.items()) / sum(chosen.values())
        assert reported == pytest.approx(score(y.iloc[test], blended))
    # the final model's weights are chosen on every row, and the blend beats its worst member
    assert list(ns["cash_model"].weights) == list(select(predictions, y).values())
    assert ns["cash_scores"].mean() < max(score(y, p) for p in predictions.values())  # rmse: lower is better


@pytest.mark.parametrize("metric", ["log_loss", "accuracy", "balanced_accuracy", "f1_macro", "roc_auc_ovr"])
def test_ensemble_selection_scores_every_classification_metric(metric):
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"a": rng.normal(size=150), "b": rng.choice(["x", "y"], 150)})
    df["label"] = np.where(df["a"] > 0.5, "hi", np.where(df["a"] < -0.5, "lo", "mid"))
    prof = cash.profile(df, "label", metric=metric)
    ns = run(generate_blend_code(prof, configs(prof.task)[1:], data_name="df", cv=3), "df", df)
    assert np.isfinite(ns["cash_scores"]).all()
