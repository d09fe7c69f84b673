"""``llm-remote``: any OpenAI-compatible chat endpoint (``POST {endpoint}/chat/completions``).

Standard library HTTP (``urllib``); the key comes from the environment variable named by
``IntentConfig.api_key_env`` and is sent as ``Authorization: Bearer``. The socket timeout is
the remaining budget; a reply later than the budget counts as a timeout.
"""

from __future__ import annotations

import json
import logging
import socket
import time
import urllib.error
import urllib.request
from typing import Any

from kgrec.errors import ConfigError
from models.intent.llm import LLMFailure, LLMIntentParser

logger = logging.getLogger(__name__)


class RemoteLLMIntentParser(LLMIntentParser):
    """Intent JSON from an OpenAI-compatible chat-completions endpoint."""

    name = "llm-remote"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.config.endpoint_url:
            raise ConfigError("llm-remote needs IntentConfig.endpoint_url")
        base = self.config.endpoint_url.rstrip("/")
        self.url = base if base.endswith("/chat/completions") else base + "/chat/completions"

    def _complete(
        self, messages: list[dict[str, str]], budget_s: float, *, json_mode: bool = True
    ) -> tuple[str, float]:
        body: dict[str, Any] = {
            "model": self.config.remote_model,
            "messages": messages,
            "temperature": self.config.temperature,
            "max_tokens": self.config.llm_max_new_tokens,
        }
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        headers = {"Content-Type": "application/json", **self.config.extra_headers}
        key = self.config.api_key
        if key:
            headers["Authorization"] = f"Bearer {key}"
        req = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=budget_s) as resp:
                payload = json.loads(resp.read().decode("utf-8"))
        except TimeoutError as e:
            raise LLMFailure("timeout", str(e)) from e
        except urllib.error.HTTPError as e:
            raise LLMFailure("error", f"HTTP {e.code}") from e
        except urllib.error.URLError as e:
            if isinstance(e.reason, TimeoutError | socket.timeout):
                raise LLMFailure("timeout", str(e.reason)) from e
            raise LLMFailure("error", str(e.reason)) from e
        except ValueError as e:
            raise LLMFailure("invalid", f"endpoint reply is not JSON: {e}") from e
        if time.perf_counter() - t0 > budget_s:
            raise LLMFailure("timeout", "reply after the budget")
        try:
            text = payload["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as e:
            raise LLMFailure("invalid", "no choices[0].message.content in the reply") from e
        if not isinstance(text, str):
            raise LLMFailure("invalid", "message content is not text")
        return text, self.default_confidence


__all__ = ["RemoteLLMIntentParser"]
