"""Typed rows going into the graph and typed records coming out of it.

Raw driver records never leave ``kg/``: every read returns one of the dataclasses below.
Input rows are ``TypedDict``s so the bulk loaders can pass them straight to ``UNWIND $rows``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NotRequired, TypedDict

from kgrec.domain import KgPath, PriceRange
from kgrec.startup_cache import fingerprint

# ---------------------------------------------------------------------------------------------
# Input rows (what importers and the demo generator produce)
# ---------------------------------------------------------------------------------------------


class CategoryRow(TypedDict):
    id: str  # "cat:running-shoes"
    name: str  # "Running shoes"
    parent_id: NotRequired[str | None]  # None for a root
    aliases: NotRequired[list[str]]


class BrandRow(TypedDict):
    id: str  # "brand:nike"
    name: str
    aliases: NotRequired[list[str]]


class AttributeRow(TypedDict):
    id: str  # "attr:color=red"
    name: str  # "color"
    value: str  # "red"
    aliases: NotRequired[list[str]]


class ProductRow(TypedDict):
    id: str  # "prod:000123"
    title: str
    description: NotRequired[str]
    price: NotRequired[float | None]
    currency: NotRequired[str]
    category_id: NotRequired[str | None]
    brand_id: NotRequired[str | None]
    attribute_ids: NotRequired[list[str]]
    image_ref: NotRequired[str]  # path relative to the data dir, or a URL
    aliases: NotRequired[list[str]]


class UserRow(TypedDict):
    id: str  # "user:42"
    name: NotRequired[str]


class InteractionRow(TypedDict):
    user_id: str
    item_id: str
    type: str  # an EventType value
    value: NotRequired[float]
    ts: NotRequired[float]  # unix seconds
    event_id: str


class EntityRow(TypedDict):
    """A node of an imported knowledge graph (person, genre, studio, ...)."""

    id: str
    name: str
    type: NotRequired[str]  # free text type from the source, e.g. "film.director"
    aliases: NotRequired[list[str]]


class TripleRow(TypedDict):
    head: str  # node id (Product or Entity)
    relation: str  # must pass kg.schema.relation_type()
    tail: str


# ---------------------------------------------------------------------------------------------
# Query inputs and typed results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LexiconEntry:
    """A name or alias of a linkable node."""

    entity_id: str
    label: str
    name: str  # canonical display name
    surface: str  # the name or alias this entry matches on

    def __reduce__(self) -> tuple[type[LexiconEntry], tuple[str, str, str, str]]:
        # pickled as its fields: a restart unpickles ~200k entries (100k products) from the
        # start-up caches, and a slots dataclass's own state protocol is several times slower
        return LexiconEntry, (self.entity_id, self.label, self.name, self.surface)


def lexicon_fingerprint(lexicon: Sequence[LexiconEntry]) -> str:
    """A digest of the entries in order: equal exactly when the lexicon is (start-up caches
    built from it are keyed by it, so an import that changes a name rebuilds them)."""
    return fingerprint((e.entity_id, e.label, e.name, e.surface) for e in lexicon)


@dataclass(frozen=True, slots=True)
class EntityHit:
    entity_id: str
    label: str
    name: str
    score: float


@dataclass(frozen=True, slots=True)
class CandidateQuery:
    """Candidate products, filtered in the database.

    Hard filters (all must hold): ``price``, ``category_ids`` (any, with their subtrees),
    ``brand_ids`` (any), ``required_attribute_ids`` (all), ``exclude_*``.
    Soft preferences only count toward ``Candidate.matched``: ``preferred_ids`` (any linked
    node one hop from the product, e.g. an attribute or an imported entity).
    Results are ordered by number of preferred matches, then popularity.
    """

    price: PriceRange = field(default_factory=PriceRange)
    category_ids: tuple[str, ...] = ()
    brand_ids: tuple[str, ...] = ()
    required_attribute_ids: tuple[str, ...] = ()
    preferred_ids: tuple[str, ...] = ()
    exclude_brand_ids: tuple[str, ...] = ()
    exclude_category_ids: tuple[str, ...] = ()
    exclude_attribute_ids: tuple[str, ...] = ()
    exclude_item_ids: tuple[str, ...] = ()
    limit: int = 200

    @property
    def has_hard_constraints(self) -> bool:
        """Whether it filters by more than item ids (filters another source's items would
        have to be checked against; the graph applies them, with category subtrees)."""
        return bool(
            self.category_ids
            or self.brand_ids
            or self.required_attribute_ids
            or not self.price.is_open
            or self.exclude_brand_ids
            or self.exclude_category_ids
            or self.exclude_attribute_ids
        )


@dataclass(frozen=True, slots=True)
class ProductRecord:
    id: str
    title: str
    description: str = ""
    price: float | None = None
    currency: str = "USD"
    image_ref: str = ""
    brand_id: str = ""
    brand: str = ""
    category_id: str = ""
    category: str = ""
    attributes: tuple[tuple[str, str], ...] = ()  # (name, value)
    attribute_ids: tuple[str, ...] = ()
    popularity: float = 0.0  # number of positive interactions


#: Columns of a product row (:data:`kg.queries.PRODUCTS`), in RETURN order: the node's
#: properties, then brand ``[id, name]``, category ``[id, name]`` (nulls if none) and
#: attributes ``[[id, name, value], ...]`` (one ``[null, null, null]`` if none).
PRODUCT_COLUMNS = (
    "id",
    "title",
    "description",
    "price",
    "currency",
    "image_ref",
    "popularity",
    "brand",
    "category",
    "attributes",
)


@dataclass(frozen=True, slots=True)
class Candidate:
    product: ProductRecord
    matched: tuple[str, ...] = ()  # ids of preferred nodes this product links to


#: Columns of a candidate row (:func:`kg.queries.candidates`): ``matched`` lists the
#: preferred ids the product links to.
CANDIDATE_COLUMNS = ("id", "popularity", "matched")

#: Columns of a path row (:func:`kg.queries.paths`, read into :class:`kgrec.domain.KgPath`):
#: nodes ``[[label, id, name], ...]``, rels ``[type, ...]``, starts ``[start node id, ...]``.
PATH_COLUMNS = ("item_id", "nodes", "rels", "starts")

#: Columns of :func:`kg.queries.paths_one_trip`: a path row's after its length and the
#: positions of its source and item in the query's lists (the store orders paths by them).
PATH_TRIP_COLUMNS = ("hops", "source_pos", "item_pos", *PATH_COLUMNS)


@dataclass(frozen=True, slots=True)
class GraphStats:
    nodes: dict[str, int]  # by label
    relationships: dict[str, int]  # by type
    degree: dict[str, float] = field(default_factory=dict)  # min/mean/p50/p99/max over products


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: str
    user_id: str
    created_at: float
    updated_at: float
    state: str = ""  # JSON owned by the dialogue layer
    version: int = 0  # bumped by every state write; compare-and-set token for the next one


#: Columns of a session row, in RETURN order (the fields of :class:`SessionRecord`).
SESSION_COLUMNS = ("id", "user_id", "created_at", "updated_at", "state", "version")


@dataclass(frozen=True, slots=True)
class UserDataCounts:
    """What a shopper left in the graph: events, sessions, their user node (0 or 1)."""

    events: int = 0
    sessions: int = 0
    users: int = 0

    @property
    def total(self) -> int:
        return self.events + self.sessions + self.users


#: Columns of :data:`kg.queries.USER_DATA_COUNTS`.
USER_DATA_COLUMNS = ("events", "sessions", "users")


@dataclass(frozen=True, slots=True)
class StoredEvent:
    event_id: str
    user_id: str
    item_id: str
    type: str
    value: float
    ts: float


#: Columns of :data:`kg.queries.USER_EVENTS` (the fields of :class:`StoredEvent`).
STORED_EVENT_COLUMNS = ("event_id", "user_id", "item_id", "type", "value", "ts")


__all__ = [
    "lexicon_fingerprint",
    "CANDIDATE_COLUMNS",
    "PATH_COLUMNS",
    "PATH_TRIP_COLUMNS",
    "PRODUCT_COLUMNS",
    "SESSION_COLUMNS",
    "STORED_EVENT_COLUMNS",
    "USER_DATA_COLUMNS",
    "AttributeRow",
    "BrandRow",
    "Candidate",
    "CandidateQuery",
    "CategoryRow",
    "EntityHit",
    "EntityRow",
    "GraphStats",
    "InteractionRow",
    "KgPath",
    "LexiconEntry",
    "ProductRecord",
    "ProductRow",
    "SessionRecord",
    "StoredEvent",
    "TripleRow",
    "UserDataCounts",
    "UserRow",
]
