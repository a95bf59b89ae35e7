"""Running generated code in the user's namespace."""

from __future__ import annotations

from ..text import error_line


def execute(code: str, namespace: dict, label: str = "trial") -> str | None:
    """Run generated code in ``namespace`` (the user's); returns an error line, or None on success.

    Only code from ``codegen`` comes here: every value in it was validated against the space and
    every string is a literal, so no recommender text is ever executed.
    """
    try:
        exec(compile(code, f"<llm_cash_magic {label}>", "exec"), namespace)
    except Exception as exc:  # the user's data can break training in many ways; report, keep going
        return error_line(exc)
    return None
