"""Where the LLM is and how to ask it: model, endpoint, sampling, limits, privacy switches.

Values come from ``%config CashMagics.<name>`` (or ``ipython_config.py``), else from the
environment (``LLM_CASH_MODEL``, ``OPENAI_BASE_URL``), else from the defaults below. The API
key is never a setting: it is read from the environment variable ``api_key_env`` names at the
moment a request is made, so it cannot end up in a repr, the history or a notebook.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

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
    timeout: float = 60.0  # seconds to connect, and to wait for each piece of the answer
    max_retries: int = 2  # the SDK's retries with backoff on connection errors, 408, 429 and 5xx
    k: int = 5  # past tasks shown to meta-informed prompts
    n: int = 5  # recommendations asked for when the %%cash line has no n=
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
        """The URL to print or store: credentials in it (``http://user:pass@host``) become ``****``."""
        parts = urlsplit(self.url)
        if "@" not in parts.netloc:
            return self.url
        return urlunsplit(parts._replace(netloc="****@" + parts.netloc.rpartition("@")[2]))

    @property
    def host(self) -> str:
        """Host (and port) of the endpoint, without any credentials embedded in the URL."""
        parts = urlsplit(self.url)
        return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else self.shown_url

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
            f" · max retries {self.max_retries} · streaming {'on' if self.stream else 'off'}",
            f"k {self.k} past tasks · n {self.n} recommendations · column names "
            f"{'sent' if self.send_column_names else 'not sent'}",
        ]


def mask(key: str) -> str:
    """Enough of a key to tell two apart, never enough to use it."""
    return f"{key[:3]}…{key[-4:]}" if len(key) >= 20 else "****"


def _or_unset(value) -> str:
    return "not sent" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
