"""A minimal client of an OpenAI-compatible `/chat/completions` endpoint (vLLM, llama.cpp server,
Ollama, xllamacpp, a hosted endpoint inside the hospital network), over httpx.

Only the server the operator named (`MEDCITE_LLM_URL`) is ever contacted. The request body holds
patient text (the question), so neither it nor the reply is logged; errors name the server and
what went wrong, never the content.
"""

from __future__ import annotations

import httpx

from medcite.errors import MedciteError
from medcite.settings import Settings


class LLMUnavailable(MedciteError):
    """The LLM server could not write the answer (down, slow, an error status, or a reply that is
    not a chat completion): the answer falls back to the extractive composer and says why."""


def chat_url(base: str) -> str:
    """Return the chat-completions URL of an OpenAI-compatible base URL ("http://h:8080/v1")."""
    return base.rstrip("/") + "/chat/completions"


class LLMClient:
    """Sends one chat to the configured server and returns the text of its reply."""

    def __init__(self, settings: Settings):
        if not settings.llm_url:
            raise LLMUnavailable("no LLM server is configured (MEDCITE_LLM_URL)")
        self.settings = settings
        self.url = chat_url(settings.llm_url)
        key = settings.api_key()
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        timeout = httpx.Timeout(settings.llm_timeout_s, connect=settings.llm_connect_timeout_s)
        # trust_env off: a proxy from the environment must not see patient text the operator sent elsewhere
        self._http = httpx.Client(timeout=timeout, headers=headers, trust_env=False)

    def chat(self, messages: list[dict[str, str]], max_tokens: int | None = None) -> str:
        """Return the assistant text of one completion (temperature 0); raise LLMUnavailable."""
        body = {"model": self.settings.llm_model or "default", "messages": messages, "temperature": 0,
                "max_tokens": max_tokens or self.settings.llm_max_tokens, "stream": False}
        where = httpx.URL(self.url).host
        try:
            r = self._http.post(self.url, json=body)
        except httpx.TimeoutException:
            raise LLMUnavailable(f"the LLM server at {where} did not answer within its time limit "
                                 f"(MEDCITE_LLM_TIMEOUT_S={self.settings.llm_timeout_s:g})") from None
        except httpx.HTTPError as exc:
            raise LLMUnavailable(f"the LLM server at {where} could not be reached ({type(exc).__name__})") from None
        if r.status_code != 200:
            raise LLMUnavailable(f"the LLM server at {where} answered HTTP {r.status_code}")
        try:
            text = r.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise LLMUnavailable(f"the LLM server at {where} sent a reply that is not a chat completion") from None
        if not isinstance(text, str):
            raise LLMUnavailable(f"the LLM server at {where} sent a reply without text")
        return text

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()
