"""An LLM's answer → validated Recommendations, line by line while it streams.

Asked for one JSON object per line, models also send code fences, reasoning before the JSON
(``<think>`` blocks, prose), whole arrays, pretty-printed objects spread over lines, wrapper
objects (``{"recommendations": [...]}``), trailing commas, ``.5`` and Python's ``True``/``None``.
``AnswerReader`` finds every JSON object as soon as its last line arrives; objects are read only
from lines that start with one (prose that quotes JSON is a draft, not the answer), and an
object that never closes costs only itself. ``read_recommendation`` turns one into a
Recommendation validated against the space. LLM text is only ever parsed as JSON: never evaluated.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ...errors import CashError
from ...space import require_installed, validate
from ...text import clip
from ..base import Recommendation

MAX_OBJECT = 20_000  # characters of one unfinished JSON object before giving up on it
MAX_RATIONALE = 500
_LIST_MARKER = re.compile(r"^(?:[-*•]|\d+[.)])\s+")
_THINK_TAG = re.compile(r"</?think>")
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

    line: int  # 0: the answer as a whole
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" if self.line else self.reason


@dataclass(frozen=True)
class Prose:
    """A line of prose outside reasoning and JSON: no problem to report, but no answer either; a model
    that writes nothing else is given up after as many unusable lines as a broken one."""

    line: int


class AnswerReader:
    """Feed the answer's text as it arrives; get each JSON object once its closing line is in.

    Reading is linear in the answer's size: a line's pieces are joined once, when it ends, and an
    unfinished object is rescanned at most ``MAX_OBJECT`` characters a line.
    """

    def __init__(self):
        self._pending: list[str] = []  # the pieces of the current line, not finished yet
        self._number = 0  # lines seen
        self._thinking = False  # inside <think> … </think>
        self._buffer = ""  # an object spread over several lines
        self._buffer_line = 0
        self._saw_json = False  # an object started somewhere in the answer

    def feed(self, text: str) -> list[Found | Problem | Prose]:
        if "\n" not in text:
            self._pending.append(text)
            return []
        first, *lines = text.split("\n")
        lines[:0] = ["".join(self._pending) + first]
        self._pending = [lines.pop()]
        return [item for line in lines for item in self._line(line)]

    def close(self) -> list[Found | Problem | Prose]:
        """The end of the answer: read a last line without newline, report an unfinished object."""
        last = "".join(self._pending)
        found = self._line(last) if last.strip() else []
        self._pending = []
        if self._buffer:
            found.append(Problem(self._buffer_line, "the answer ended inside this JSON object"))
            self._buffer = ""
        if not self._saw_json:
            found.append(Problem(0, "no JSON object found in the answer"))
        return found

    def _line(self, line: str) -> list[Found | Problem | Prose]:
        self._number += 1
        try:
            line = self._without_thoughts(line).strip()
            bare = _LIST_MARKER.sub("", line)
            if self._buffer:
                if not _breaks_off(self._buffer, bare):
                    return self._scan(self._buffer + "\n" + line, self._buffer_line)
                found = self._scan(bare, self._number)
                return [Problem(self._buffer_line, "this JSON object is never closed"), *found]
            if not bare.startswith(("{", "[")):  # prose (drafts it quotes included), headings, code fences
                return [Prose(self._number)] if bare else []
            return self._scan(bare, self._number)
        except Exception as exc:  # whatever a line holds costs that line only
            self._buffer = ""
            return [Problem(self._number, f"could not be read ({type(exc).__name__})")]

    def _without_thoughts(self, line: str) -> str:
        """The line without reasoning: ``<think>…</think>``, and everything before a lone ``</think>``
        (the prompt template opened the ``<think>``), an object left open there included."""
        kept = ""
        while line:
            if self._thinking:
                _, closed, line = line.partition("</think>")
                self._thinking = not closed
                continue
            tag = _THINK_TAG.search(line)
            if tag is None:
                return kept + line
            if tag.group() == "</think>":
                kept, self._buffer = "", ""
            else:
                kept += line[: tag.start()]
                self._thinking = True
            line = line[tag.end() :]
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
            self._saw_json = True
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


def _breaks_off(unfinished: str, line: str) -> bool:
    """Whether ``line``, a whole object, shows that the ``unfinished`` one never closes: it could
    go on with an object only in an array or after a colon, and not inside a string (no JSON
    string spans lines)."""
    if not (line.startswith("{") and _object_end(line, 0)):
        return False
    bare = _STRING.sub('""', unfinished)
    if bare.count('"') % 2:
        return True
    opened = []
    for c in bare:
        if c in "{[":
            opened.append(c)
        elif c in "}]" and opened:
            opened.pop()
    last = bare.rstrip()[-1]
    return not (last == ":" or (last in "[," and opened[-1:] == ["["]))


def _decode(text: str, line: int) -> list[Found | Problem]:
    """The object(s) in ``text``; whatever goes wrong costs this line only (an integer of more digits
    than Python converts, nesting deeper than its stack, text that is no JSON even repaired)."""
    repaired = False
    try:
        value = json.loads(text)
    except RecursionError:
        return [Problem(line, "JSON nested too deeply")]
    except ValueError:
        try:
            value, repaired = json.loads(_repair(text)), True
        except RecursionError:
            return [Problem(line, "JSON nested too deeply")]
        except ValueError as exc:
            why = exc.msg if isinstance(exc, json.JSONDecodeError) else clip(exc, 80)
            return [Problem(line, f"not valid JSON ({why}): {clip(text, 80)}")]
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
        return Problem(found.line, f"expected a JSON object, got {clip(json.dumps(value), 60)}")
    notes = ["repaired the JSON syntax"] if found.repaired else []
    name = value.get("family", value.get("model"))
    if not isinstance(name, str) or not name.strip():
        return Problem(found.line, f'no "family" given: {clip(json.dumps(value), 80)}')
    params = value.get("params", value.get("hyperparameters", {}))
    try:
        config = validate(name, params, task)
        require_installed(config.family)  # never recommend what cannot train here
    except CashError as exc:
        return Problem(found.line, str(exc))
    rationale = value.get("rationale", "")
    rationale = rationale if isinstance(rationale, str) else json.dumps(rationale)
    return Recommendation(
        config.family, config.params, clip(rationale, MAX_RATIONALE), source, tuple(notes) + config.notes
    )
