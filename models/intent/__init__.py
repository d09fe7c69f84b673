"""Intent parsing: message (+ previous turn) -> :class:`Intent`.

``make_parser(name, config, lexicon)`` builds a registered backend (``PARSERS``).
"""

from models.intent.config import IntentConfig
from models.intent.embedded import EmbeddedIntentParser
from models.intent.intent import Intent, IntentParser, Mention, PriceConstraint, Reference
from models.intent.registry import PARSERS, make_parser

__all__ = [
    "PARSERS",
    "EmbeddedIntentParser",
    "Intent",
    "IntentConfig",
    "IntentParser",
    "Mention",
    "PriceConstraint",
    "Reference",
    "make_parser",
]
