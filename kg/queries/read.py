"""Reads for a turn: product records, candidates, co-interactions, the lexicon, stats (the KG
paths an explanation shows: :mod:`kg.queries.paths`).

Record queries build their RETURN clause from the column tuples of :mod:`kg.types`, which the
store also reads rows by, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence

from kgrec.domain import PriceRange

from .. import schema
from ..types import (
    CANDIDATE_COLUMNS,
    PRODUCT_COLUMNS,
    CandidateQuery,
)
from ._names import DISPLAY_NAME, Params, Query, quote, returning

#: Product columns that are properties of the node itself (the rest are collected links).
_PRODUCT_PROPS = tuple(c for c in PRODUCT_COLUMNS if c not in ("brand", "category", "attributes"))

#: One row per product of ``$ids`` (columns :data:`kg.types.PRODUCT_COLUMNS`).
#: (OPTIONAL MATCH + collect: FalkorDB evaluates pattern comprehensions far more slowly.)
PRODUCTS = """UNWIND $ids AS pid
MATCH (p:Product {id: pid})
OPTIONAL MATCH (p)-[:HAS_ATTRIBUTE]->(a:Attribute)
WITH p, collect([a.id, a.name, a.value]) AS attributes
OPTIONAL MATCH (p)-[:HAS_BRAND]->(b:Brand)
WITH p, attributes, collect([b.id, b.name])[0] AS brand
OPTIONAL MATCH (p)-[:IN_CATEGORY]->(c:Category)
WITH p, attributes, brand, collect([c.id, c.name])[0] AS category
""" + returning(PRODUCT_COLUMNS, {c: f"p.{c}" for c in _PRODUCT_PROPS}, wrap=(4, 7))


#: The live popularity of each product of ``$ids`` that exists (columns: id, popularity): what
#: :meth:`kg.store.GraphStore.products` reads for records it has cached.
PRODUCT_POPULARITY = """UNWIND $ids AS pid
MATCH (p:Product {id: pid})
RETURN p.id AS id, p.popularity AS popularity"""


def _price_conditions(price: PriceRange, params: Params) -> list[str]:
    conds = []
    if price.min is not None:
        params["price_min"] = float(price.min)
        conds.append("p.price >= $price_min")
    if price.max is not None:
        params["price_max"] = float(price.max)
        conds.append("p.price <= $price_max")
    return conds


def _candidate_conditions(query: CandidateQuery, params: Params) -> list[str]:
    conds = _price_conditions(query.price, params)
    lists = (
        ("category_ids", query.category_ids, "ANY(x IN p.category_ids WHERE x IN ${})"),
        (
            "exclude_category_ids",
            query.exclude_category_ids,
            "NONE(x IN coalesce(p.category_ids, []) WHERE x IN ${})",
        ),
        ("brand_ids", query.brand_ids, "ANY(x IN p.brand_ids WHERE x IN ${})"),
        (
            "exclude_brand_ids",
            query.exclude_brand_ids,
            "NONE(x IN coalesce(p.brand_ids, []) WHERE x IN ${})",
        ),
        (
            "required_attribute_ids",
            query.required_attribute_ids,
            "ALL(x IN ${} WHERE x IN p.attribute_ids)",
        ),
        (
            "exclude_attribute_ids",
            query.exclude_attribute_ids,
            "NONE(x IN coalesce(p.attribute_ids, []) WHERE x IN ${})",
        ),
        ("exclude_item_ids", query.exclude_item_ids, "NOT p.id IN ${}"),
    )
    for name, values, template in lists:
        if values:
            params[name] = list(values)
            conds.append(template.format(name))
    return conds


def _match_nodes(ids_param: str, var: str, labels: Sequence[str]) -> list[str]:
    """Look nodes up by id through each label's index (a label-less lookup scans)."""
    opts = [
        f"OPTIONAL MATCH (n{i}:{quote(schema.label(lab))} {{id: x}})"
        for i, lab in enumerate(labels)
    ]
    found = ", ".join(f"n{i}" for i in range(len(labels)))
    return [
        f"UNWIND ${ids_param} AS x",
        *opts,
        f"WITH coalesce({found}) AS {var} WHERE {var} IS NOT NULL",
    ]


_CANDIDATE_ORDER = "ORDER BY size(matched) DESC, p.popularity DESC, p.id ASC"
_CANDIDATE_RETURN = returning(CANDIDATE_COLUMNS, {"id": "p.id", "popularity": "p.popularity"})


#: Filters a candidate query can start from, most selective first: each names a list
#: property of :data:`kg.schema.PRODUCT_INDEXED_PROPS` a product must hold one of the ids in.
_DRIVERS = (
    ("category_ids", "category_ids"),
    ("brand_ids", "brand_ids"),
    ("required_attribute_ids", "attribute_ids"),
)


def _driver(query: CandidateQuery, from_index: bool) -> tuple[list[str], str] | None:
    """``(start ids, list property)`` of the first inclusion filter the query has, if the
    backend's indexes answer list membership (``from_index``)."""
    for field, prop in _DRIVERS if from_index else ():
        ids = list(getattr(query, field))
        if ids:  # any id of an "any of" filter; one id of the "all of" filter is enough
            return (ids[:1] if field == "required_attribute_ids" else ids), prop
    return None


def scans_products(query: CandidateQuery, from_index: bool = False) -> bool:
    """Does :func:`candidates` read every product (no filter to start from an index)?"""
    return _driver(query, from_index) is None


def _start(query: CandidateQuery, params: Params, from_index: bool) -> list[str]:
    """The clauses that bind ``p``: with ``from_index``, only the products holding one of
    the ids of the first inclusion filter the query has (an index look-up per id; every
    condition is still checked after), else every product."""
    driver = _driver(query, from_index)
    if driver is None:
        return ["MATCH (p:Product)"]
    params["start_ids"], prop = driver
    return [
        "UNWIND $start_ids AS start_id",
        "MATCH (p:Product)",
        f"WHERE start_id IN p.{prop}",
        "WITH DISTINCT p",
    ]


def candidates(
    query: CandidateQuery, from_index: bool = False, popularity_floor: float | None = None
) -> Query:
    """Filtered products by popularity (:data:`kg.types.CANDIDATE_COLUMNS`; ``matched``: ``[]``).

    Hard filters read the denormalised ``category_ids`` / ``brand_ids`` / ``attribute_ids``
    (see :data:`kg.queries.load.REFRESH_FILTER_PROPS`); a product missing them fails
    inclusion filters and passes exclusion filters. Run :func:`preferred_candidates` first
    when the query has preferred ids; the store merges the two. ``from_index`` (a backend
    whose range indexes answer list membership, :attr:`kg.dialect.Dialect.indexes_list_elements`):
    with a category, brand or required attribute filter the query starts from the index
    instead of scanning every product; the rows are the same (the order is total).
    ``popularity_floor``, for a query that would scan (:func:`scans_products`): only products
    at least that popular, through the ``popularity`` index. When that still fills ``limit``
    the rows are those of the scan (nothing below the floor outranks them); the store checks.
    """
    params: Params = {"limit": int(query.limit)}
    lines = _start(query, params, from_index)
    conds = _candidate_conditions(query, params)
    if popularity_floor is not None and scans_products(query, from_index):
        params["popularity_floor"] = float(popularity_floor)
        conds.insert(0, "p.popularity >= $popularity_floor")
    if conds:
        lines.append("WHERE " + "\n  AND ".join(conds))
    lines += [
        "WITH p, [] AS matched",
        f"{_CANDIDATE_ORDER}\nLIMIT $limit",
        _CANDIDATE_RETURN,
    ]
    return "\n".join(lines), params


_LINKED = f"""OPTIONAL MATCH (p)-[]-(n)
WHERE {" OR ".join(f"n:{quote(schema.label(lab))}" for lab in schema.NAMED_LABELS)}
WITH p, collect(DISTINCT n.id) AS linked_ids
RETURN p.id AS id, p.category_ids AS category_ids, p.brand_ids AS brand_ids,
       p.attribute_ids AS attribute_ids, p.price AS price, p.popularity AS popularity,
       linked_ids"""

#: Every product's filter fields (:data:`kg._filter_index.SNAPSHOT_COLUMNS`), a page at a
#: time: the ``$limit`` first ids after ``$after`` (keyset paging: a write between two pages
#: cannot shift a product out of both, as SKIP can). ``linked_ids``: the ids of the named
#: nodes one hop from the product, by any relationship either way (what
#: :func:`preferred_candidates` matches a preference against).
FILTER_SNAPSHOT = f"""MATCH (p:Product)
WHERE p.id > $after
WITH p
ORDER BY p.id
LIMIT $limit
{_LINKED}
ORDER BY id"""

#: :data:`FILTER_SNAPSHOT`'s rows of the products whose internal node id is in
#: ``[$lo, $hi)``, in no order (FalkorDB: a label and id scan, no sort; a page's cost follows
#: the page, not the products after it as an ``ORDER BY p.id`` page's does).
FILTER_SNAPSHOT_BY_NODE_ID = f"""MATCH (p:Product)
WHERE id(p) >= $lo AND id(p) < $hi
WITH p
{_LINKED}"""

#: The largest internal node id of a product (``None``: no product).
MAX_PRODUCT_NODE_ID = """MATCH (p:Product)
RETURN max(id(p)) AS top"""

#: The graph DB's clock (``timestamp()``, ms), the one ``popularity_at`` is written by.
DB_CLOCK = """RETURN timestamp() AS now"""

#: Products whose popularity was written at or after ``$since`` (ms, :data:`DB_CLOCK`), by
#: any process (columns: id, popularity, at): what a serving process's candidate snapshot
#: takes in from the others (the ``popularity_at`` range index answers it).
POPULARITY_CHANGES = """MATCH (p:Product)
WHERE p.popularity_at >= $since
RETURN p.id AS id, p.popularity AS popularity, p.popularity_at AS at"""

#: How many products there are (a look at whether the catalog changed size).
COUNT_PRODUCTS = """MATCH (p:Product)
RETURN count(p) AS n"""

#: How many products carry no ``popularity`` (the loaders always set it; a hand-made import
#: may not): they sort first in a popularity scan, so no floor may skip them.
COUNT_PRODUCTS_WITHOUT_POPULARITY = """MATCH (p:Product)
WHERE p.popularity IS NULL
RETURN count(p) AS n"""


def preferred_candidates(query: CandidateQuery) -> Query:
    """Filtered products one hop from a preferred node, most matches first.

    Columns: id, popularity, matched (the preferred ids the product links to).
    The filters are evaluated into a value first and the rows filtered on it: FalkorDB (1.8)
    evaluates a ``WHERE`` of this expansion from a bound node before it binds ``p`` when a
    predicate iterates a parameter list (``ALL(x IN $required_attribute_ids WHERE x IN
    p.attribute_ids)`` was false for every product).
    """
    params: Params = {"limit": int(query.limit), "preferred_ids": list(query.preferred_ids)}
    conds = _candidate_conditions(query, params)
    lines = _match_nodes("preferred_ids", "n", schema.NAMED_LABELS)
    lines.append("MATCH (n)-[]-(p:Product)")
    if conds:
        lines.append("WITH n, p, " + "\n  AND ".join(conds) + " AS passes\nWHERE passes")
    lines += [
        "WITH p, collect(DISTINCT n.id) AS matched",
        f"{_CANDIDATE_ORDER}\nLIMIT $limit",
        _CANDIDATE_RETURN,
    ]
    return "\n".join(lines), params


#: How many distinct shoppers interacted positively with both an anchor ``$source_ids``
#: product and each of ``$item_ids`` (aggregated: no user id leaves the database).
#: Columns: source_id, item_id, shoppers. Params: ``$positive_types``, ``$rating_type``,
#: ``$positive_rating`` as in :func:`kg.queries.load.popularity_params`.
#: The anchor's positive shoppers are collected first, then each is checked for a positive
#: edge to each item looked up by id (an edge lookup): the match never walks everything those
#: shoppers ever touched, which grows with their histories.
CO_INTERACTION_COUNTS = """UNWIND $source_ids AS sid
MATCH (a:Product {id: sid})<-[e1:INTERACTED]-(u:User)
WHERE e1.type IN $positive_types OR (e1.type = $rating_type AND e1.value >= $positive_rating)
WITH sid, collect(DISTINCT u) AS shoppers
UNWIND $item_ids AS iid
MATCH (b:Product {id: iid})
WHERE iid <> sid
UNWIND shoppers AS u
MATCH (u)-[e2:INTERACTED]->(b)
WHERE e2.type IN $positive_types OR (e2.type = $rating_type AND e2.value >= $positive_rating)
RETURN sid AS source_id, iid AS item_id, count(DISTINCT u) AS shoppers"""


def lexicon(label: str) -> Query:
    """Columns: id, name, aliases of every node with this (named) label."""
    lab = quote(schema.named_label(label))
    name = DISPLAY_NAME.format(v="n")
    return f"MATCH (n:{lab})\nRETURN n.id AS id, {name} AS name, n.aliases AS aliases", {}


#: The cheapest round trip (Neo4j's ``verify_connectivity`` takes options only as a preview).
PING = "RETURN 1 AS ok"

#: Whether the catalog has any product (one index-free label scan that stops at the first).
ANY_PRODUCT = "MATCH (p:Product) RETURN p.id LIMIT 1"

COUNT_NODES_BY_LABEL = """MATCH (n)
UNWIND labels(n) AS label
RETURN label, count(*) AS count"""

COUNT_RELATIONSHIPS_BY_TYPE = """MATCH ()-[r]->()
RETURN type(r) AS type, count(r) AS count"""

PRODUCT_DEGREES = """MATCH (p:Product)
OPTIONAL MATCH (p)-[r]-()
WITH p, count(r) AS degree
RETURN degree"""
