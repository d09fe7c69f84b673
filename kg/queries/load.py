"""Bulk loading and the denormalised properties the loaders keep current.

Loaders are ``UNWIND $rows AS r ...`` (rows normalised by the store: every key present).
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import schema
from ._names import Params, Query, core_rel, quote

UPSERT_CATEGORIES = """UNWIND $rows AS r
MERGE (n:Category {id: r.id})
SET n.name = r.name, n.aliases = r.aliases, n.search_text = r.search_text"""

UPSERT_BRANDS = """UNWIND $rows AS r
MERGE (n:Brand {id: r.id})
SET n.name = r.name, n.aliases = r.aliases, n.search_text = r.search_text"""

UPSERT_ATTRIBUTES = """UNWIND $rows AS r
MERGE (n:Attribute {id: r.id})
SET n.name = r.name, n.value = r.value, n.aliases = r.aliases, n.search_text = r.search_text"""

UPSERT_PRODUCTS = """UNWIND $rows AS r
MERGE (n:Product {id: r.id})
ON CREATE SET n.popularity = 0
SET n.title = r.title, n.description = r.description, n.price = r.price,
    n.currency = r.currency, n.image_ref = r.image_ref, n.aliases = r.aliases,
    n.search_text = r.search_text"""

UPSERT_USERS = """UNWIND $rows AS r
MERGE (n:User {id: r.id})
SET n.name = r.name"""

UPSERT_ENTITIES = """UNWIND $rows AS r
MERGE (n:Entity {id: r.id})
SET n.name = r.name, n.type = r.type, n.aliases = r.aliases, n.search_text = r.search_text"""

#: New interactions only: an event id already stored (edge index look-up) is skipped, so a
#: re-run writes nothing; ``r.positive`` (0/1, computed by the store) bumps popularity.
#: Rows must have distinct event ids within one call.
ADD_INTERACTIONS = """UNWIND $rows AS r
OPTIONAL MATCH ()-[old:INTERACTED {event_id: r.event_id}]->()
WITH r, old WHERE old IS NULL
MATCH (p:Product {id: r.item_id})
MERGE (u:User {id: r.user_id})
CREATE (u)-[:INTERACTED {event_id: r.event_id, type: r.type, value: r.value, ts: r.ts,
    idempotency_key: r.idempotency_key, session_id: r.session_id}]->(p)
SET p.popularity = coalesce(p.popularity, 0) + r.positive, p.popularity_at = timestamp()"""

#: Recount ``popularity`` (positive interactions) of the products in ``$ids`` (repair, e.g.
#: after interactions were deleted; the loaders keep it current incrementally).
REFRESH_POPULARITY = """UNWIND $ids AS pid
MATCH (p:Product {id: pid})
OPTIONAL MATCH (:User)-[e:INTERACTED]->(p)
WHERE e.type IN $positive_types OR (e.type = $rating_type AND e.value >= $positive_rating)
WITH p, count(e) AS positive
SET p.popularity = positive, p.popularity_at = timestamp()"""


def popularity_params(ids: Sequence[str]) -> Params:
    """Parameters of :data:`REFRESH_POPULARITY` (and of the positive-event tests elsewhere)."""
    return {
        "ids": list(ids),
        "positive_types": list(schema.POSITIVE_EVENT_TYPES),
        "rating_type": schema.RATING_EVENT_TYPE,
        "positive_rating": schema.POSITIVE_RATING,
    }


def unlink_stale(src_label: str, rel: str, dst_label: str, rows: list[Params]) -> Query:
    """Delete ``(src)-[rel]->(dst)`` edges whose target is not in ``r.targets``.

    Rows: ``{id, targets: [id, ...]}``.
    """
    s, d = quote(schema.label(src_label)), quote(schema.label(dst_label))
    return (
        "UNWIND $rows AS r\n"
        f"MATCH (s:{s} {{id: r.id}})-[old:{core_rel(rel)}]->(t:{d})\n"
        "WHERE NOT t.id IN r.targets\n"
        "DELETE old"
    ), {"rows": rows}


def link(src_label: str, rel: str, dst_label: str, rows: list[Params]) -> Query:
    """MERGE ``(src)-[rel]->(dst)`` for each existing target of each row.

    Rows: ``{id, targets: [id, ...]}``; unknown targets are skipped.
    """
    s, d = quote(schema.label(src_label)), quote(schema.label(dst_label))
    return (
        "UNWIND $rows AS r\n"
        f"MATCH (s:{s} {{id: r.id}})\n"
        "UNWIND r.targets AS tid\n"
        f"MATCH (t:{d} {{id: tid}})\n"
        f"MERGE (s)-[:{core_rel(rel)}]->(t)"
    ), {"rows": rows}


def add_triples(relation: str, rows: list[Params]) -> Query:
    """MERGE ``(head)-[:RELATION]->(tail)`` between existing Product/Entity nodes.

    ``relation`` must already be normalised by :func:`kg.schema.relation_type`; rows are
    ``{head, tail}``.
    """
    rel = quote(schema.relation_type(relation))
    return (
        "UNWIND $rows AS r\n"
        "OPTIONAL MATCH (hp:Product {id: r.head})\n"
        "OPTIONAL MATCH (he:Entity {id: r.head})\n"
        "OPTIONAL MATCH (tp:Product {id: r.tail})\n"
        "OPTIONAL MATCH (te:Entity {id: r.tail})\n"
        "WITH coalesce(hp, he) AS h, coalesce(tp, te) AS t\n"
        "WHERE h IS NOT NULL AND t IS NOT NULL\n"
        f"MERGE (h)-[:{rel}]->(t)"
    ), {"rows": rows}


# -- denormalised properties the loaders keep current -----------------------------------------

_FILTER_PROPS = """OPTIONAL MATCH (p)-[:HAS_ATTRIBUTE]->(a:Attribute)
WITH p, collect(a.id) AS attribute_ids
OPTIONAL MATCH (p)-[:HAS_BRAND]->(b:Brand)
WITH p, attribute_ids, collect(b.id) AS brand_ids
OPTIONAL MATCH (p)-[:IN_CATEGORY]->(c:Category)
WITH p, attribute_ids, brand_ids,
     collect(CASE WHEN c IS NULL THEN [] ELSE coalesce(c.ancestor_ids, [c.id]) END) AS lineages
SET p.attribute_ids = attribute_ids, p.brand_ids = brand_ids,
    p.category_ids = reduce(acc = [], ids IN lineages | acc + ids)"""

#: ``Category.ancestor_ids``: the category and all its ancestors (run after tree changes;
#: categories are few, so the variable-length walk runs here and not per product).
REFRESH_CATEGORY_ANCESTORS = """MATCH (c:Category)
OPTIONAL MATCH (c)-[:SUBCATEGORY_OF*0..]->(a:Category)
WITH c, collect(DISTINCT a.id) AS ancestor_ids
SET c.ancestor_ids = ancestor_ids"""

#: ``ancestor_ids`` of the categories in ``$ids`` and all their descendants (the only ones a
#: write to those categories can change).
REFRESH_SUBTREE_ANCESTORS = """UNWIND $ids AS cid
MATCH (:Category {id: cid})<-[:SUBCATEGORY_OF*0..]-(c:Category)
WITH DISTINCT c
OPTIONAL MATCH (c)-[:SUBCATEGORY_OF*0..]->(a:Category)
WITH c, collect(DISTINCT a.id) AS ancestor_ids
SET c.ancestor_ids = ancestor_ids"""

#: Denormalised filter properties of the products in ``$ids``: ``attribute_ids``,
#: ``brand_ids`` and ``category_ids`` (the product's categories and all their ancestors,
#: read from ``Category.ancestor_ids``), so :func:`kg.queries.read.candidates` filters with property
#: predicates instead of traversals.
REFRESH_FILTER_PROPS = "UNWIND $ids AS pid\nMATCH (p:Product {id: pid})\n" + _FILTER_PROPS

#: The same for the products filed under the categories in ``$ids`` or below them (after
#: those categories were written: only their subtrees' ancestor lists can have changed).
REFRESH_SUBTREE_FILTER_PROPS = (
    "UNWIND $ids AS cid\n"
    "MATCH (:Category {id: cid})<-[:SUBCATEGORY_OF*0..]-(:Category)<-[:IN_CATEGORY]-(p:Product)\n"
    "WITH DISTINCT p\n" + _FILTER_PROPS
)

#: The same for every product (repair).
REFRESH_ALL_FILTER_PROPS = "MATCH (p:Product)\n" + _FILTER_PROPS
