"""Zero-shot and meta-informed recommendations from an LLM, each handed on once its line is in.

One ``recommend`` call:

1. ask: replay the stored answer to this exact request, or stream a new one; each finished JSON
   line is validated against the space and yielded at once, while the rest still streams; once
   ``n`` are in, or after ``max_problems(n)`` unusable lines (a model repeating itself), reading
   stops (no token limit is sent: a reasoning model's thinking must not be cut short);
2. fewer than ``n`` usable → one follow-up request listing the problems, asking for the rest;
3. still short, or the endpoint failed → the offline recommender fills in, marked by its source.

Every request is recorded in the history with every problem of its answer. The user sees one
line for a request's problems, one per failure and one per request (tokens, timings); whatever
the LLM says, only validated values are yielded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import Protocol

from ...profiling import TaskProfile
from ...text import clip, plural
from ..base import DEFAULT_N, Notify, PastTaskSource, Recommendation, Recommender, quiet
from ..offline import OfflineRecommender, past_tasks
from . import prompts
from .exchange import Exchange, LLMFailure
from .parsing import AnswerReader, Found, Problem, Prose, read_recommendation
from .settings import LLMSettings


class RequestLog(Protocol):
    """Where requests are recorded and their answers replayed from (``record.History``)."""

    def record_request(self, **request) -> str: ...

    def stored_answer(self, cache_key: str) -> tuple[str, str] | None: ...


class LLMHistory(RequestLog, PastTaskSource, Protocol):
    """A history the LLM strategies record in and learn from."""


class LLMRecommender:
    """The ``zero-shot`` / ``meta-informed`` strategies over any OpenAI-compatible endpoint."""

    def __init__(
        self,
        strategy: str,
        settings: LLMSettings,
        history: LLMHistory,
        *,
        fallback: Recommender | None = None,
        run_id: str | None = None,
        notify: Notify = quiet,
        exclude: tuple[str, ...] = (),
    ):
        self.name = strategy  # "zero-shot" or "meta-informed"
        self.settings = settings
        self.history = history
        # fills in what the LLM left out: by default the offline recommender, learning from the same history
        self.fallback = fallback or OfflineRecommender(history=history, exclude=exclude, notify=notify)
        self.run_id = run_id  # the run its requests belong to, once the run is stored
        self.exclude = tuple(exclude)  # knowledge-base tasks never shown (the benchmark's leave-one-out)
        self.notify = notify
        self.on_text: Callable[[str], None] | None = None  # the panel's live view: each piece as it arrives

    @property
    def model(self) -> str:
        return self.settings.model

    @property
    def source(self) -> str:
        return f"llm:{self.settings.model}"

    @cached_property
    def client(self):
        """Made on first use: importing the openai SDK and setting up TLS cost time that profiles,
        dry runs and replays never need."""
        from .client import Client  # the openai SDK, imported only when a request is made

        return Client(self.settings)

    def messages(self, profile: TaskProfile, n: int = DEFAULT_N, notes: str = "") -> list[dict]:
        """The exact messages ``recommend`` sends first (what ``--dry-run`` prints)."""
        past = []
        if self.name == "meta-informed" and self.settings.k:
            past = past_tasks(profile, self.settings.k, history=self.history, exclude=self.exclude)
        return prompts.messages(
            self.name, profile, n=n, notes=notes, past_tasks=past, column_names=self.settings.send_column_names
        )

    def recommend(self, profile: TaskProfile, n: int = DEFAULT_N, notes: str = "") -> Iterator[Recommendation]:
        accepted: list[Recommendation] = []
        sent = self.messages(profile, n, notes)
        try:
            answer, problems = yield from self._ask(sent, "first", profile, n, accepted)
            if len(accepted) < n:
                missing = n - len(accepted)
                self.notify(
                    f"LLM: {len(accepted)} of {plural(n, 'recommendation')} usable; asking once more for {missing}"
                )
                follow_up = prompts.follow_up(sent, answer, problems, accepted, missing)
                yield from self._ask(follow_up, "follow-up", profile, n, accepted)
            why = f"the LLM gave {plural(len(accepted), 'usable recommendation')} of the {n} asked for"
        except LLMFailure as failure:
            why = f"LLM request failed: {failure}"
        if len(accepted) < n:
            yield from self._fill(profile, n, notes, accepted, why)

    def _ask(self, messages: list[dict], purpose: str, profile: TaskProfile, n: int, accepted: list[Recommendation]):
        """Yield the usable recommendations of one answer, up to ``n`` in all; return (answer text, problems)."""
        s = self.settings
        key = cache_key(messages, s)
        stored = self.history.stored_answer(key) if s.cache else None
        exchange = Exchange(messages)
        problems: list[Problem] = []
        mine: list[Recommendation] = []
        replay_of, status = None, "cancelled"
        if stored:
            replay_of, exchange.text = stored
            pieces = _replay(exchange.text)
        else:
            pieces = self.client.complete(exchange)
        prose = 0  # lines of prose: no problem to report, but no answer either
        try:
            for item in _read(pieces, self.on_text):
                if len(accepted) >= n:
                    break  # enough: the rest is not read (closing ends the request)
                if len(problems) + prose >= max_problems(n):  # a model not converging: give up on it
                    problems.append(
                        Problem(0, f"gave up after {len(problems) + prose} unusable lines ({prose} of them prose)")
                    )
                    break
                if isinstance(item, Prose):
                    prose += 1
                    continue
                rec = self._take(item, profile, accepted, problems)
                if rec:
                    mine.append(rec)
                    yield rec
            status = "ok"
        except LLMFailure:
            status = "failed"
            raise
        finally:
            pieces.close()
            self.history.record_request(
                run_id=self.run_id,
                strategy=self.name,
                purpose=purpose,
                model=s.model,
                endpoint=s.host,
                temperature=s.temperature,
                seed=s.seed,
                cache_key=key,
                replay_of=replay_of,
                messages=messages,
                response=exchange.text,
                recommendations=[r.to_dict() for r in mine],
                repairs=[str(p) for p in problems],
                usage=exchange.usage,
                first_token_seconds=exchange.first_token_seconds,
                latency_seconds=exchange.latency_seconds,
                status=status,
                error=exchange.error,
            )
        if problems:
            self.notify(_dropped(problems))
        self.notify(self._summary(exchange, len(mine), replay_of))
        return exchange.text, problems

    def _take(
        self, item: Found | Problem, profile: TaskProfile, accepted: list[Recommendation], problems: list[Problem]
    ) -> Recommendation | None:
        """``item`` as a new, valid recommendation; anything else is noted and dropped."""
        problem = item
        if isinstance(item, Found):
            try:
                rec = read_recommendation(item, profile.task, self.source)
            except Exception as exc:  # whatever the LLM sent costs its line, never the run
                rec = Problem(item.line, f"could not be validated ({type(exc).__name__})")
            if isinstance(rec, Problem):
                problem = rec
            else:
                same = next((i for i, r in enumerate(accepted, 1) if _same(r, rec)), None)
                if same is None:
                    accepted.append(rec)
                    return rec
                problem = Problem(item.line, f"the same configuration as recommendation #{same}")
        problems.append(problem)
        return None

    def _fill(self, profile: TaskProfile, n: int, notes: str, accepted: list[Recommendation], why: str):
        fallback = self.fallback
        if accepted:
            self.notify(f"{why}; the {fallback.name} recommender adds the other {n - len(accepted)}")
        else:
            self.notify(f"{why}; the {fallback.name} recommender answers instead")
        for rec in fallback.recommend(profile, n=n + len(accepted), notes=notes):
            if len(accepted) >= n:
                return
            if not any(_same(r, rec) for r in accepted):
                accepted.append(rec)
                yield rec

    def _summary(self, exchange: Exchange, usable: int, replay_of: str | None) -> str:
        s = self.settings
        if replay_of:
            return (
                f"LLM: replayed the stored answer of request {replay_of} (same messages, model, temperature "
                f"and seed; --fresh asks {s.host} again): {usable} usable"
            )
        timing = f"{exchange.latency_seconds:.1f} s"
        if exchange.first_token_seconds is not None:
            timing += f", first token after {exchange.first_token_seconds:.2f} s"
        tokens = ""
        if exchange.usage:
            tokens = f", {exchange.usage['prompt_tokens']:,} + {exchange.usage['completion_tokens']:,} tokens"
        return f"LLM: {s.model} at {s.host}: {usable} usable in {timing}{tokens}"


def cache_key(messages: list[dict], settings: LLMSettings) -> str:
    """What identifies a request for the replay cache: messages, model, temperature and seed."""
    request = {
        "messages": messages,
        "model": settings.model,
        "temperature": settings.temperature,
        "seed": settings.seed,
    }
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


def max_problems(n: int) -> int:
    """Unusable lines after which an answer is given up: twice what was asked, and some slack."""
    return 2 * n + 10


def _dropped(problems: list[Problem]) -> str:
    """A request's problems as one line: the first, and how many more (the history keeps them all)."""
    more = f" (and {len(problems) - 1} more; %cash export lists them all)" if len(problems) > 1 else ""
    return f"LLM answer, {plural(len(problems), 'problem')}: {clip(str(problems[0]), 160)}{more}"


def _replay(text: str) -> Iterator[str]:
    yield text


def _read(pieces: Iterator[str], on_text: Callable[[str], None] | None = None) -> Iterator[Found | Problem]:
    """What the answer holds, each item as soon as the piece completing it has arrived."""
    reader = AnswerReader()
    for piece in pieces:
        if on_text:
            on_text(piece)
        yield from reader.feed(piece)
    yield from reader.close()


def _same(a: Recommendation, b: Recommendation) -> bool:
    return a.family == b.family and a.params == b.params
