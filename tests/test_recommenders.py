"""The defaults recommender: library defaults ranked by a transparent rule; strategy names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from llm_cash_magic import CashError, profile, recommend
from llm_cash_magic.recommenders import get_recommender
from llm_cash_magic.space import family


def frame(rows: int, features: int = 5, categorical: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(rows, features)), columns=[f"f{i}" for i in range(features)])
    if categorical:
        df["cat"] = rng.choice(["a", "b", "c"], rows)
    df["y"] = rng.normal(size=rows)
    return df


@pytest.mark.parametrize(
    "rows, features, first, second",
    [
        (500, 5, "linear", "random_forest"),  # small
        (3000, 400, "linear", "random_forest"),  # wide
        (5000, 5, "hist_gradient_boosting", "lightgbm"),
        (20000, 5, "lightgbm", "hist_gradient_boosting"),
    ],
)
def test_ranking_follows_the_size_rule(rows, features, first, second):
    recs = recommend(profile(frame(rows, features), "y"), strategy="defaults", n=7)
    assert [r.family for r in recs[:2]] == [first, second]
    assert len({r.family for r in recs}) == 7


def test_every_recommendation_is_the_library_default_with_a_reason():
    prof = profile(frame(20000, 5, categorical=True), "y")
    for rec in recommend(prof, strategy="defaults"):
        assert rec.params == family(rec.family).defaults(prof.task)
        assert rec.source == "defaults" and rec.notes == ()
    assert "20,000 rows of mixed numeric/categorical data" in recommend(prof, strategy="defaults")[0].rationale


def test_n_limits_the_list():
    assert len(recommend(profile(frame(500), "y"), n=2)) == 2


def test_bad_n_and_strategy():
    prof = profile(frame(500), "y")
    with pytest.raises(CashError, match="n=0 must be a positive integer"):
        recommend(prof, n=0)
    with pytest.raises(CashError, match="strategy='best' is not a strategy"):
        get_recommender("best")
