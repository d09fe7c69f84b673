"""Reads for a turn: product records, candidates, paths, co-interactions, the lexicon, stats.

Record queries build their RETURN clause from the column tuples of :mod:`kg.types`, which the
store also reads rows by, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence

from kgrec.domain import PriceRange

from .. import schema
from ..exceptions import SchemaNameError
from ..types import CANDIDATE_COLUMNS, PATH_COLUMNS, PRODUCT_COLUMNS, CandidateQuery
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


def candidates(query: CandidateQuery) -> Query:
    """Filtered products by popularity (:data:`kg.types.CANDIDATE_COLUMNS`; ``matched``: ``[]``).

    Hard filters read the denormalised ``category_ids`` / ``brand_ids`` / ``attribute_ids``
    (see :data:`kg.queries.load.REFRESH_FILTER_PROPS`); a product missing them fails
    inclusion filters and passes exclusion filters. Run :func:`preferred_candidates` first
    when the query has preferred ids; the store merges the two.
    """
    params: Params = {"limit": int(query.limit)}
    conds = _candidate_conditions(query, params)
    lines = ["MATCH (p:Product)"]
    if conds:
        lines.append("WHERE " + "\n  AND ".join(conds))
    lines += [
        "WITH p, [] AS matched",
        f"{_CANDIDATE_ORDER}\nLIMIT $limit",
        _CANDIDATE_RETURN,
    ]
    return "\n".join(lines), params


def preferred_candidates(query: CandidateQuery) -> Query:
    """Filtered products one hop from a preferred node, most matches first.

    Columns: id, popularity, matched (the preferred ids the product links to).
    """
    params: Params = {"limit": int(query.limit), "preferred_ids": list(query.preferred_ids)}
    conds = _candidate_conditions(query, params)
    lines = _match_nodes("preferred_ids", "n", schema.NAMED_LABELS)
    lines.append("MATCH (n)-[]-(p:Product)")
    if conds:
        lines.append("WHERE " + "\n  AND ".join(conds))
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


#: How many distinct shoppers interacted positively with both an anchor ``$source_ids``
#: product and each of ``$item_ids`` (aggregated: no user id leaves the database).
#: Columns: source_id, item_id, shoppers. Params: ``$positive_types``, ``$rating_type``,
#: ``$positive_rating`` as in :func:`kg.queries.load.popularity_params`.
CO_INTERACTION_COUNTS = """UNWIND $source_ids AS sid
MATCH (a:Product {id: sid})<-[e1:INTERACTED]-(u:User)-[e2:INTERACTED]->(b:Product)
WHERE b.id IN $item_ids AND b.id <> sid
  AND (e1.type IN $positive_types OR (e1.type = $rating_type AND e1.value >= $positive_rating))
  AND (e2.type IN $positive_types OR (e2.type = $rating_type AND e2.value >= $positive_rating))
RETURN sid AS source_id, b.id AS item_id, count(DISTINCT u) AS shoppers"""


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
