"""Graph admin tooling: existence checks for import batches, the JSONL export and its
re-import, and the checks of ``kgrec graph verify`` (kg/importers, kg/export.py, kg/verify.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import schema
from ._names import DISPLAY_NAME, Params, Query, any_rel_type, quote


def missing_ids(label: str, ids: Sequence[str]) -> Query:
    """Which of ``$ids`` are not the id of a node with this label. Column: id."""
    lab = quote(schema.label(label))
    return (
        "UNWIND $ids AS i\n"
        f"OPTIONAL MATCH (n:{lab} {{id: i}})\n"
        "WITH i, n WHERE n IS NULL\n"
        "RETURN i AS id"
    ), {"ids": list(ids)}


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


def export_nodes(label: str, skip: int, limit: int) -> Query:
    """Every node with this label: its id, labels and properties, in pages by id.

    Params: ``$skip``, ``$limit``. (Not keyset pages on ``id``: FalkorDB's string ``>`` and
    its ``ORDER BY`` disagree on non-ASCII strings, which skipped nodes at page boundaries.)
    """
    lab = quote(schema.label(label))
    return (
        f"MATCH (n:{lab})\n"
        "RETURN n.id AS id, labels(n) AS labels, properties(n) AS props\n"
        "ORDER BY id ASC SKIP $skip LIMIT $limit"
    ), {"skip": int(skip), "limit": int(limit)}


def export_relationships(rel_type: str, skip: int, limit: int) -> Query:
    """Every relationship of this type with its endpoints' labels and ids, and properties.

    Params: ``$skip``, ``$limit`` (pages in a stable order: start id, end id).
    """
    rel = quote(any_rel_type(rel_type))
    return (
        f"MATCH (a)-[r:{rel}]->(b)\n"
        "RETURN labels(a)[0] AS start_label, a.id AS start_id, labels(b)[0] AS end_label,\n"
        "       b.id AS end_id, properties(r) AS props\n"
        "ORDER BY start_id ASC, end_id ASC, coalesce(r.event_id, '') ASC\n"
        "SKIP $skip LIMIT $limit"
    ), {"skip": int(skip), "limit": int(limit)}


def import_nodes(label: str, rows: list[Params]) -> Query:
    """MERGE nodes by id and set their exported properties. Rows: ``{id, props}``."""
    lab = quote(schema.label(label))
    return f"UNWIND $rows AS r\nMERGE (n:{lab} {{id: r.id}})\nSET n += r.props", {"rows": rows}


def import_relationships(
    start_label: str, rel_type: str, end_label: str, keyed: bool, rows: list[Params]
) -> Query:
    """MERGE exported relationships between existing nodes and set their properties.

    Rows: ``{start, end, key, props}``; ``keyed`` merges on ``event_id = r.key`` (several
    interactions may join the same user and item), otherwise one edge per pair and type.
    """
    a, b = quote(schema.label(start_label)), quote(schema.label(end_label))
    rel = quote(any_rel_type(rel_type))
    key = " {event_id: r.key}" if keyed else ""
    return (
        "UNWIND $rows AS r\n"
        f"MATCH (a:{a} {{id: r.start}})\n"
        f"MATCH (b:{b} {{id: r.end}})\n"
        f"MERGE (a)-[e:{rel}{key}]->(b)\n"
        "SET e += r.props"
    ), {"rows": rows}


# -- verify: each returns (total, examples) in one row ----------------------------------------

#: Nodes without an ``id``. Columns: total, examples [[labels], ...].
VERIFY_NODES_WITHOUT_ID = """MATCH (n) WHERE n.id IS NULL
RETURN count(n) AS total, collect(labels(n))[0..$limit] AS examples"""

#: Nodes with no allow-listed label. Params: ``$labels``. Columns: total, examples.
VERIFY_UNKNOWN_LABELS = """MATCH (n) WHERE NONE(l IN labels(n) WHERE l IN $labels)
RETURN count(n) AS total, collect([labels(n), n.id])[0..$limit] AS examples"""


def verify_core_endpoints(rel_type: str, start_label: str, end_label: str) -> Query:
    """Core relationships whose endpoints have the wrong labels. Columns: total, examples."""
    rel = quote(any_rel_type(rel_type))
    a, b = quote(schema.label(start_label)), quote(schema.label(end_label))
    return (
        f"MATCH (x)-[r:{rel}]->(y) WHERE NOT (x:{a} AND y:{b})\n"
        "RETURN count(r) AS total,\n"
        "       collect([labels(x)[0], x.id, labels(y)[0], y.id])[0..$limit] AS examples"
    ), {}


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


def verify_shared_surfaces(label: str) -> Query:
    """Names/aliases (case-insensitive) that more than one node of ``label`` answers to.

    Attributes compare ``name=value``. Columns: total, examples [[surface, [ids]], ...].
    """
    lab = quote(schema.named_label(label))
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
    ), {}


def verify_repeated_aliases(label: str) -> Query:
    """Nodes listing the same alias twice (case-insensitive). Columns: total, examples."""
    lab = quote(schema.named_label(label))
    return (
        f"MATCH (n:{lab}) WHERE n.aliases IS NOT NULL\n"
        "UNWIND n.aliases AS a\n"
        "WITH n.id AS id, toLower(a) AS alias, count(*) AS c WHERE c > 1\n"
        "RETURN count(*) AS total, collect([id, alias])[0..$limit] AS examples"
    ), {}
