"""``hybrid``: the embedded parser first; the LLM only for the messages it is unsure of.

When the embedded confidence is below ``hybrid_threshold`` and at least ``MIN_LLM_BUDGET_MS``
of ``budget_ms`` is left, the ``hybrid_llm`` backend is asked with what remains of the budget.
Its *type* replaces the embedded one (``backend="hybrid(llm-local)"``); the slots stay the
embedded rules' (they are precise and grounded; a small LLM's spans are not). If the LLM
fails, the embedded answer stands with ``backend="embedded(fallback:llm-local:<reason>)"``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace

from kg.types import LexiconEntry
from kgrec.errors import ConfigError
from models.intent.config import IntentConfig
from models.intent.embedded import EmbeddedIntentParser
from models.intent.intent import Intent, IntentParser
from models.intent.llm import LLMFailure, LLMIntentParser
from models.intent.llm_local import LocalLLMIntentParser
from models.intent.llm_remote import RemoteLLMIntentParser

logger = logging.getLogger(__name__)

#: Below this many milliseconds left, hybrid does not start an LLM call.
MIN_LLM_BUDGET_MS = 50.0

_LLMS: dict[str, type[LLMIntentParser]] = {
    "llm-local": LocalLLMIntentParser,
    "llm-remote": RemoteLLMIntentParser,
}


class HybridIntentParser(IntentParser):
    """Embedded parser with an LLM second opinion on low-confidence types."""

    name = "hybrid"

    def __init__(
        self,
        config: IntentConfig | None = None,
        lexicon: Sequence[LexiconEntry] = (),
        *,
        embedded: IntentParser | None = None,
        llm: LLMIntentParser | None = None,
    ) -> None:
        self.config = config or IntentConfig(backend=self.name)
        self.embedded = embedded or EmbeddedIntentParser(self.config, lexicon)
        if llm is None:
            try:
                cls = _LLMS[self.config.hybrid_llm]
            except KeyError:
                raise ConfigError(
                    f"unknown hybrid_llm {self.config.hybrid_llm!r}; valid: {', '.join(_LLMS)}"
                ) from None
            llm = cls(self.config, lexicon, fallback=self.embedded)
        self.llm = llm

    def parse(self, message: str, *, previous: Intent | None = None) -> Intent:
        t0 = time.perf_counter()
        first = self.embedded.parse(message, previous=previous)
        if first.confidence >= self.config.hybrid_threshold:
            return first
        left_ms = self.config.budget_ms - (time.perf_counter() - t0) * 1000
        if left_ms < MIN_LLM_BUDGET_MS:
            return replace(first, backend=f"{first.backend}(fallback:{self.llm.name}:budget)")
        try:
            second = self.llm.try_parse(message, previous=previous, budget_s=left_ms / 1000)
        except LLMFailure as e:
            logger.info("hybrid: %s failed (%s); keeping the embedded answer", self.llm.name, e)
            return replace(first, backend=f"{first.backend}(fallback:{self.llm.name}:{e.reason})")
        except Exception:
            logger.warning("hybrid: %s raised; keeping the embedded answer", self.llm.name,
                           exc_info=True)  # fmt: skip
            return replace(first, backend=f"{first.backend}(fallback:{self.llm.name}:error)")
        return replace(
            first,
            type=second.type,
            confidence=second.confidence,
            backend=f"hybrid({self.llm.name})",
        )


__all__ = ["MIN_LLM_BUDGET_MS", "HybridIntentParser"]
