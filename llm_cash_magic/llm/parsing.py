"""An LLM's answer → validated Recommendations, line by line while it streams.

Asked for one JSON object per line, models also send code fences, reasoning before the JSON
(``<think>`` blocks, prose), whole arrays, pretty-printed objects spread over lines, wrapper
objects (``{"recommendations": [...]}``), trailing commas, ``.5`` and Python's ``True``/``None``.
``AnswerReader`` finds every JSON object as soon as its last line arrives; ``read_recommendation``
turns one into a Recommendation validated against the space. LLM text is only ever parsed
as JSON: never evaluated.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..errors import CashError
from ..recommenders import Recommendation
from ..space import validate

MAX_OBJECT = 20_000  # characters of one unfinished JSON object before giving up on it
MAX_RATIONALE = 500
_LIST_MARKER = re.compile(r"^(?:[-*•]|\d+[.)])\s+")
_OBJECT_START = re.compile(r'\{\s*"')
_STRING = re.compile(r'("(?:[^"\\]|\\.)*")')


@dataclass(frozen=True)
class Found:
    """A JSON object from the answer, with the line it starts on and whether its syntax was repaired."""

    line: int
    value: Any
    repaired: bool = False


@dataclass(frozen=True)
class Problem:
    """Something in the answer that could not be used, and why (shown to the user, sent back to the model)."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class AnswerReader:
    """Feed the answer's text as it arrives; get each JSON object once its closing line is in."""

    def __init__(self):
        self._pending = ""  # the current line, not finished yet
        self._number = 0  # lines seen
        self._thinking = False  # inside <think> … </think>
        self._buffer = ""  # an object spread over several lines
        self._buffer_line = 0

    def feed(self, text: str) -> list[Found | Problem]:
        *lines, self._pending = (self._pending + text).split("\n")
        return [item for line in lines for item in self._line(line)]

    def close(self) -> list[Found | Problem]:
        """The end of the answer: read a last line without newline, report an unfinished object."""
        found = self._line(self._pending) if self._pending.strip() else []
        self._pending = ""
        if self._buffer:
            found.append(Problem(self._buffer_line, "the answer ended inside this JSON object"))
            self._buffer = ""
        return found

    def _line(self, line: str) -> list[Found | Problem]:
        self._number += 1
        line = self._without_thoughts(line).strip()
        if self._buffer:
            return self._scan(self._buffer + "\n" + line, self._buffer_line)
        line = _LIST_MARKER.sub("", line)
        if not line.startswith(("{", "[")):  # prose, headings, code fences
            start = _OBJECT_START.search(line)
            if start is None:
                return []
            line = line[start.start():]
        return self._scan(line, self._number)

    def _without_thoughts(self, line: str) -> str:
        kept = ""
        while line:
            if self._thinking:
                _, closed, line = line.partition("</think>")
                self._thinking = not closed
            else:
                before, opened, line = line.partition("<think>")
                kept += before
                self._thinking = bool(opened)
        return kept

    def _scan(self, text: str, line: int) -> list[Found | Problem]:
        """Every complete object in ``text`` (separated by commas or brackets); keep an unfinished one."""
        found: list[Found | Problem] = []
        self._buffer, pos = "", 0
        while True:
            while pos < len(text) and text[pos] in " \t\n,[]":
                pos += 1
            if pos == len(text) or text[pos] != "{":
                return found  # the rest is prose
            end = _object_end(text, pos)
            if end is None:
                if len(text) - pos > MAX_OBJECT:
                    found.append(Problem(line, f"a JSON object longer than {MAX_OBJECT:,} characters; skipped"))
                else:
                    self._buffer, self._buffer_line = text[pos:], line
                return found
            found.extend(_decode(text[pos:end], line))
            pos = end


def _object_end(text: str, start: int) -> int | None:
    """Index just past the object opening at ``start``, or None if it is not closed yet."""
    depth, in_string, escaped = 0, False, False
    for i in range(start, len(text)):
        c = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def _decode(text: str, line: int) -> list[Found | Problem]:
    repaired = False
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value, repaired = json.loads(_repair(text)), True
        except ValueError as exc:
            return [Problem(line, f"not valid JSON ({exc.msg}): {_clip(text, 80)}")]
    return [Found(line, item, repaired) for item in _unwrap(value)]


def _repair(text: str) -> str:
    """Common slips fixed outside string literals: trailing commas, ``.5``, Python literals."""
    parts = _STRING.split(text)
    for i in range(0, len(parts), 2):  # even parts lie outside strings
        part = re.sub(r",\s*([}\]])", r"\1", parts[i])
        part = re.sub(r"(?<![\w.])(-?)\.(\d)", r"\g<1>0.\2", part)
        part = re.sub(r"\bTrue\b", "true", re.sub(r"\bFalse\b", "false", re.sub(r"\bNone\b", "null", part)))
        parts[i] = part
    return "".join(parts)


def _unwrap(value: Any) -> list:
    """``{"recommendations": [{…}, …]}`` and similar wrappers → the objects inside."""
    if isinstance(value, dict) and "family" not in value and len(value) == 1:
        (inner,) = value.values()
        if isinstance(inner, list) and inner and all(isinstance(v, dict) for v in inner):
            return inner
    return [value]


def read_recommendation(found: Found, task: str, source: str) -> Recommendation | Problem:
    """The object as a Recommendation validated against the space, or the Problem that stops it."""
    value = found.value
    if not isinstance(value, dict):
        return Problem(found.line, f"expected a JSON object, got {_clip(json.dumps(value), 60)}")
    notes = ["repaired the JSON syntax"] if found.repaired else []
    name = value.get("family", value.get("model"))
    if not isinstance(name, str) or not name.strip():
        return Problem(found.line, f'no "family" given: {_clip(json.dumps(value), 80)}')
    params = value.get("params", value.get("hyperparameters", {}))
    try:
        config = validate(name, params, task)
    except CashError as exc:
        return Problem(found.line, str(exc))
    rationale = value.get("rationale", "")
    rationale = rationale if isinstance(rationale, str) else json.dumps(rationale)
    return Recommendation(config.family, config.params, _clip(rationale, MAX_RATIONALE), source,
                          tuple(notes) + config.notes)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
