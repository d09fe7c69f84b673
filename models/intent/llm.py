"""Common base of the LLM backends: prompt, validate, fall back.

A backend implements :meth:`LLMIntentParser._complete` (chat turns in, reply text out, within
a time budget). :meth:`LLMIntentParser.parse` never fails: on a timeout, an invalid reply or
any error it answers with the embedded parser and says so in ``backend``, e.g.
``"embedded(fallback:llm-local:timeout)"``. :meth:`try_parse` raises :class:`LLMFailure`
instead (the hybrid backend uses it).
"""

from __future__ import annotations

import logging
import threading
import time
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import replace

from kg.types import LexiconEntry
from kgrec.errors import KgrecError
from models.intent._llm_schema import InvalidLLMOutput, chat_messages, intent_from_llm_json
from models.intent.config import IntentConfig
from models.intent.embedded import EmbeddedIntentParser
from models.intent.intent import Intent, IntentParser
from models.intent.span_extractor import SpanExtractor

logger = logging.getLogger(__name__)


class LLMFailure(KgrecError):
    """The LLM gave no usable answer; ``reason`` is "timeout", "invalid", "loading" or "error".

    Raised by :meth:`LLMIntentParser.try_parse` only; ``parse`` turns it into a fallback.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class LLMIntentParser(IntentParser):
    """Base of ``llm-local`` and ``llm-remote``.

    Args:
        config: ``budget_ms`` bounds each answer; the rest is backend specific.
        lexicon: grounds the model's spans to entity ids (exact lexicon matches only).
        fallback: the parser used when the model fails (default: embedded, built lazily).
    """

    #: Confidence reported for an LLM answer when the backend has no better estimate.
    default_confidence = 0.9

    def __init__(
        self,
        config: IntentConfig | None = None,
        lexicon: Sequence[LexiconEntry] = (),
        *,
        fallback: IntentParser | None = None,
    ) -> None:
        self.config = config or IntentConfig(backend=self.name)
        self._lexicon = tuple(lexicon)
        self._extractor = SpanExtractor(lexicon, open_vocabulary=False)
        self._fallback = fallback
        self._fallback_lock = threading.Lock()

    @property
    def fallback(self) -> IntentParser:
        if self._fallback is None:
            with self._fallback_lock:
                if self._fallback is None:
                    self._fallback = EmbeddedIntentParser(self.config, self._lexicon)
        return self._fallback

    @abstractmethod
    def _complete(
        self, messages: list[dict[str, str]], budget_s: float, *, json_mode: bool = True
    ) -> tuple[str, float]:
        """``(reply text, confidence)``; raise :class:`LLMFailure` on timeout or error.

        ``json_mode`` asks for (and, locally, stops at the end of) one JSON object; free-form
        text otherwise."""

    def complete(self, messages: list[dict[str, str]], budget_s: float) -> str:
        """Free-form completion through this backend (the reply rewriter uses it).

        Raises :class:`LLMFailure` on error or when the answer comes after ``budget_s``."""
        if budget_s <= 0:
            raise LLMFailure("timeout", "no budget left")
        t0 = time.perf_counter()
        text, _ = self._complete(messages, budget_s, json_mode=False)
        if time.perf_counter() - t0 > budget_s:
            raise LLMFailure("timeout", f"answer after {time.perf_counter() - t0:.2f}s")
        return text

    def try_parse(
        self, message: str, *, previous: Intent | None = None, budget_s: float | None = None
    ) -> Intent:
        """The model's intent, or :class:`LLMFailure`."""
        budget = self.config.budget_ms / 1000 if budget_s is None else budget_s
        if budget <= 0:
            raise LLMFailure("timeout", "no budget left")
        t0 = time.perf_counter()
        text, confidence = self._complete(chat_messages(message, previous), budget)
        if time.perf_counter() - t0 > budget:
            raise LLMFailure("timeout", f"answer after {time.perf_counter() - t0:.2f}s")
        try:
            intent = intent_from_llm_json(text, message, self._extractor)
        except InvalidLLMOutput as e:
            raise LLMFailure("invalid", str(e)) from e
        return replace(intent, confidence=confidence, backend=self.name)

    def parse(self, message: str, *, previous: Intent | None = None) -> Intent:
        try:
            return self.try_parse(message, previous=previous)
        except LLMFailure as e:
            reason = e.reason
            logger.info("%s failed (%s); falling back", self.name, e)
        except Exception:  # any backend error must still produce an intent
            reason = "error"
            logger.warning("%s raised; falling back", self.name, exc_info=True)
        fb = self.fallback.parse(message, previous=previous)
        return replace(fb, backend=f"{fb.backend}(fallback:{self.name}:{reason})")


__all__ = ["LLMFailure", "LLMIntentParser"]
