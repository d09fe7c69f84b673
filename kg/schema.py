"""The graph schema: allow-listed labels and relationship types, indexed properties.

Nodes::

    Product   {id, title, description, price, currency, image_ref, popularity, aliases, embedding}
    Brand     {id, name, aliases}
    Category  {id, name, aliases}          (:Category)-[:SUBCATEGORY_OF]->(:Category)
    Attribute {id, name, value, aliases}   typed name/value, e.g. color=red
    User      {id, name}
    Entity    {id, name, type, aliases}    imported KG nodes, typed relations via relation_type()
    Session   {id, user_id, created_at, updated_at, state}

Relationships::

    (Product)-[:IN_CATEGORY]->(Category)
    (Product)-[:HAS_BRAND]->(Brand)
    (Product)-[:HAS_ATTRIBUTE]->(Attribute)
    (User)-[:INTERACTED {type, value, ts, event_id, idempotency_key, session_id}]->(Product)
    (Product|Entity)-[:<IMPORTED_TYPE>]->(Product|Entity)

Every named node also stores ``search_text``: its name (title, value) and aliases in one
string, the one fulltext-indexed property (the indexes cover strings, not lists). Line breaks,
other non-space whitespace and backslashes become spaces in it, because FalkorDB's tokenizer
does not split on them and a query cannot match a token that holds them.

Labels and relationship types are the only names ever spliced into Cypher text; they come
from :func:`label` and :func:`relation_type`, and are backtick-quoted by the query builders.
"""

from __future__ import annotations

import re
import unicodedata

from kgrec.domain import POSITIVE_EVENTS, POSITIVE_RATING, EventType, is_positive

from .exceptions import SchemaNameError

PRODUCT = "Product"
BRAND = "Brand"
CATEGORY = "Category"
ATTRIBUTE = "Attribute"
USER = "User"
ENTITY = "Entity"
SESSION = "Session"

#: Every node label the graph may hold, in the order a node's display label is chosen.
LABELS: tuple[str, ...] = (PRODUCT, BRAND, CATEGORY, ATTRIBUTE, ENTITY, USER, SESSION)

#: Labels whose nodes have a display name (``title`` for products, ``name`` otherwise).
NAMED_LABELS: tuple[str, ...] = (PRODUCT, BRAND, CATEGORY, ATTRIBUTE, ENTITY)

#: Labels with a unique ``id`` (all of them).
UNIQUE_ID_LABELS: tuple[str, ...] = LABELS

#: Product properties with a range index: the denormalised filter lists (FalkorDB indexes
#: each element of a list, so a candidate query starts from the products carrying one id
#: instead of scanning them all), the price, and the popularity (an unfiltered candidate
#: query reads only the products above a popularity floor), and when the popularity last
#: moved (``popularity_at``, the graph DB's ``timestamp()``): a serving process reads the
#: products whose popularity other processes moved since it last looked, not all of them.
PRODUCT_INDEXED_PROPS: tuple[str, ...] = (
    "category_ids", "brand_ids", "attribute_ids", "price", "popularity", "popularity_at",
)  # fmt: skip

#: Fulltext-indexed properties by label.
FULLTEXT_FIELDS: dict[str, tuple[str, ...]] = {lab: ("search_text",) for lab in NAMED_LABELS}

IN_CATEGORY = "IN_CATEGORY"
HAS_BRAND = "HAS_BRAND"
HAS_ATTRIBUTE = "HAS_ATTRIBUTE"
SUBCATEGORY_OF = "SUBCATEGORY_OF"
INTERACTED = "INTERACTED"

#: Relationship types the core schema owns; imported relations may not reuse them.
CORE_REL_TYPES: frozenset[str] = frozenset(
    {IN_CATEGORY, HAS_BRAND, HAS_ATTRIBUTE, SUBCATEGORY_OF, INTERACTED}
)

#: Interaction types that count toward ``Product.popularity`` (plus ratings of at least
#: ``POSITIVE_RATING``): the domain's one rule (:func:`kgrec.domain.is_positive`) as Cypher
#: parameters.
POSITIVE_EVENT_TYPES: tuple[str, ...] = tuple(e.value for e in EventType if e in POSITIVE_EVENTS)
RATING_EVENT_TYPE = EventType.RATING.value

ALIAS_SEPARATOR = " | "


_REL_TYPE_RE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_NON_WORD = re.compile(r"[^A-Z0-9]+")


def relation_type(name: str) -> str:
    """Normalise an imported relation name to a relationship type.

    ``"film.film.directed_by"`` -> ``"FILM_FILM_DIRECTED_BY"``: upper-cased, every run of
    characters other than ``A-Z0-9`` becomes one ``_``, leading/trailing ``_`` dropped.
    The result must match ``[A-Z][A-Z0-9_]{0,63}`` and must not be a core type.

    Raises:
        SchemaNameError: (an ``InvalidInputError`` with ``field="relation"``) otherwise.
    """
    if not isinstance(name, str):
        raise SchemaNameError("relation", f"relation name must be a string, got {type(name)}")
    norm = _NON_WORD.sub("_", name.strip().upper()).strip("_")
    if not _REL_TYPE_RE.fullmatch(norm):
        raise SchemaNameError(
            "relation",
            f"{name!r} does not normalise to a valid relationship type "
            "([A-Z][A-Z0-9_]{0,63}, ASCII only)",
        )
    if norm in CORE_REL_TYPES:
        raise SchemaNameError("relation", f"{name!r} is a reserved core relationship type")
    return norm


def label(name: str) -> str:
    """Return ``name`` if it is an allowed node label, else raise ``SchemaNameError``."""
    if name not in LABELS:
        raise SchemaNameError("label", f"unknown label {name!r}; valid: {', '.join(LABELS)}")
    return name


def named_label(name: str) -> str:
    """Like :func:`label`, restricted to labels with a display name (linkable nodes)."""
    if name not in NAMED_LABELS:
        raise SchemaNameError(
            "label", f"label {name!r} has no names; valid: {', '.join(NAMED_LABELS)}"
        )
    return name


_UNSEARCHABLE = re.compile(r"[^\S \t]|\\")


def fold(text: str) -> str:
    """Case- and accent-folded text ("Café Ünïcode" -> "cafe unicode"): what the fulltext
    indexes hold and what fulltext queries are turned into, so both sides match alike."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def search_text(*parts: str | list[str] | tuple[str, ...] | None) -> str:
    """Names and aliases as one fulltext-indexable string (``" | "``-joined, deduplicated,
    folded with :func:`fold`)."""
    flat: list[str] = []
    for part in parts:
        for x in [part] if isinstance(part, str) else part or ():
            x = fold(_UNSEARCHABLE.sub(" ", str(x))).strip()
            if x and x not in flat:
                flat.append(x)
    return ALIAS_SEPARATOR.join(flat)


__all__ = [
    "ALIAS_SEPARATOR",
    "ATTRIBUTE",
    "BRAND",
    "CATEGORY",
    "CORE_REL_TYPES",
    "ENTITY",
    "FULLTEXT_FIELDS",
    "HAS_ATTRIBUTE",
    "HAS_BRAND",
    "INTERACTED",
    "IN_CATEGORY",
    "LABELS",
    "NAMED_LABELS",
    "PRODUCT_INDEXED_PROPS",
    "POSITIVE_EVENT_TYPES",
    "POSITIVE_RATING",
    "PRODUCT",
    "RATING_EVENT_TYPE",
    "SESSION",
    "SUBCATEGORY_OF",
    "UNIQUE_ID_LABELS",
    "USER",
    "label",
    "named_label",
    "fold",
    "is_positive",
    "relation_type",
    "search_text",
]
