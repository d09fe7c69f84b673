"""Domain types that flow through one conversational turn.

These are plain frozen dataclasses: the server maps protobuf messages to and from them in
``server/mappers.py``; ``kg`` and ``models`` never see generated code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class IntentType(StrEnum):
    """What the shopper wants from this turn."""

    RECOMMEND = "recommend"
    REFINE = "refine"  # critique of the last results: "cheaper", "not that brand"
    COMPARE = "compare"
    ASK_ITEM = "ask_item"
    FEEDBACK = "feedback"  # feedback in words: "I loved the second one"
    OTHER = "other"  # chit-chat and anything else


class EventType(StrEnum):
    """Kinds of feedback a client reports."""

    IMPRESSION = "impression"
    CLICK = "click"
    ADD_TO_CART = "add_to_cart"
    PURCHASE = "purchase"
    RATING = "rating"
    LIKE = "like"
    DISLIKE = "dislike"
    DISMISS = "dismiss"


#: Events that say the shopper does *not* want the item.
NEGATIVE_EVENTS = frozenset({EventType.DISLIKE, EventType.DISMISS})
#: Events that say the shopper wants the item (ratings: see :func:`is_positive`).
POSITIVE_EVENTS = frozenset(
    {EventType.CLICK, EventType.ADD_TO_CART, EventType.PURCHASE, EventType.LIKE}
)
#: A rating at or above this is positive, at or below ``NEGATIVE_RATING`` negative (1-5 scale).
POSITIVE_RATING = 4.0
NEGATIVE_RATING = 2.0


def is_positive(event_type: EventType | str, value: float = 0.0) -> bool:
    """The one rule for "this event says the shopper wants the item": a click, add to cart,
    purchase or like, or a rating of ``POSITIVE_RATING`` or more. Session state, popularity
    counts, training pairs and the demo's held-out split all use it."""
    kind = _event_type(event_type)
    if kind is EventType.RATING:
        return value >= POSITIVE_RATING
    return kind in POSITIVE_EVENTS


def is_negative(event_type: EventType | str, value: float = 0.0) -> bool:
    """A dislike or a dismissal, or a rating of ``NEGATIVE_RATING`` or less."""
    kind = _event_type(event_type)
    if kind is EventType.RATING:
        return value <= NEGATIVE_RATING
    return kind in NEGATIVE_EVENTS


#: How strongly each event says "more like this" (+) or "less like this" (-), for the session's
#: and the user's profile (:func:`feedback_weight`). A purchase is the strongest evidence, a
#: click the weakest positive one (it is also how a shopper looks at what they then reject);
#: a dismissal ("not now") counts half a dislike.
EVENT_WEIGHTS: dict[EventType, float] = {
    EventType.IMPRESSION: 0.0,
    EventType.CLICK: 0.3,
    EventType.ADD_TO_CART: 0.6,
    EventType.PURCHASE: 1.0,
    EventType.LIKE: 0.8,
    EventType.DISLIKE: -1.0,
    EventType.DISMISS: -0.5,
}


def feedback_weight(event_type: EventType | str, value: float = 0.0) -> float:
    """The signed weight of one event in a profile, in ``[-1, 1]``: :data:`EVENT_WEIGHTS`,
    and for a rating ``(value - 3) / 2`` clipped to ``[-1, 1]`` (5 pulls fully, 4 half,
    3 not at all, 1 pushes away fully): proportional to the value, not a threshold. An
    unknown kind (an imported log's own) weighs 0."""
    kind = _event_type(event_type)
    if kind is None:
        return 0.0
    if kind is EventType.RATING:
        return max(-1.0, min(1.0, (float(value) - 3.0) / 2.0))
    return EVENT_WEIGHTS[kind]


def _event_type(value: EventType | str) -> EventType | None:
    try:
        return EventType(value)
    except ValueError:  # an imported log's own kind: neither positive nor negative
        return None


#: The largest price a request may state: far above any catalog price, and small enough to
#: print (a client sending 1e308 as "no limit" gets a clear error instead of a 309-digit echo).
MAX_PRICE = 1_000_000_000.0


@dataclass(frozen=True, slots=True)
class PriceRange:
    """Inclusive price bounds; ``None`` means unbounded on that side."""

    min: float | None = None
    max: float | None = None

    def contains(self, price: float | None) -> bool:
        if price is None:
            return self.min is None and self.max is None
        if self.min is not None and price < self.min:
            return False
        return not (self.max is not None and price > self.max)

    @property
    def is_open(self) -> bool:
        return self.min is None and self.max is None


@dataclass(frozen=True, slots=True)
class Filters:
    """Explicit filters sent by the client alongside the message."""

    price: PriceRange = field(default_factory=PriceRange)
    category_ids: tuple[str, ...] = ()
    excluded_item_ids: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return self.price.is_open and not self.category_ids and not self.excluded_item_ids


@dataclass(frozen=True, slots=True)
class RecommendQuery:
    """One ``Recommend`` call, validated."""

    message: str
    user_id: str = ""  # empty: anonymous
    session_id: str = ""  # empty: start a new session
    limit: int = 10
    filters: Filters = field(default_factory=Filters)
    context_item_ids: tuple[str, ...] = ()
    explain: bool = True
    request_id: str = ""
    #: may this turn explore (draw the shown items at random from the best few)? ``None``:
    #: the server's ``explore_rate`` decides; ``False``: never (a fixed ranking).
    explore: bool | None = None


@dataclass(frozen=True, slots=True)
class LinkedEntity:
    """A mention in the message resolved to a node of the knowledge graph."""

    mention: str
    entity_id: str
    label: str  # Brand, Category, Attribute, Product, Entity, ...
    name: str
    score: float
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Constraint:
    """One constraint the turn applies, e.g. ``price <= 100`` or ``brand != brand:nike``."""

    field: str  # price | brand | category | attribute | item
    op: str  # == != <= >= in
    value: str


@dataclass(frozen=True, slots=True)
class ParsedIntent:
    """What the understand + link steps made of the message, echoed to the client."""

    type: IntentType
    entities: tuple[LinkedEntity, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    confidence: float = 1.0
    backend: str = ""


@dataclass(frozen=True, slots=True)
class PathNode:
    id: str
    label: str
    name: str


@dataclass(frozen=True, slots=True)
class KgPath:
    """A real path in the graph: ``nodes[i] -[relations[i]]- nodes[i + 1]``.

    A path may walk an edge against its direction (``red <-[HAS_ATTRIBUTE]- shoe``), so
    ``forward[i]`` says which way edge ``i`` points: True for ``nodes[i] -> nodes[i + 1]``,
    False for ``nodes[i + 1] -> nodes[i]``. Empty when the direction is not known (a path built
    by hand, or from a server that predates the field); else one flag per relation.
    """

    nodes: tuple[PathNode, ...]
    relations: tuple[str, ...]
    forward: tuple[bool, ...] = ()

    def __post_init__(self) -> None:
        if len(self.relations) != max(len(self.nodes) - 1, 0):
            raise ValueError("a path of n nodes has n - 1 relations")
        if self.forward and len(self.forward) != len(self.relations):
            raise ValueError("forward has one flag per relation (or none)")


@dataclass(frozen=True, slots=True)
class Reason:
    """Why an item was picked, grounded by a KG path when there is one."""

    text: str
    kind: str  # match | constraint | popularity | similar | feedback | close
    path: KgPath | None = None


@dataclass(frozen=True, slots=True)
class RankedItem:
    item_id: str
    title: str
    score: float
    price: float | None = None
    currency: str = "USD"
    image_ref: str = ""
    brand: str = ""
    category: str = ""
    attributes: tuple[tuple[str, str], ...] = ()
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True, slots=True)
class Recommendation:
    """The answer to one ``Recommend`` call."""

    session_id: str
    items: tuple[RankedItem, ...]
    reply: str
    intent: ParsedIntent
    model_version: str
    request_id: str = ""


@dataclass(frozen=True, slots=True)
class FeedbackEvent:
    user_id: str
    session_id: str
    item_id: str
    event_type: EventType
    value: float = 0.0
    client_ts: float = 0.0  # unix seconds from the client, 0 if unknown
    idempotency_key: str = ""
    request_id: str = ""


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    accepted: bool
    event_id: str
    duplicate: bool = False


__all__ = [
    "MAX_PRICE",
    "NEGATIVE_EVENTS",
    "NEGATIVE_RATING",
    "POSITIVE_EVENTS",
    "POSITIVE_RATING",
    "Constraint",
    "EVENT_WEIGHTS",
    "EventType",
    "FeedbackEvent",
    "FeedbackResult",
    "Filters",
    "IntentType",
    "KgPath",
    "LinkedEntity",
    "ParsedIntent",
    "PathNode",
    "PriceRange",
    "RankedItem",
    "Reason",
    "RecommendQuery",
    "Recommendation",
    "feedback_weight",
    "is_negative",
    "is_positive",
]
