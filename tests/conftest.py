"""Shared fixtures: an isolated history directory, an in-process IPython with the extension,
and small real-looking frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from IPython.testing import globalipapp

from llm_cash_magic.record import History


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Every test gets its own $LLM_CASH_HOME, so no test touches a real history."""
    path = tmp_path / "cash-home"
    monkeypatch.setenv("LLM_CASH_HOME", str(path))
    return path


@pytest.fixture
def history(home) -> History:
    return History.from_environment()


@pytest.fixture
def ip():
    """The in-process IPython shell with llm_cash_magic loaded and an empty user namespace."""
    shell = globalipapp.get_ipython()
    shell.reset(new_session=False)
    shell.run_line_magic("load_ext", "llm_cash_magic")
    shell.rl_next_input = None
    yield shell
    shell.config.pop("CashMagics", None)  # %config writes into the shell's config, which outlives a test
    shell.run_line_magic("unload_ext", "llm_cash_magic")
    shell.reset(new_session=False)


@pytest.fixture
def houses() -> pd.DataFrame:
    """300 rows: numeric, categorical, boolean, datetime, an ID and a price to predict."""
    rng = np.random.default_rng(7)
    n = 300
    area = rng.uniform(30, 200, n)
    rooms = rng.integers(1, 7, n)
    city = rng.choice(["Lyon", "Paris", "Nantes"], n)
    garden = rng.random(n) < 0.4
    sold = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D")
    price = 2000 * area + 15000 * rooms + np.where(city == "Paris", 150000, 0) + 20000 * garden
    price = price + rng.normal(0, 20000, n)
    return pd.DataFrame(
        {
            "house_id": np.arange(1000, 1000 + n),
            "area": area,
            "rooms": rooms,
            "city": city,
            "garden": garden,
            "sold": sold,
            "price": price,
        }
    )


@pytest.fixture
def churn() -> pd.DataFrame:
    """400 rows of a binary target with string labels, missing values and a category column."""
    rng = np.random.default_rng(11)
    n = 400
    tenure = rng.integers(1, 72, n).astype(float)
    tenure[rng.random(n) < 0.05] = np.nan
    plan = pd.Categorical(rng.choice(["basic", "plus", "pro"], n))
    charges = rng.normal(60, 20, n)
    logit = -0.04 * np.nan_to_num(tenure, nan=30) + 0.03 * charges - 0.5
    churned = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return pd.DataFrame({"tenure": tenure, "plan": plan, "charges": charges, "churned": churned})


# ---- LLM: a real OpenAI-compatible HTTP server, scripted per test --------------------------

API_KEY = "sk-test-" + "S3CR3T" * 6  # a key that must never show up anywhere


@pytest.fixture
def fake_llm():
    """The fake OpenAI-compatible server (tests/fake_openai.py); queue replies with ``.reply``."""
    from fake_openai import FakeOpenAI

    server = FakeOpenAI()
    yield server
    server.close()


@pytest.fixture
def llm_env(fake_llm, monkeypatch):
    """The environment of a user whose LLM is the fake server: base URL, key and model."""
    monkeypatch.setenv("OPENAI_BASE_URL", fake_llm.url)
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("LLM_CASH_MODEL", "fake-model")
    return fake_llm


@pytest.fixture
def llm_settings(llm_env):
    """Settings for the fake server without retries, so faults show at once."""
    from llm_cash_magic.recommenders.llm.settings import LLMSettings

    return LLMSettings.resolve(max_retries=0, timeout=5.0)


@pytest.fixture(autouse=True)
def no_real_llm(monkeypatch):
    """No test reaches a real endpoint, whatever the developer's environment holds."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LLM_CASH_MODEL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    """Output as a 200-column terminal shows it, so tests read whole lines; the width tests set theirs."""
    monkeypatch.setenv("COLUMNS", "200")


def frame(n_rows: int, n_numeric: int, n_categorical: int = 0, task: str = "binary", seed: int = 0) -> pd.DataFrame:
    """A random frame of the given shape with a target 'y' (binary labels or a number)."""
    rng = np.random.default_rng(seed)
    data = {f"x{i}": rng.normal(size=n_rows) for i in range(n_numeric)}
    data |= {f"c{i}": pd.Categorical(rng.choice(["a", "b", "c"], n_rows)) for i in range(n_categorical)}
    signal = data["x0"] if n_numeric else rng.normal(size=n_rows)
    data["y"] = np.where(signal + rng.normal(size=n_rows) > 0, "yes", "no") if task == "binary" else signal * 3
    return pd.DataFrame(data)


@pytest.fixture
def write_kb(tmp_path):
    """Write a knowledge base: pools per kind, and entries as (name, profile, quality per config),
    quality 0–100 higher is better (an AUC of quality / 100, or an RMSE of 1 − quality / 100; the
    trivial predictor scores as quality 0; None: not measured; a list: per fold, scored as their
    mean). A profile's row count is its size; ``seconds``, per configuration, what each took on every
    entry (1 s by default)."""
    import json

    from llm_cash_magic.recommenders.offline.knowledge import FORMAT

    def score(quality, task):
        return quality / 100 if task != "regression" else 1 - quality / 100

    def result(quality, task, seconds):
        if quality is None:
            return None
        if isinstance(quality, list):
            mean = sum(quality) / len(quality)
            return [score(mean, task), [score(q, task) for q in quality], seconds, mean]
        return [score(quality, task), None, seconds, quality]

    def write(tasks, classification=(), regression=(), path=None, fmt=FORMAT, seconds=None):
        path = path or tmp_path / "kb.json"
        data = {
            "format": fmt,
            "version": "test",
            "build": {"cv": 3, "sizes": [1000]},
            "configs": {
                "classification": [[c.family, c.params, "test"] for c in classification],
                "regression": [[c.family, c.params, "test"] for c in regression],
            },
            "tasks": [
                {
                    "name": name,
                    "size": prof.n_rows,
                    "source": "test",
                    "profile": prof.to_dict(),
                    "trivial": [score(0, prof.task)],
                    "results": [
                        result(q, prof.task, s)
                        for q, s in zip(qualities, seconds or [1.0] * len(qualities), strict=True)
                    ],
                }
                for name, prof, qualities in tasks
            ],
        }
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    return write


def newest_code() -> str:
    """The code of the newest trained trial (what %cash code prints): in a terminal, where these
    in-process tests run, the code is not put into the next prompt."""
    from llm_cash_magic.record import History

    [run] = History.from_environment().runs(limit=1)
    return [t for t in run["trials"] if t["code"]][-1]["code"]
