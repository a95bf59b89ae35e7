"""One chat request to an OpenAI-compatible endpoint through the official ``openai`` SDK.

``complete`` yields the answer's text as it arrives and fills an ``Exchange`` with what the
history keeps (text, token usage, time to first token, latency). Every failure becomes an
``LLMFailure`` with one line a person can act on; the API key is never part of that line.
Retries with backoff on connection errors, 408, 429 and 5xx are the SDK's own.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Iterator

import openai

from ...text import clip, plural
from .exchange import Exchange, LLMFailure
from .settings import NO_KEY, LLMSettings

MAX_MESSAGE = 200  # characters of a server's error message shown to the user
MAX_ANSWER = 1_000_000  # characters of an answer before it is given up: ten recommendations take a few thousand


class Client:
    def __init__(self, settings: LLMSettings):
        self.settings = settings
        self._open = None  # the response being streamed
        self._sdk = openai.OpenAI(
            api_key=settings.api_key or NO_KEY,
            base_url=settings.url,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
        )

    def complete(self, exchange: Exchange) -> Iterator[str]:
        """Yield pieces of the answer as they arrive; raise LLMFailure if there is none to finish.

        The answer is read in a thread of its own (``_Pump``), so waiting for it is bounded whatever
        the server does: by ``settings.deadline`` for the whole answer, by ``settings.timeout``
        between pieces of progress (keep-alive comments are none), and by ``MAX_ANSWER`` characters;
        and Ctrl-C stops it at once.
        """
        start = time.perf_counter()
        pieces: list[str] = []
        pump = _Pump(self._stream(exchange) if self.settings.stream else self._whole(exchange))
        try:
            for piece in pump.pieces(self.settings):
                if exchange.first_token_seconds is None:
                    exchange.first_token_seconds = time.perf_counter() - start
                pieces.append(piece)
                yield piece
        except _Limit as limit:
            exchange.error = f"{self.settings.host} {limit}"
            raise LLMFailure(exchange.error) from None
        except (openai.OpenAIError, ValueError) as exc:  # ValueError: a stream event that is not JSON
            exchange.error = self.explain(exc, answered=bool(pieces), seconds=time.perf_counter() - start)
            raise LLMFailure(exchange.error) from None
        finally:
            pump.stop()
            with contextlib.suppress(Exception):  # a response still streaming: its thread then ends
                self._open.close()
            exchange.text = "".join(pieces)
            exchange.latency_seconds = time.perf_counter() - start

    def _request(self, messages: list[dict], **extra):
        s = self.settings
        options = {"temperature": s.temperature, "seed": s.seed}
        try:
            return self._sdk.chat.completions.create(
                model=s.model,
                messages=messages,
                **{k: v for k, v in options.items() if v is not None},
                **extra,
            )
        except openai.APITimeoutError as exc:
            raise _Unanswered(request=exc.request) from exc

    def _stream(self, exchange: Exchange) -> Iterator[str | None]:
        """The answer's content as it streams; None for a piece of reasoning (progress, not answer)."""
        events = 0
        with self._request(exchange.messages, stream=True, stream_options={"include_usage": True}) as stream:
            self._open = stream  # so that the reader can close it when it stops waiting
            yield None  # the headers are in: from now on the reader's clock between pieces runs
            for chunk in stream:
                events += 1
                if chunk.usage:
                    exchange.usage = _usage(chunk.usage)
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        yield choice.delta.content
                    elif choice.delta and (
                        getattr(choice.delta, "reasoning_content", None) or getattr(choice.delta, "reasoning", None)
                    ):
                        yield None  # a reasoning model thinking aloud: it makes progress
        if not events:
            raise _NotOpenAI()

    def _whole(self, exchange: Exchange) -> Iterator[str | None]:
        response = self._request(exchange.messages)
        yield None  # the answer is in
        if isinstance(response, str) or not getattr(response, "choices", None):
            raise _NotOpenAI()
        if response.usage:
            exchange.usage = _usage(response.usage)
        text = response.choices[0].message.content or ""
        if text:
            yield text

    def models(self) -> list[str]:
        """The models the endpoint serves ([] when it cannot say)."""
        try:
            return sorted(m.id for m in self._sdk.with_options(max_retries=0).models.list())
        except (openai.OpenAIError, ValueError, TypeError):
            return []

    def explain(self, exc: Exception, answered: bool = False, seconds: float = 0.0) -> str:
        """One line saying what went wrong and what to do; never the key."""
        s, host = self.settings, self.settings.host
        if isinstance(exc, _NotOpenAI):
            return f"{host} answered HTTP 200 but not in the OpenAI format (is {s.shown_url} an OpenAI-compatible API?)"
        if isinstance(exc, openai.AuthenticationError) and not s.api_key:
            return (
                f"{host} needs an API key (HTTP 401) and none is set: ${s.api_key_env} is empty "
                "(export it in the shell that starts Jupyter)"
            )
        if isinstance(exc, openai.AuthenticationError):
            return f"{host} rejected the API key in ${s.api_key_env} (HTTP 401); check that key"
        if isinstance(exc, openai.NotFoundError):
            served = self.models()
            if served and s.model not in served:
                return f"model {s.model!r} is not served by {host}; it serves: {', '.join(served[:10])}"
            says = self._server_says(exc)
            return f"{host} answered HTTP 404 for model {s.model!r} ({says}); check model and base_url"
        if isinstance(exc, openai.APIStatusError):
            retried = f" after {s.max_retries} retries" if _retried(exc) and s.max_retries else ""
            return f"{host} answered HTTP {exc.status_code}{retried}: {self._server_says(exc)}"
        if isinstance(exc, _Unanswered):
            tries = plural(s.max_retries + 1, "try", "tries")
            return (
                f"{host} sent nothing before the first token ({tries} with a {s.timeout:g} s timeout, "
                f"{seconds:.1f} s in all; %config CashMagics.timeout = …)"
            )
        if isinstance(exc, openai.APITimeoutError):
            when = "in the middle of the answer" if answered else "before the first token"
            return f"{host} sent nothing for {s.timeout:g} s {when} (timeout; %config CashMagics.timeout = …)"
        if isinstance(exc, openai.APIConnectionError):
            if answered:
                return f"the connection to {host} broke off in the middle of the answer"
            cause = str(exc.__cause__ or exc)
            if any(
                t in cause
                for t in ("Name or service not known", "nodename nor servname", "name resolution", "getaddrinfo")
            ):
                return f"cannot resolve the host {host} (DNS failure); check base_url"
            return f"cannot reach {s.shown_url} ({self._clean(cause)}); is the server running?"
        if isinstance(exc, ValueError):
            return f"{host} sent a stream that is not in the OpenAI format ({self._clean(str(exc))})"
        return f"the request to {host} failed: {self._clean(str(exc))}"

    def _server_says(self, exc: openai.APIStatusError) -> str:
        body = exc.body if isinstance(exc.body, dict) else {}
        return self._clean(str(body.get("message") or exc.message))

    def _clean(self, text: str) -> str:
        """A server's text made safe to show: the key and a password in the URL blanked out, one line, clipped."""
        for secret in (self.settings.api_key, self.settings.secret_in_url):
            if secret:
                text = text.replace(secret, "****")
        return clip(text, MAX_MESSAGE)


class _NotOpenAI(openai.OpenAIError):
    """HTTP 200 with a body that is not a chat completion (a proxy's HTML page, say)."""


class _Unanswered(openai.APITimeoutError):
    """Every try timed out before the answer began: the SDK retries these, not a stream gone quiet."""


def _retried(exc: openai.APIStatusError) -> bool:
    return exc.status_code in (408, 409, 429) or exc.status_code >= 500


def _usage(usage) -> dict:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


class _Limit(Exception):
    """The answer overstepped a bound (its deadline, the timeout between pieces, its size)."""


class _Pump:
    """Reads an answer in a daemon thread and hands its pieces over through a queue, so that the
    reader waits no longer than its bounds allow: a server that streams keep-alives, prose or one
    token a second forever cannot hold ``%%cash``, and Ctrl-C lands in this thread, not the HTTP
    library's."""

    def __init__(self, source: Iterator[str | None]):
        self.queue: queue.Queue = queue.Queue()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(source,), daemon=True, name="llm-answer")
        self.thread.start()

    def _run(self, source: Iterator[str | None]) -> None:
        try:
            for piece in source:
                if self.stopped.is_set():
                    break
                self.queue.put(("piece", piece))
            self.queue.put(("end", None))
        except BaseException as exc:  # handed to the reader, who decides
            self.queue.put(("error", exc))
        finally:
            with contextlib.suppress(Exception):
                source.close()  # closes the HTTP response once the reader has gone

    def pieces(self, settings: LLMSettings) -> Iterator[str]:
        """The answer's content; bounded by ``settings.deadline`` in all and, once the response has
        begun, by ``settings.timeout`` between pieces of progress (before that, the SDK's own timeout
        and retries govern)."""
        started = time.monotonic()
        last = None  # when the last piece of progress came; None: the response has not begun
        size = 0
        while True:
            now = time.monotonic()
            if now - started > settings.deadline:
                raise _Limit(
                    f"took longer than {settings.deadline:g} s in all to answer; gave up "
                    "(%config CashMagics.deadline = …)"
                )
            if last is not None and now - last > settings.timeout:
                when = "in the middle of the answer" if size else "before the first token"
                raise _Limit(
                    f"sent no content for {settings.timeout:g} s {when} (keep-alives, if anything); gave up "
                    "(%config CashMagics.timeout = …)"
                )
            limits = [started + settings.deadline] + ([last + settings.timeout] if last is not None else [])
            try:
                kind, value = self.queue.get(timeout=max(min(limits) - now, 0.01))
            except queue.Empty:
                continue
            if kind == "end":
                return
            if kind == "error":
                raise value
            last = time.monotonic()
            if value is None:  # the response began, or a reasoning model thinks aloud: progress, no answer
                continue
            size += len(value)
            if size > MAX_ANSWER:
                raise _Limit(f"sent an answer of more than {MAX_ANSWER:,} characters; gave up")
            yield value

    def stop(self) -> None:
        self.stopped.set()
