"""Wording shared by every stage: counts that read as English, and untrusted text on one short line."""

from __future__ import annotations

import shutil
import textwrap


def plural(count: int, word: str, words: str = "") -> str:
    """``1 line``, ``2 lines``: counts that read as English in prompts and notices."""
    return f"{count} {word if count == 1 else words or word + 's'}"


def clip(text: object, limit: int) -> str:
    """``text`` on one line (runs of whitespace become one space), at most ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as the one line a failed trial stores and shows."""
    return f"{type(exc).__name__}: {clip(exc, limit)}"


def terminal_width() -> int:
    """``COLUMNS``, else the terminal's own width; 100 where there is none (a kernel)."""
    return shutil.get_terminal_size((100, 24)).columns


def fit_width(text: str) -> str:
    """``text`` with each line wrapped between words to ``terminal_width()``, continuation lines
    indented: the terminal would otherwise break them anywhere (a word longer than a line, a path
    say, stays whole)."""
    width = terminal_width()
    wrap = textwrap.TextWrapper(width, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False)
    return "\n".join("\n".join(wrap.wrap(line)) or line for line in text.split("\n"))
