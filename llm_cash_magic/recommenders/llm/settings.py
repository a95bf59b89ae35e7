"""Where the LLM is and how to ask it: model, endpoint, sampling, limits, privacy switches.

Values come from ``%config CashMagics.<name>`` (or ``ipython_config.py``), else from the
environment (``LLM_CASH_MODEL``, ``OPENAI_BASE_URL``), else from the defaults below. The API
key is never a setting: it is read from the environment variable ``api_key_env`` names at the
moment a request is made, so it cannot end up in a repr, the history or a notebook.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field

from ..base import DEFAULT_N

DEFAULT_MODEL = "gpt-4.1-mini"
OPENAI_URL = "https://api.openai.com/v1"
ENVIRONMENT = {"model": "LLM_CASH_MODEL", "base_url": "OPENAI_BASE_URL"}
NO_KEY = "no-key"  # local servers (Ollama, llama.cpp, vLLM) need no key, but the SDK insists on one


@dataclass(frozen=True)
class LLMSettings:
    model: str = DEFAULT_MODEL
    base_url: str = ""  # empty: OpenAI itself
    api_key_env: str = "OPENAI_API_KEY"  # the name of the variable holding the key, never the key
    temperature: float | None = 0.0  # None: not sent (reasoning models accept only their default)
    seed: int | None = 0  # None: not sent
    timeout: float = 60.0  # seconds to connect, and to wait for each piece of the answer (keep-alives are none)
    deadline: float = 300.0  # seconds for the whole answer, however steadily it streams
    max_retries: int = 2  # the SDK's retries with backoff on connection errors, 408, 429 and 5xx
    k: int = 5  # past tasks shown to meta-informed prompts
    n: int = DEFAULT_N  # recommendations asked for when the %%cash line has no n=
    send_column_names: bool = False
    stream: bool = True
    cache: bool = True  # replay a stored answer to the same request (--fresh turns it off)
    origins: dict = field(default_factory=dict, compare=False, repr=False)  # model/base_url → "%config"/"$VAR"

    @classmethod
    def resolve(cls, **configured) -> LLMSettings:
        """Settings from configured values, else the environment, else defaults.

        None leaves model and base_url to the environment; for temperature and seed it is a value
        (send none), so ``%config CashMagics.seed = None`` is not mistaken for "not configured".
        """
        values = {name: value for name, value in configured.items() if value is not None or name not in ENVIRONMENT}
        origins = {name: "%config" for name in ENVIRONMENT if name in values}
        for name, variable in ENVIRONMENT.items():
            if name not in values and os.environ.get(variable):
                values[name], origins[name] = os.environ[variable], f"${variable}"
        return cls(**values, origins=origins)

    def replace(self, **changes) -> LLMSettings:
        return dataclasses.replace(self, **changes)

    @property
    def api_key(self) -> str:
        """The key, read now from the environment; empty when the variable is unset."""
        return os.environ.get(self.api_key_env, "")

    @property
    def configured(self) -> bool:
        """An endpoint to ask: a key for OpenAI, or a base URL of an OpenAI-compatible server."""
        return bool(self.api_key or self.base_url)

    @property
    def url(self) -> str:
        return self.base_url or OPENAI_URL

    @property
    def shown_url(self) -> str:
        """The URL to print or store: credentials in it (``http://user:pass@host``, or the same
        without a scheme) and the values of its query (``?api-key=…``) become ``****``."""
        scheme, authority, rest = split_url(self.url)
        if "@" in authority:
            authority = "****@" + authority.rpartition("@")[2]
        path, mark, query = rest.partition("?")
        return scheme + authority + path + mark + re.sub(r"=[^&#]*", "=****", query)

    @property
    def host(self) -> str:
        """Host (and port) of the endpoint, without any credentials embedded in the URL."""
        return split_url(self.url)[1].rpartition("@")[2] or self.shown_url

    @property
    def secret_in_url(self) -> str:
        """The credentials embedded in the URL ('' if none): text never to show."""
        return split_url(self.url)[1].rpartition("@")[0]

    def url_problem(self) -> str:
        """What makes ``base_url`` unusable, in one line that never shows its credentials ('' if nothing)."""
        scheme, authority, _ = split_url(self.url)
        if scheme.lower() not in ("http://", "https://"):
            return f"base_url {self.shown_url!r} must start with http:// or https://"
        port = authority.rpartition("@")[2].rpartition("]")[2].partition(":")[2]
        if port and not (port.isdecimal() and 0 < int(port) < 65536):
            return f"base_url {self.shown_url!r} has no valid port (a number from 1 to 65535)"
        return ""

    def describe(self) -> list[str]:
        """The effective configuration as lines for ``%cash config``; the key is masked."""
        key = self.api_key
        key_text = f"{mask(key)} (from ${self.api_key_env})" if key else f"not set (${self.api_key_env} is empty)"
        model_origin = self.origins.get("model", "default")
        url_origin = self.origins.get("base_url", "default: OpenAI")
        return [
            f"LLM endpoint: {self.shown_url} ({url_origin})",
            f"model: {self.model} ({model_origin})",
            f"API key: {key_text}",
            f"temperature {_or_unset(self.temperature)} · seed {_or_unset(self.seed)} · timeout {self.timeout:g} s"
            f" · deadline {self.deadline:g} s"
            f" · max retries {self.max_retries} · streaming {'on' if self.stream else 'off'}",
            f"k {self.k} past tasks · n {self.n} recommendations · column names "
            f"{'sent' if self.send_column_names else 'not sent'}",
        ]


def mask(key: str) -> str:
    """Enough of a key to tell two apart, never enough to use it."""
    return f"{key[:3]}…{key[-4:]}" if len(key) >= 20 else "****"


def _or_unset(value) -> str:
    return "not sent" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def split_url(url: str) -> tuple[str, str, str]:
    """(scheme with its "://", authority, the rest) of ``url``, with or without a scheme, whatever
    its port says: never fails, so credentials can always be found and masked."""
    match = _SCHEME.match(url)
    scheme = match.group() if match else ""
    remainder = url[len(scheme) :]
    end = min((i for i in (remainder.find(c) for c in "/?#") if i >= 0), default=len(remainder))
    return scheme, remainder[:end], remainder[end:]
