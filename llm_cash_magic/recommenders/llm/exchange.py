"""One request and its answer as the history records it, and the one-line failure of a request.

Kept apart from ``client`` so that reading and recording answers never imports the ``openai`` SDK.
"""

from __future__ import annotations

from dataclasses import dataclass


class LLMFailure(Exception):
    """The request produced no usable answer; ``str()`` is one line saying why."""


@dataclass
class Exchange:
    """One request and its answer, as the history records it."""

    messages: list[dict]
    text: str = ""
    usage: dict | None = None
    first_token_seconds: float | None = None
    latency_seconds: float | None = None
    error: str | None = None
