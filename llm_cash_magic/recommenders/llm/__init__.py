"""LLM recommendations over any OpenAI-compatible endpoint: settings, prompts, client, parsing.

Importing this package is cheap; the ``openai`` SDK is imported only when a request is made
(``client``), so profiles, dry runs and the offline path never pay for it.
"""
