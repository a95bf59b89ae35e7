"""LLM recommendations over any OpenAI-compatible endpoint: settings, prompts, client, parsing.

Importing this package is cheap; the ``openai`` SDK is imported only when a request is made
(``llm.client``), so profiles, dry runs and the offline path never pay for it.
"""


def plural(count: int, word: str, words: str = "") -> str:
    """``1 line``, ``2 lines``: counts that read as English in prompts and notices."""
    return f"{count} {word if count == 1 else words or word + 's'}"
