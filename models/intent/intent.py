"""The intent contract: what the *understand* step makes of one message.

An :class:`IntentParser` turns the shopper's message (plus the previous turn's
:class:`Intent`, for follow-ups) into an :class:`Intent`: its :class:`~kgrec.domain.IntentType`,
the spans that name (or may name) knowledge-graph nodes (:class:`Mention`), a price
constraint (:class:`PriceConstraint`), references to the last results (:class:`Reference`)
and soft wishes a catalog may not model (:class:`Preference`: who it is for, a gift, a use,
a season).

Backends register by name in ``PARSERS`` (see :mod:`models.intent.registry`); build one with
``make_parser(name, config, lexicon)``, both importable from :mod:`models.intent`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kgrec.domain import IntentType, PriceRange

#: Values :attr:`Mention.label_hint` may take.
MENTION_LABELS = ("Brand", "Category", "Attribute", "Product", "Entity")

#: Values :attr:`Reference.kind` may take.
REFERENCE_KINDS = ("ordinal", "last", "similar", "other_brand", "same_brand", "that_brand")

#: Values :attr:`PriceConstraint.relative` may take.
RELATIVE_PRICES = ("cheaper", "pricier")

#: Values :attr:`PriceConstraint.level` may take.
PRICE_LEVELS = ("low", "high")

#: Values :attr:`Preference.kind` may take.
PREFERENCE_KINDS = ("audience", "occasion", "use", "season")


@dataclass(frozen=True, slots=True)
class Mention:
    """A span of the message that names something in the KG (or might).

    ``start``/``end`` are character offsets into the *original* message, so
    ``message[start:end] == text``. ``entity_id`` is set only when a lexicon entry matched
    (case- and plural-insensitively) and unambiguously; otherwise the linker decides.
    """

    text: str
    start: int
    end: int
    negated: bool = False  # "not Nike", "no red", "anything but Adidas"
    label_hint: str | None = None  # one of MENTION_LABELS, or None
    entity_id: str | None = None


@dataclass(frozen=True, slots=True)
class PriceConstraint:
    """Bounds the shopper stated, inclusive; ``relative`` compares to the last results;
    ``level`` is a price wish with no number ("cheap", "affordable" -> ``"low"``; "premium",
    "high-end" -> ``"high"``): an order among the candidates, never an invented bound.

    "around X" is read as ``[0.8 X, 1.2 X]``.
    """

    min: float | None = None
    max: float | None = None
    currency: str | None = None  # ISO 4217 code when stated ("USD", "EUR", "GBP", "CNY")
    relative: str | None = None  # "cheaper" | "pricier" | None
    level: str | None = None  # "low" | "high" | None (PRICE_LEVELS)

    def as_range(self) -> PriceRange:
        """The absolute bounds as a domain :class:`~kgrec.domain.PriceRange`."""
        return PriceRange(min=self.min, max=self.max)


@dataclass(frozen=True, slots=True)
class Reference:
    """A reference to an earlier result.

    ``kind`` is one of ``REFERENCE_KINDS``: ``ordinal`` ("the second one", ``index=1``),
    ``last`` ("the last one", ``index=-1``), ``similar`` ("something like the second",
    ``index=1``; ``index=None`` for "something like these"), ``other_brand``
    ("another brand"), ``same_brand`` ("same brand", "more from that brand"),
    ``that_brand`` ("not that brand", ``negated=True``). ``index`` is the 0-based position in
    the last ranking, ``-1`` for the last one, ``None`` when not given.
    """

    kind: str
    index: int | None = None
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Preference:
    """A soft wish: who the item is for, the occasion, the use, the season.

    ``kind`` is one of ``PREFERENCE_KINDS``; ``value`` is its canonical word ("women", "men",
    "kids" for audiences; "gift"; the activity, e.g. "swimming"; "winter", "summer", "spring",
    "autumn"); ``text``/``start``/``end`` locate the words in the message ("my dad", "warm").
    Wishes the graph names (a use attribute, say) come as :class:`Mention` instead; these are
    the rest, so that the request is kept (as a soft preference or as words) rather than lost.
    """

    kind: str
    value: str
    text: str
    start: int
    end: int
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Intent:
    """The parsed message."""

    type: IntentType
    mentions: tuple[Mention, ...] = ()
    price: PriceConstraint | None = None
    references: tuple[Reference, ...] = ()
    confidence: float = 1.0
    backend: str = "embedded"  # which backend answered, after fallbacks
    clear_constraints: bool = False  # "forget that", "start over", "any price is fine"
    preferences: tuple[Preference, ...] = ()

    @classmethod
    def previous(cls, type_value: str, mentions: Sequence[Mapping[str, Any]]) -> Intent | None:
        """The last turn's intent as a session keeps it (its type's value and its mentions as
        dicts), for :meth:`IntentParser.parse`'s ``previous``; ``None`` before the first."""
        if not type_value:
            return None
        return cls(type=IntentType(type_value), mentions=tuple(Mention(**m) for m in mentions))


class IntentParser(ABC):
    """Turns one message into an :class:`Intent`. Implementations must be thread-safe."""

    #: Registry name of the backend.
    name: str = ""

    @abstractmethod
    def parse(self, message: str, *, previous: Intent | None = None) -> Intent:
        """Parse ``message``; ``previous`` is the last turn's intent in this session."""


__all__ = [
    "MENTION_LABELS",
    "PREFERENCE_KINDS",
    "PRICE_LEVELS",
    "REFERENCE_KINDS",
    "RELATIVE_PRICES",
    "Intent",
    "IntentParser",
    "Mention",
    "Preference",
    "PriceConstraint",
    "Reference",
]
