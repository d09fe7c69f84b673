"""Intent parsing: message (+ previous turn) -> :class:`Intent`.

``make_parser(name, config, lexicon)`` builds a registered backend (``PARSERS``).
"""

from models.intent.config import IntentConfig
from models.intent.embedded import EmbeddedIntentParser
from models.intent.hybrid import HybridIntentParser
from models.intent.intent import (
    Intent,
    IntentParser,
    Mention,
    Preference,
    PriceConstraint,
    Reference,
)
from models.intent.llm import LLMFailure, LLMIntentParser
from models.intent.llm_local import LocalLLMIntentParser
from models.intent.llm_remote import RemoteLLMIntentParser
from models.intent.registry import PARSERS, make_parser

__all__ = [
    "PARSERS",
    "EmbeddedIntentParser",
    "HybridIntentParser",
    "Intent",
    "IntentConfig",
    "IntentParser",
    "LLMFailure",
    "LLMIntentParser",
    "LocalLLMIntentParser",
    "Mention",
    "Preference",
    "PriceConstraint",
    "Reference",
    "RemoteLLMIntentParser",
    "make_parser",
]
