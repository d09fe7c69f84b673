"""Intent backends by name: ``PARSERS`` and ``make_parser``."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from kg.types import LexiconEntry
from kgrec.errors import ConfigError
from models.intent.config import IntentConfig
from models.intent.embedded import EmbeddedIntentParser
from models.intent.hybrid import HybridIntentParser
from models.intent.intent import IntentParser
from models.intent.llm_local import LocalLLMIntentParser
from models.intent.llm_remote import RemoteLLMIntentParser

logger = logging.getLogger(__name__)

#: Every registered backend. Constructors take ``(config, lexicon)``.
PARSERS: dict[str, type[IntentParser]] = {
    "embedded": EmbeddedIntentParser,
    "llm-local": LocalLLMIntentParser,
    "llm-remote": RemoteLLMIntentParser,
    "hybrid": HybridIntentParser,
}


def make_parser(
    name: str, config: IntentConfig | None = None, lexicon: Sequence[LexiconEntry] = ()
) -> IntentParser:
    """Build the backend registered as ``name``; unknown names raise ``ConfigError``."""
    try:
        cls = PARSERS[name]
    except KeyError:
        raise ConfigError(
            f"unknown intent parser {name!r}; valid names: {', '.join(sorted(PARSERS))}"
        ) from None
    logger.info("intent parser %s with %d lexicon entries", name, len(lexicon))
    return cls(config or IntentConfig(backend=name), lexicon)  # type: ignore[call-arg]


__all__ = ["PARSERS", "make_parser"]
