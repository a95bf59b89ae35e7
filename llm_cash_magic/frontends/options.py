"""Parsing the ``%%cash`` line: ``<dataframe> target=<column> [key=value ...] [--flag ...]``."""

from __future__ import annotations

import re
import shlex

from ..errors import CashError
from ..metrics import METRICS, TASKS
from ..pipeline import RunOptions
from ..recommenders import STRATEGIES
from ..text import clip

FLAGS = ("auto", "blend", "dry-run", "fresh", "no-race")
MAX_LINE = 10_000  # characters of a %%cash line: options, never data
KEYS = ("target", "task", "metric", "strategy", "n", "cv", "seed", "refine")


_USAGE = (
    "usage: %%cash <dataframe> target=<column> [task=…] [metric=…] [strategy=…] [n=…] [cv=…] [seed=…] "
    "[refine=…] [--auto] [--blend] [--dry-run] [--fresh] [--no-race]"
)


def split_line(line: str) -> list[str]:
    """The words of the magic's line, quoted as in a shell, up to a ``#`` that starts a word: a
    trailing comment, as in Python (``target=col#1`` keeps its ``#``)."""
    if len(line) > MAX_LINE:
        raise CashError(f"the line has {len(line):,} characters; its options fit in far fewer (at most {MAX_LINE:,})")
    lexer = shlex.shlex(line, posix=True)
    lexer.whitespace_split, lexer.commenters = True, ""
    words = []
    try:
        for word in lexer:
            if word.startswith("#"):
                break
            words.append(word)
    except ValueError as exc:  # an unclosed quote
        raise CashError(f"could not read the options ({exc}); {_USAGE}") from None
    return words


def parse(line: str, n: int = RunOptions.n) -> RunOptions:
    """Options from the magic's line; a CashError names the first problem and what is allowed.

    ``n`` is the number of recommendations when the line has no ``n=`` (``CashMagics.n``).
    """
    tokens = split_line(line)
    data, values, flags = None, {}, set()
    for token in tokens:
        if token.startswith("--"):
            name = token[2:].replace("_", "-")
            if name not in FLAGS:
                raise CashError(f"unknown flag {_shown(token)}; allowed: {', '.join('--' + f for f in FLAGS)}")
            flags.add(name)
        elif "=" in token:
            key, value = token.split("=", 1)
            if key not in KEYS:
                raise CashError(f"unknown option {_shown(key)}; allowed: {', '.join(KEYS)}")
            values[key] = value
        elif data is None:
            data = token
        else:
            raise CashError(f"unexpected {_shown(token)}: options are key=value; {_USAGE}")
    if data is None:
        raise CashError(f"missing the DataFrame's name; {_USAGE}")
    if not values.get("target"):
        raise CashError(f"missing target=<column>, the column to predict; {_USAGE}")
    task = values.get("task")
    if task is not None and task not in TASKS:
        raise CashError(f"task={_shown(task)} is not a task; use one of: {', '.join(TASKS)}")
    metric = values.get("metric")
    if metric is not None and metric not in METRICS:
        raise CashError(f"metric={_shown(metric)} is not a metric; use one of: {', '.join(METRICS)}")
    strategy = values.get("strategy", "auto")
    if strategy not in STRATEGIES:
        raise CashError(f"strategy={_shown(strategy)} is not a strategy; use one of: {', '.join(STRATEGIES)}")
    return RunOptions(
        data=data,
        target=values["target"],
        task=task,
        metric=metric,
        strategy=strategy,
        n=_int(values, "n", n, 1, 20),
        cv=_int(values, "cv", RunOptions.cv, 2, 20),
        seed=_int(values, "seed", RunOptions.seed, 0, 2**32 - 1),
        **_refine(values),
        flags=frozenset(flags),
    )


def refine_budget(text: str, key: str = "refine") -> tuple[int, float]:
    """``refine=20`` (trials) or ``refine=90s`` / ``5m`` / ``1.5h`` (a time budget): (trials, seconds)."""
    duration = re.fullmatch(r"(\d+(?:\.\d+)?)([smh])", text) if text.isascii() else None
    if duration:
        seconds = float(duration[1]) * {"s": 1, "m": 60, "h": 3600}[duration[2]]
        if not 1 <= seconds <= 7 * 24 * 3600:
            raise CashError(f"{key}={_shown(text)}: a time budget runs from 1s to 168h")
        return 0, seconds
    try:
        return _int({key: text}, key, 0, 0, 10_000), 0.0
    except CashError:
        raise CashError(
            f"{key}={_shown(text)} must be an integer from 0 to 10000 trials, or a time such as 90s, 5m or 2h"
        ) from None


def _refine(values: dict) -> dict:
    trials, seconds = refine_budget(values["refine"]) if "refine" in values else (0, 0.0)
    return {"refine": trials, "refine_seconds": seconds}


def _int(values: dict, key: str, default: int, low: int, high: int) -> int:
    if key not in values:
        return default
    text = values[key]
    number = int(text) if text.isascii() and text.lstrip("+-").isdecimal() else None  # not "²", not "1e3"
    if number is None or not low <= number <= high:
        raise CashError(f"{key}={_shown(text)} must be an integer from {low} to {high}")
    return number


def _shown(text: str) -> str:
    """Text of the line as an error quotes it: clipped, so a line of 200,000 characters says one line."""
    return repr(clip(text, 40))
