"""All Cypher of the graph store, shared by the FalkorDB and Neo4j backends.

Constants are complete queries; builders return ``(query, params)``. Every value travels as a
``$parameter``; the only names spliced into query text are labels and relationship types that
passed :mod:`kg.schema`'s allow-lists, and they are backtick-quoted. What differs between the
databases (index DDL, fulltext and vector procedures) lives in :mod:`kg.dialect`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kgrec.domain import PriceRange

from . import schema
from .exceptions import SchemaNameError
from .types import CandidateQuery

Params = dict[str, Any]

#: Longest path :func:`paths` accepts (variable-length bounds cannot be parameters).
MAX_PATH_HOPS = 4

#: A node's display name: products have titles, attributes values, the rest names.
DISPLAY_NAME = "coalesce({v}.title, {v}.value, {v}.name, {v}.id)"


def _q(name: str) -> str:
    """Backtick-quote an allow-listed name (defence in depth: the name has no backtick)."""
    if "`" in name:
        raise SchemaNameError("name", f"{name!r} contains a backtick")
    return f"`{name}`"


# ---------------------------------------------------------------------------------------------
# Bulk loaders: UNWIND $rows AS r ... (rows normalised by the store: every key present)
# ---------------------------------------------------------------------------------------------

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
SET p.popularity = coalesce(p.popularity, 0) + r.positive"""

#: Recount ``popularity`` (positive interactions) of the products in ``$ids`` (repair, e.g.
#: after interactions were deleted; the loaders keep it current incrementally).
REFRESH_POPULARITY = """UNWIND $ids AS pid
MATCH (p:Product {id: pid})
OPTIONAL MATCH (:User)-[e:INTERACTED]->(p)
WHERE e.type IN $positive_types OR (e.type = $rating_type AND e.value >= $positive_rating)
WITH p, count(e) AS positive
SET p.popularity = positive"""


def popularity_params(ids: Sequence[str]) -> Params:
    return {
        "ids": list(ids),
        "positive_types": list(schema.POSITIVE_EVENT_TYPES),
        "rating_type": schema.RATING_EVENT_TYPE,
        "positive_rating": schema.POSITIVE_RATING,
    }


def _core_rel(rel: str) -> str:
    if rel not in schema.CORE_REL_TYPES:
        raise SchemaNameError("relation", f"{rel!r} is not a core relationship type")
    return _q(rel)


def unlink_stale(src_label: str, rel: str, dst_label: str) -> str:
    """Delete ``(src)-[rel]->(dst)`` edges whose target is not in ``r.targets``.

    Rows: ``{id, targets: [id, ...]}``.
    """
    s, d = _q(schema.label(src_label)), _q(schema.label(dst_label))
    return (
        "UNWIND $rows AS r\n"
        f"MATCH (s:{s} {{id: r.id}})-[old:{_core_rel(rel)}]->(t:{d})\n"
        "WHERE NOT t.id IN r.targets\n"
        "DELETE old"
    )


def link(src_label: str, rel: str, dst_label: str) -> str:
    """MERGE ``(src)-[rel]->(dst)`` for each existing target of each row.

    Rows: ``{id, targets: [id, ...]}``; unknown targets are skipped.
    """
    s, d = _q(schema.label(src_label)), _q(schema.label(dst_label))
    return (
        "UNWIND $rows AS r\n"
        f"MATCH (s:{s} {{id: r.id}})\n"
        "UNWIND r.targets AS tid\n"
        f"MATCH (t:{d} {{id: tid}})\n"
        f"MERGE (s)-[:{_core_rel(rel)}]->(t)"
    )


def add_triples(relation: str) -> str:
    """MERGE ``(head)-[:RELATION]->(tail)`` between existing Product/Entity nodes.

    ``relation`` must already be normalised by :func:`kg.schema.relation_type`; rows are
    ``{head, tail}``.
    """
    rel = _q(schema.relation_type(relation))
    return (
        "UNWIND $rows AS r\n"
        "OPTIONAL MATCH (hp:Product {id: r.head})\n"
        "OPTIONAL MATCH (he:Entity {id: r.head})\n"
        "OPTIONAL MATCH (tp:Product {id: r.tail})\n"
        "OPTIONAL MATCH (te:Entity {id: r.tail})\n"
        "WITH coalesce(hp, he) AS h, coalesce(tp, te) AS t\n"
        "WHERE h IS NOT NULL AND t IS NOT NULL\n"
        f"MERGE (h)-[:{rel}]->(t)"
    )


# ---------------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------------

#: Columns: id, title, description, price, currency, image_ref, popularity,
#: brand [id, name] (nulls if none), category [id, name] (nulls if none),
#: attributes [[id, name, value], ...] (one [null, null, null] if none).
#: (OPTIONAL MATCH + collect: FalkorDB evaluates pattern comprehensions far more slowly.)
PRODUCTS = """UNWIND $ids AS pid
MATCH (p:Product {id: pid})
OPTIONAL MATCH (p)-[:HAS_ATTRIBUTE]->(a:Attribute)
WITH p, collect([a.id, a.name, a.value]) AS attributes
OPTIONAL MATCH (p)-[:HAS_BRAND]->(b:Brand)
WITH p, attributes, collect([b.id, b.name])[0] AS brand
OPTIONAL MATCH (p)-[:IN_CATEGORY]->(c:Category)
WITH p, attributes, brand, collect([c.id, c.name])[0] AS category
RETURN p.id AS id, p.title AS title, p.description AS description, p.price AS price,
       p.currency AS currency, p.image_ref AS image_ref, p.popularity AS popularity,
       brand, category, attributes"""

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
#: read from ``Category.ancestor_ids``), so :func:`candidates` filters with property
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
        f"OPTIONAL MATCH (n{i}:{_q(schema.label(lab))} {{id: x}})" for i, lab in enumerate(labels)
    ]
    found = ", ".join(f"n{i}" for i in range(len(labels)))
    return [
        f"UNWIND ${ids_param} AS x",
        *opts,
        f"WITH coalesce({found}) AS {var} WHERE {var} IS NOT NULL",
    ]


_CANDIDATE_ORDER = "ORDER BY size(matched) DESC, p.popularity DESC, p.id ASC"


def candidates(query: CandidateQuery) -> tuple[str, Params]:
    """Filtered products by popularity. Columns: id, popularity, matched (always ``[]``).

    Hard filters read the denormalised ``category_ids`` / ``brand_ids`` / ``attribute_ids``
    (see :data:`REFRESH_FILTER_PROPS`); a product missing them fails inclusion filters and
    passes exclusion filters. Run :func:`preferred_candidates` first when the query
    has preferred ids; the store merges the two.
    """
    params: Params = {"limit": int(query.limit)}
    conds = _candidate_conditions(query, params)
    lines = ["MATCH (p:Product)"]
    if conds:
        lines.append("WHERE " + "\n  AND ".join(conds))
    lines += [
        "WITH p, [] AS matched",
        f"{_CANDIDATE_ORDER}\nLIMIT $limit",
        "RETURN p.id AS id, p.popularity AS popularity, matched",
    ]
    return "\n".join(lines), params


def preferred_candidates(query: CandidateQuery) -> tuple[str, Params]:
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
        "RETURN p.id AS id, p.popularity AS popularity, matched",
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


def paths(
    source_ids: Sequence[str], item_ids: Sequence[str], hops: int, limit: int
) -> tuple[str, Params]:
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
    lines = _match_nodes("source_ids", "s", PATH_SOURCE_LABELS)
    lines += [
        "UNWIND $item_ids AS iid",
        "MATCH (i:Product {id: iid})",
        "WITH s, i",
        f"MATCH path = (s){middle}-[]-(i)",
        "WHERE NONE(n IN nodes(path) WHERE ANY(l IN labels(n) WHERE l IN $private_labels))",
        f"RETURN i.id AS item_id, [n IN nodes(path) | [labels(n)[0], n.id, {name}]] AS nodes,",
        "       [r IN relationships(path) | type(r)] AS rels,",
        "       [r IN relationships(path) | startNode(r).id] AS starts",
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
#: ``$positive_rating`` as in :func:`popularity_params`.
CO_INTERACTION_COUNTS = """UNWIND $source_ids AS sid
MATCH (a:Product {id: sid})<-[e1:INTERACTED]-(u:User)-[e2:INTERACTED]->(b:Product)
WHERE b.id IN $item_ids AND b.id <> sid
  AND (e1.type IN $positive_types OR (e1.type = $rating_type AND e1.value >= $positive_rating))
  AND (e2.type IN $positive_types OR (e2.type = $rating_type AND e2.value >= $positive_rating))
RETURN sid AS source_id, b.id AS item_id, count(DISTINCT u) AS shoppers"""


def lexicon(label: str) -> str:
    """Columns: id, name, aliases of every node with this (named) label."""
    lab = _q(schema.named_label(label))
    name = DISPLAY_NAME.format(v="n")
    return f"MATCH (n:{lab})\nRETURN n.id AS id, {name} AS name, n.aliases AS aliases"


#: The cheapest round trip (Neo4j's ``verify_connectivity`` takes options only as a preview).
PING = "RETURN 1 AS ok"

COUNT_NODES_BY_LABEL = """MATCH (n)
UNWIND labels(n) AS label
RETURN label, count(*) AS count"""

COUNT_RELATIONSHIPS_BY_TYPE = """MATCH ()-[r]->()
RETURN type(r) AS type, count(r) AS count"""

PRODUCT_DEGREES = """MATCH (p:Product)
OPTIONAL MATCH (p)-[r]-()
WITH p, count(r) AS degree
RETURN degree"""

# ---------------------------------------------------------------------------------------------
# Sessions and feedback
# ---------------------------------------------------------------------------------------------

SESSION_COLUMNS = (
    "s.id AS id, s.user_id AS user_id, s.created_at AS created_at, "
    "s.updated_at AS updated_at, s.state AS state, coalesce(s.version, 0) AS version"
)

CREATE_SESSION = f"""MERGE (s:Session {{id: $session_id}})
ON CREATE SET s.user_id = $user_id, s.created_at = $now, s.updated_at = $now, s.state = '',
    s.version = 0
RETURN {SESSION_COLUMNS}"""

GET_SESSION = f"""MATCH (s:Session {{id: $session_id}})
RETURN {SESSION_COLUMNS}"""

#: Unconditional state write. Columns: version (the new one). No row: no such session.
SAVE_SESSION_STATE = """MATCH (s:Session {id: $session_id})
SET s.state = $state, s.updated_at = $now, s.version = coalesce(s.version, 0) + 1
RETURN s.version AS version"""

#: Compare-and-set state write: only when the stored version is still ``$version``.
#: Columns: ok, version (the stored one after this query). No row: no such session.
#: Setting ``_lock`` first takes the node's write lock before the version is read, so two
#: Neo4j transactions cannot both see the old version (FalkorDB runs writes one at a time).
SAVE_SESSION_STATE_IF_VERSION = """MATCH (s:Session {id: $session_id})
SET s._lock = true
WITH s, coalesce(s.version, 0) = $version AS ok
FOREACH (ignored IN CASE WHEN ok THEN [1] ELSE [] END |
  SET s.state = $state, s.updated_at = $now, s.version = coalesce(s.version, 0) + 1)
SET s._lock = null
RETURN ok, s.version AS version"""

#: Delete up to ``$limit`` sessions idle since before ``$before``. Column: deleted.
PURGE_SESSIONS = """MATCH (s:Session)
WHERE s.updated_at < $before
WITH s LIMIT $limit
DETACH DELETE s
RETURN count(*) AS deleted"""

_EVENT_PROPS = (
    "{event_id: $event_id, type: $type, value: $value, ts: $ts, "
    "idempotency_key: $idempotency_key, session_id: $session_id}"
)

#: Idempotent write of one event, the key scoped to ``$user_id``: returns ``previous``, the
#: user's events already stored under ``$idempotency_key`` as ``[event_id, item_id, type,
#: value, session_id]`` (empty when this call wrote). No row: the product does not exist.
#: Another user's event with the same key is a different event. Setting ``_lock`` on the
#: user takes its write lock before the look-up, so concurrent repeats of one key by one
#: user are serialised on Neo4j too; FalkorDB runs writes one at a time.
RECORD_EVENT = f"""MATCH (p:Product {{id: $item_id}})
MERGE (u:User {{id: $user_id}})
SET u._lock = true
WITH p, u
OPTIONAL MATCH (u)-[old:INTERACTED {{idempotency_key: $idempotency_key}}]->(q:Product)
WITH p, u, collect(CASE WHEN old IS NULL THEN null
  ELSE [old.event_id, q.id, old.type, old.value, old.session_id] END) AS previous
FOREACH (ignored IN CASE WHEN size(previous) = 0 THEN [1] ELSE [] END |
  CREATE (u)-[:INTERACTED {_EVENT_PROPS}]->(p)
  SET p.popularity = coalesce(p.popularity, 0) + $popularity_delta)
SET u._lock = null
RETURN previous"""

#: The same without an idempotency key: always writes; returns an empty ``previous``.
RECORD_EVENT_UNKEYED = f"""MATCH (p:Product {{id: $item_id}})
MERGE (u:User {{id: $user_id}})
CREATE (u)-[:INTERACTED {_EVENT_PROPS}]->(p)
SET p.popularity = coalesce(p.popularity, 0) + $popularity_delta
RETURN [] AS previous"""

USER_EVENTS = """MATCH (u:User {id: $user_id})-[e:INTERACTED]->(p:Product)
RETURN e.event_id AS event_id, u.id AS user_id, p.id AS item_id, e.type AS type,
       e.value AS value, e.ts AS ts
ORDER BY e.ts DESC, e.event_id DESC
LIMIT $limit"""

# -- forgetting a user ------------------------------------------------------------------------

#: Delete every interaction of ``$user_id``. Columns: deleted, item_ids (their products,
#: whose popularity must be recounted with :data:`REFRESH_POPULARITY`).
DELETE_USER_EVENTS = """MATCH (:User {id: $user_id})-[e:INTERACTED]->(p:Product)
WITH e, p.id AS item_id
DELETE e
RETURN count(*) AS deleted, collect(DISTINCT item_id) AS item_ids"""

#: Delete the sessions ``$user_id`` owns. Column: deleted.
DELETE_USER_SESSIONS = """MATCH (s:Session {user_id: $user_id})
DETACH DELETE s
RETURN count(*) AS deleted"""

#: Delete the user node (and anything still attached to it). Column: deleted.
DELETE_USER = """MATCH (u:User {id: $user_id})
DETACH DELETE u
RETURN count(*) AS deleted"""

#: What the graph still holds of ``$user_id``. Columns: events, sessions, users.
USER_DATA_COUNTS = """OPTIONAL MATCH (u:User {id: $user_id})
OPTIONAL MATCH (u)-[e:INTERACTED]->()
WITH count(DISTINCT u) AS users, count(e) AS events
OPTIONAL MATCH (s:Session {user_id: $user_id})
RETURN events, count(s) AS sessions, users"""

__all__ = [
    "ADD_INTERACTIONS",
    "CO_INTERACTION_COUNTS",
    "DELETE_USER",
    "DELETE_USER_EVENTS",
    "DELETE_USER_SESSIONS",
    "COUNT_NODES_BY_LABEL",
    "COUNT_RELATIONSHIPS_BY_TYPE",
    "CREATE_SESSION",
    "DISPLAY_NAME",
    "GET_SESSION",
    "MAX_PATH_HOPS",
    "PATH_SOURCE_LABELS",
    "PING",
    "PRIVATE_LABELS",
    "PRODUCTS",
    "PRODUCT_DEGREES",
    "PURGE_SESSIONS",
    "REFRESH_ALL_FILTER_PROPS",
    "REFRESH_CATEGORY_ANCESTORS",
    "REFRESH_SUBTREE_ANCESTORS",
    "REFRESH_SUBTREE_FILTER_PROPS",
    "REFRESH_FILTER_PROPS",
    "RECORD_EVENT",
    "RECORD_EVENT_UNKEYED",
    "REFRESH_POPULARITY",
    "SAVE_SESSION_STATE",
    "SAVE_SESSION_STATE_IF_VERSION",
    "SESSION_COLUMNS",
    "UPSERT_ATTRIBUTES",
    "UPSERT_BRANDS",
    "UPSERT_CATEGORIES",
    "UPSERT_ENTITIES",
    "UPSERT_PRODUCTS",
    "UPSERT_USERS",
    "USER_DATA_COUNTS",
    "USER_EVENTS",
    "add_triples",
    "candidates",
    "lexicon",
    "link",
    "paths",
    "popularity_params",
    "preferred_candidates",
    "unlink_stale",
]


# =============================================================================================
# Importers, export and verify (kg/importers, kg/export.py, kg/verify.py; owned by the graph
# admin tooling: existence checks for import batches, the JSONL export/import, verify checks)
# =============================================================================================


def missing_ids(label: str) -> str:
    """Which of ``$ids`` are not the id of a node with this label. Column: id."""
    lab = _q(schema.label(label))
    return (
        "UNWIND $ids AS i\n"
        f"OPTIONAL MATCH (n:{lab} {{id: i}})\n"
        "WITH i, n WHERE n IS NULL\n"
        "RETURN i AS id"
    )


#: Which of ``$ids`` are neither a Product nor an Entity (triple endpoints). Column: id.
MISSING_TRIPLE_ENDPOINTS = """UNWIND $ids AS i
OPTIONAL MATCH (p:Product {id: i})
OPTIONAL MATCH (e:Entity {id: i})
WITH i, p, e WHERE p IS NULL AND e IS NULL
RETURN i AS id"""

#: Node labels and relationship types present. Columns: kind ('label' | 'type'), name.
EXPORT_LABELS = """MATCH (n)
UNWIND labels(n) AS label
RETURN DISTINCT label"""

EXPORT_REL_TYPES = """MATCH ()-[r]->()
RETURN DISTINCT type(r) AS type"""


def export_nodes(label: str) -> str:
    """Every node with this label: its id, labels and properties, in pages by id.

    Params: ``$skip``, ``$limit``. (Not keyset pages on ``id``: FalkorDB's string ``>`` and
    its ``ORDER BY`` disagree on non-ASCII strings, which skipped nodes at page boundaries.)
    """
    lab = _q(schema.label(label))
    return (
        f"MATCH (n:{lab})\n"
        "RETURN n.id AS id, labels(n) AS labels, properties(n) AS props\n"
        "ORDER BY id ASC SKIP $skip LIMIT $limit"
    )


def export_relationships(rel_type: str) -> str:
    """Every relationship of this type with its endpoints' labels and ids, and properties.

    Params: ``$skip``, ``$limit`` (pages in a stable order: start id, end id).
    """
    rel = _q(_any_rel_type(rel_type))
    return (
        f"MATCH (a)-[r:{rel}]->(b)\n"
        "RETURN labels(a)[0] AS start_label, a.id AS start_id, labels(b)[0] AS end_label,\n"
        "       b.id AS end_id, properties(r) AS props\n"
        "ORDER BY start_id ASC, end_id ASC, coalesce(r.event_id, '') ASC\n"
        "SKIP $skip LIMIT $limit"
    )


def _any_rel_type(name: str) -> str:
    """A core type as is, or an imported one through the allow-list normaliser."""
    return name if name in schema.CORE_REL_TYPES else schema.relation_type(name)


def import_nodes(label: str) -> str:
    """MERGE nodes by id and set their exported properties. Rows: ``{id, props}``."""
    lab = _q(schema.label(label))
    return f"UNWIND $rows AS r\nMERGE (n:{lab} {{id: r.id}})\nSET n += r.props"


def import_relationships(start_label: str, rel_type: str, end_label: str, keyed: bool) -> str:
    """MERGE exported relationships between existing nodes and set their properties.

    Rows: ``{start, end, key, props}``; ``keyed`` merges on ``event_id = r.key`` (several
    interactions may join the same user and item), otherwise one edge per pair and type.
    """
    a, b = _q(schema.label(start_label)), _q(schema.label(end_label))
    rel = _q(_any_rel_type(rel_type))
    key = " {event_id: r.key}" if keyed else ""
    return (
        "UNWIND $rows AS r\n"
        f"MATCH (a:{a} {{id: r.start}})\n"
        f"MATCH (b:{b} {{id: r.end}})\n"
        f"MERGE (a)-[e:{rel}{key}]->(b)\n"
        "SET e += r.props"
    )


# -- verify: each returns (total, examples) in one row ----------------------------------------

#: Nodes without an ``id``. Columns: total, examples [[labels], ...].
VERIFY_NODES_WITHOUT_ID = """MATCH (n) WHERE n.id IS NULL
RETURN count(n) AS total, collect(labels(n))[0..$limit] AS examples"""

#: Nodes with no allow-listed label. Params: ``$labels``. Columns: total, examples.
VERIFY_UNKNOWN_LABELS = """MATCH (n) WHERE NONE(l IN labels(n) WHERE l IN $labels)
RETURN count(n) AS total, collect([labels(n), n.id])[0..$limit] AS examples"""


def verify_core_endpoints(rel_type: str, start_label: str, end_label: str) -> str:
    """Core relationships whose endpoints have the wrong labels. Columns: total, examples."""
    rel = _q(_any_rel_type(rel_type))
    a, b = _q(schema.label(start_label)), _q(schema.label(end_label))
    return (
        f"MATCH (x)-[r:{rel}]->(y) WHERE NOT (x:{a} AND y:{b})\n"
        "RETURN count(r) AS total,\n"
        "       collect([labels(x)[0], x.id, labels(y)[0], y.id])[0..$limit] AS examples"
    )


#: Imported relationships that do not join two Product/Entity nodes. Params: ``$core``.
VERIFY_IMPORTED_ENDPOINTS = """MATCH (x)-[r]->(y)
WHERE NOT type(r) IN $core
  AND NOT ((x:Product OR x:Entity) AND (y:Product OR y:Entity))
RETURN count(r) AS total,
       collect([labels(x)[0], x.id, type(r), labels(y)[0], y.id])[0..$limit] AS examples"""

#: Entities that no relationship reaches (left behind by a partial import or a delete).
VERIFY_ORPHAN_ENTITIES = """MATCH (e:Entity) WHERE NOT (e)--()
RETURN count(e) AS total, collect(e.id)[0..$limit] AS examples"""

#: Products in no category.
VERIFY_PRODUCTS_WITHOUT_CATEGORY = """MATCH (p:Product) WHERE NOT (p)-[:IN_CATEGORY]->(:Category)
RETURN count(p) AS total, collect(p.id)[0..$limit] AS examples"""


def verify_shared_surfaces(label: str) -> str:
    """Names/aliases (case-insensitive) that more than one node of ``label`` answers to.

    Attributes compare ``name=value``. Columns: total, examples [[surface, [ids]], ...].
    """
    lab = _q(schema.named_label(label))
    if label == schema.ATTRIBUTE:
        surfaces = "[n.value] + coalesce(n.aliases, [])"
        key = "toLower(n.name) + '=' + toLower(s)"
    else:
        surfaces = f"[{DISPLAY_NAME.format(v='n')}] + coalesce(n.aliases, [])"
        key = "toLower(s)"
    return (
        f"MATCH (n:{lab})\n"
        f"UNWIND {surfaces} AS s\n"
        f"WITH {key} AS surface, collect(DISTINCT n.id) AS ids\n"
        "WHERE size(ids) > 1\n"
        "RETURN count(surface) AS total, collect([surface, ids])[0..$limit] AS examples"
    )


def verify_repeated_aliases(label: str) -> str:
    """Nodes listing the same alias twice (case-insensitive). Columns: total, examples."""
    lab = _q(schema.named_label(label))
    return (
        f"MATCH (n:{lab}) WHERE n.aliases IS NOT NULL\n"
        "UNWIND n.aliases AS a\n"
        "WITH n.id AS id, toLower(a) AS alias, count(*) AS c WHERE c > 1\n"
        "RETURN count(*) AS total, collect([id, alias])[0..$limit] AS examples"
    )


__all__ += [
    "EXPORT_LABELS",
    "EXPORT_REL_TYPES",
    "MISSING_TRIPLE_ENDPOINTS",
    "VERIFY_IMPORTED_ENDPOINTS",
    "VERIFY_NODES_WITHOUT_ID",
    "VERIFY_ORPHAN_ENTITIES",
    "VERIFY_PRODUCTS_WITHOUT_CATEGORY",
    "VERIFY_UNKNOWN_LABELS",
    "export_nodes",
    "export_relationships",
    "import_nodes",
    "import_relationships",
    "missing_ids",
    "verify_core_endpoints",
    "verify_repeated_aliases",
    "verify_shared_surfaces",
]
