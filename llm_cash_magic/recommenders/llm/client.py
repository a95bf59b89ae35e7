"""One chat request to an OpenAI-compatible endpoint through the official ``openai`` SDK.

``complete`` yields the answer's text as it arrives and fills an ``Exchange`` with what the
history keeps (text, token usage, time to first token, latency). Every failure becomes an
``LLMFailure`` with one line a person can act on; the API key is never part of that line.
Retries with backoff on connection errors, 408, 429 and 5xx are the SDK's own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import openai

from ...text import clip, plural
from .exchange import Exchange, LLMFailure
from .settings import NO_KEY, LLMSettings

MAX_MESSAGE = 200  # characters of a server's error message shown to the user


class Client:
    def __init__(self, settings: LLMSettings):
        self.settings = settings
        self._sdk = openai.OpenAI(
            api_key=settings.api_key or NO_KEY,
            base_url=settings.url,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
        )

    def complete(self, exchange: Exchange) -> Iterator[str]:
        """Yield pieces of the answer as they arrive; raise LLMFailure if there is none to finish."""
        start = time.perf_counter()
        try:
            pieces = self._stream(exchange) if self.settings.stream else self._whole(exchange)
            for piece in pieces:
                if exchange.first_token_seconds is None:
                    exchange.first_token_seconds = time.perf_counter() - start
                exchange.text += piece
                yield piece
        except (openai.OpenAIError, ValueError) as exc:  # ValueError: a stream event that is not JSON
            exchange.error = self.explain(exc, answered=bool(exchange.text), seconds=time.perf_counter() - start)
            raise LLMFailure(exchange.error) from None
        finally:
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

    def _stream(self, exchange: Exchange) -> Iterator[str]:
        events = 0
        with self._request(exchange.messages, stream=True, stream_options={"include_usage": True}) as stream:
            for chunk in stream:
                events += 1
                if chunk.usage:
                    exchange.usage = _usage(chunk.usage)
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        yield choice.delta.content
        if not events:
            raise _NotOpenAI()

    def _whole(self, exchange: Exchange) -> Iterator[str]:
        response = self._request(exchange.messages)
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
        for secret in (self.settings.api_key, urlsplit(self.settings.url).netloc.rpartition("@")[0]):
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
