"""Reads for a turn: product records, candidates, paths, co-interactions, the lexicon, stats.

Record queries build their RETURN clause from the column tuples of :mod:`kg.types`, which the
store also reads rows by, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence

from kgrec.domain import PriceRange

from .. import schema
from ..exceptions import SchemaNameError
from ..types import (
    CANDIDATE_COLUMNS,
    PATH_COLUMNS,
    PATH_TRIP_COLUMNS,
    PRODUCT_COLUMNS,
    CandidateQuery,
)
from ._names import DISPLAY_NAME, Params, Query, quote, returning

#: Longest path :func:`paths` accepts (variable-length bounds cannot be parameters).
MAX_PATH_HOPS = 4

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
OPTIONAL MATCH (p)-[]-(n)
WHERE {" OR ".join(f"n:{quote(schema.label(lab))}" for lab in schema.NAMED_LABELS)}
WITH p, collect(DISTINCT n.id) AS linked_ids
RETURN p.id AS id, p.category_ids AS category_ids, p.brand_ids AS brand_ids,
       p.attribute_ids AS attribute_ids, p.price AS price, p.popularity AS popularity,
       linked_ids
ORDER BY id"""

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


#: Labels a path shown to a shopper may never pass through: other shoppers (``User``) and
#: conversations (``Session``). A path through a user would name a stranger ("shares Casey R.")
#: and reveal what they bought; collaborative evidence is counted instead
#: (:data:`CO_INTERACTION_COUNTS`).
PRIVATE_LABELS: tuple[str, ...] = (schema.USER, schema.SESSION)

#: Labels a path may start from.
PATH_SOURCE_LABELS: tuple[str, ...] = tuple(
    lab for lab in schema.LABELS if lab not in PRIVATE_LABELS
)


def paths(source_ids: Sequence[str], item_ids: Sequence[str], hops: int, limit: int) -> Query:
    """Paths of exactly ``hops`` edges (any direction) from a source node to an item.

    Columns: item_id, nodes ``[[label, id, name], ...]`` (source first), rels ``[type, ...]``,
    starts ``[id of each relationship's start node, ...]`` (the pattern ignores direction, so
    this says which way each edge really points).
    A fixed-length pattern between two bound nodes is far cheaper in FalkorDB than a
    variable-length one, so the store asks for 1, 2, ... hops in turn. No node of the path
    carries a label of ``$private_labels`` (:data:`PRIVATE_LABELS`).
    """
    hops = int(hops)
    if not 1 <= hops <= MAX_PATH_HOPS:
        raise SchemaNameError("max_hops", f"must be in 1..{MAX_PATH_HOPS}, got {hops}")
    middle = "".join(f"-[]-(m{j})" for j in range(1, hops))
    name = DISPLAY_NAME.format(v="n")
    path_exprs = {
        "item_id": "i.id",
        "nodes": f"[n IN nodes(path) | [labels(n)[0], n.id, {name}]]",
        "rels": "[r IN relationships(path) | type(r)]",
        "starts": "[r IN relationships(path) | startNode(r).id]",
    }
    lines = _match_nodes("source_ids", "s", PATH_SOURCE_LABELS)
    lines += [
        "UNWIND $item_ids AS iid",
        "MATCH (i:Product {id: iid})",
        "WITH s, i",
        f"MATCH path = (s){middle}-[]-(i)",
        "WHERE NONE(n IN nodes(path) WHERE ANY(l IN labels(n) WHERE l IN $private_labels))",
        returning(PATH_COLUMNS, path_exprs, wrap=(2, 3)),
        "LIMIT $limit",
    ]
    params = {
        "item_ids": list(item_ids),
        "source_ids": list(source_ids),
        "limit": int(limit),
        "private_labels": list(PRIVATE_LABELS),
    }
    return "\n".join(lines), params


#: Longest path :func:`paths_one_trip` covers (longer ones go hop by hop through :func:`paths`).
ONE_TRIP_MAX_HOPS = 2


def _path_return(hops: int, nodes: str, rels: str) -> str:
    """The RETURN of one part of :func:`paths_one_trip`: ``nodes`` and ``rels`` are the
    path's node and relationship variables as Cypher lists, source first."""
    name = DISPLAY_NAME.format(v="n")
    exprs = {
        "hops": str(hops),
        "source_pos": "sp",
        "item_pos": "ip",
        "item_id": "i.id",
        "nodes": f"[n IN {nodes} | [labels(n)[0], n.id, {name}]]",
        "rels": f"[r IN {rels} | type(r)]",
        "starts": f"[r IN {rels} | startNode(r).id]",
    }
    return returning(PATH_TRIP_COLUMNS, exprs, wrap=(3, 4, 5, 6))


def _path_sources() -> list[str]:
    """``$source_ids`` found through each source label's index, collected with their
    positions into ``sources`` (``[[position, node], ...]``)."""
    opts = [
        f"OPTIONAL MATCH (n{i}:{quote(schema.label(lab))} {{id: x}})"
        for i, lab in enumerate(PATH_SOURCE_LABELS)
    ]
    found = ", ".join(f"n{i}" for i in range(len(PATH_SOURCE_LABELS)))
    return [
        "UNWIND range(0, size($source_ids) - 1) AS sp",
        "WITH sp, $source_ids[sp] AS x",
        *opts,
        f"WITH sp, coalesce({found}) AS s WHERE s IS NOT NULL",
        "WITH collect([sp, s]) AS sources",
        "UNWIND range(0, size($item_ids) - 1) AS ip",
        "WITH sources, ip, $item_ids[ip] AS iid",
        "MATCH (i:Product {id: iid})",
    ]


def paths_one_trip(source_ids: Sequence[str], item_ids: Sequence[str], max_hops: int) -> Query:
    """The paths :func:`paths` finds for 1..``max_hops`` hops (at most
    :data:`ONE_TRIP_MAX_HOPS`), all of them in one round trip.

    Columns :data:`kg.types.PATH_TRIP_COLUMNS`: ``hops``, ``source_pos`` / ``item_pos`` (the
    positions in ``$source_ids`` / ``$item_ids``), then those of :func:`paths`.

    Every edge between two bound nodes is looked up one direction at a time, written from its
    start node, each in a clause of its own (``WITH *`` between): FalkorDB then reads the
    start node's outgoing edges, where an undirected ``(s)-[]-(i)`` or a pattern of two bound
    hops read the incoming edges of a category or an attribute, every product under it, and
    grew with the catalog. A two-hop path is found from the item's side: the item's few
    non-private neighbours (with the edge to each), each tried against the sources.
    """
    hops = int(max_hops)
    if not 1 <= hops <= ONE_TRIP_MAX_HOPS:
        raise SchemaNameError("max_hops", f"must be in 1..{ONE_TRIP_MAX_HOPS}, got {hops}")
    pair = "WITH src[0] AS sp, src[1] AS s, ip, i"
    parts = [
        "\n".join(
            [
                *_path_sources(),
                "UNWIND sources AS src",
                pair,
                edge,
                _path_return(1, "[s, i]", "[r1]"),
            ]
        )
        for edge in ("MATCH (s)-[r1]->(i)", "MATCH (i)-[r1]->(s)")
    ]
    if hops == 2:
        item_side = [
            *_path_sources(),
            "MATCH (i)-[r2]-(m1)",
            "WHERE NONE(l IN labels(m1) WHERE l IN $private_labels)",
            "WITH sources, ip, i, r2, m1",
            "UNWIND sources AS src",
            pair + ", r2, m1",
        ]
        parts += [
            "\n".join([*item_side, edge, _path_return(2, "[s, m1, i]", "[r1, r2]")])
            for edge in ("MATCH (s)-[r1]->(m1)", "MATCH (m1)-[r1]->(s)")
        ]
    params = {
        "item_ids": list(item_ids),
        "source_ids": list(source_ids),
        "private_labels": list(PRIVATE_LABELS),
    }
    return "\nUNION ALL\n".join(parts), params


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
