"""Reads for an explanation: the KG paths from what the shopper named to the items shown.

Split from :mod:`kg.queries.read` (whose candidate helpers they share).
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import schema
from ..exceptions import SchemaNameError
from ..types import PATH_COLUMNS, PATH_TRIP_COLUMNS
from ._names import DISPLAY_NAME, Query, quote, returning
from .read import _match_nodes

#: Longest path :func:`paths` accepts (variable-length bounds cannot be parameters).
MAX_PATH_HOPS = 4

#: Labels a path shown to a shopper may never pass through: other shoppers (``User``) and
#: conversations (``Session``). A path through a user would name a stranger ("shares Casey R.")
#: and reveal what they bought; collaborative evidence is counted instead
#: (:data:`kg.queries.read.CO_INTERACTION_COUNTS`).
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
    positions into ``sources`` (``[[position, node], ...]``), then each of ``$item_ids`` as
    ``i`` with its position ``ip``."""
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


#: What each branch of :func:`paths_one_trip`'s subquery starts from (imported from the
#: outer query; the edge patterns then start at the bound item, see there).
_BRANCH_START = "WITH sources, ip, i"


def paths_one_trip(
    source_ids: Sequence[str],
    item_ids: Sequence[str],
    max_hops: int,
    into_item_types: Sequence[str] = (),
) -> Query:
    """The paths :func:`paths` finds for 1..``max_hops`` hops (at most
    :data:`ONE_TRIP_MAX_HOPS`), all of them in one round trip.

    Columns :data:`kg.types.PATH_TRIP_COLUMNS`: ``hops``, ``source_pos`` / ``item_pos`` (the
    positions in ``$source_ids`` / ``$item_ids``), then those of :func:`paths`.

    The sources and the items are found once (:func:`_path_sources`), then a ``CALL``
    subquery runs one branch per edge shape (``UNION ALL``) for each item. As separate
    parts of a top-level union, each part had to find them again (``bench/RESULTS.md``
    has the time this saves). Neo4j reads the same subquery (importing ``WITH``).

    Every edge between two bound nodes is looked up one direction at a time, written from its
    start node, each in a clause of its own (``WITH *`` between): FalkorDB then reads the
    start node's outgoing edges, where an undirected ``(s)-[]-(i)`` or a pattern of two bound
    hops read the incoming edges of a category or an attribute, every product under it, and
    grew with the catalog. A two-hop path is found from the item's side: the item's few
    neighbours (with the edge to each), each tried against the sources. Those neighbours are
    the item's outgoing edges (its category, brand, attributes, what imported relations point
    it at) and its incoming edges of ``into_item_types`` only (:func:`into_item_types`: the
    imported relation types). The schema's one other edge into a product is a shopper's
    ``INTERACTED``, which no path may use and whose count grows with the item's popularity, so
    an undirected pattern read every shopper of every explained item to drop them. Each
    branch starts with the bound ``i`` (:data:`_BRANCH_START`), or FalkorDB would start
    an incoming pattern from every node as ``m1``.
    """
    hops = int(max_hops)
    if not 1 <= hops <= ONE_TRIP_MAX_HOPS:
        raise SchemaNameError("max_hops", f"must be in 1..{ONE_TRIP_MAX_HOPS}, got {hops}")
    pair = "WITH src[0] AS sp, src[1] AS s, ip, i"
    branches = [
        "\n".join(
            [_BRANCH_START, "UNWIND sources AS src", pair, edge, _path_return(1, "[s, i]", "[r1]")]
        )
        for edge in ("MATCH (s)-[r1]->(i)", "MATCH (i)-[r1]->(s)")
    ]
    if hops == 2:
        sides = ["MATCH (i)-[r2]->(m1)"]
        if into_item_types:
            types = "|".join(quote(_imported_type(t)) for t in into_item_types)
            sides.append(f"MATCH (i)<-[r2:{types}]-(m1)")
        for side in sides:
            item_side = [
                _BRANCH_START,
                side,
                "WHERE NONE(l IN labels(m1) WHERE l IN $private_labels)",
                "WITH sources, ip, i, r2, m1",
                "UNWIND sources AS src",
                pair + ", r2, m1",
            ]
            branches += [
                "\n".join([*item_side, edge, _path_return(2, "[s, m1, i]", "[r1, r2]")])
                for edge in ("MATCH (s)-[r1]->(m1)", "MATCH (m1)-[r1]->(s)")
            ]
    query = [
        *_path_sources(),
        "CALL {",
        "\nUNION ALL\n".join(branches),
        "}",
        returning(PATH_TRIP_COLUMNS, {}),
    ]
    params = {
        "item_ids": list(item_ids),
        "source_ids": list(source_ids),
        "private_labels": list(PRIVATE_LABELS),
    }
    return "\n".join(query), params


def _imported_type(name: str) -> str:
    """``name`` if it is an imported relation type as :func:`kg.schema.relation_type` makes
    them (it is spliced into the query text), else :class:`SchemaNameError`."""
    if not _is_imported(name):
        raise SchemaNameError("relation", f"{name!r} is not an imported relation type")
    return name


#: Every relationship type the graph holds (column: ``relationshipType``), in FalkorDB and
#: Neo4j alike.
RELATIONSHIP_TYPES = "CALL db.relationshipTypes() YIELD relationshipType RETURN relationshipType"


def into_item_types(types: Sequence[str]) -> tuple[str, ...]:
    """Of the graph's relationship ``types``, those that can point into a product other
    than a shopper's ``INTERACTED``: the imported ones (the core schema's other types all
    start at a product or join categories), sorted so the query text is stable. A type
    kgrec would not have written (not :func:`kg.schema.relation_type`'s form: a graph
    edited by hand) is left out rather than spliced into a query."""
    return tuple(sorted(t for t in set(types) if _is_imported(t)))


def _is_imported(name: str) -> bool:
    """Whether ``name`` is a type :func:`kg.schema.relation_type` makes (never a core one)."""
    try:
        return schema.relation_type(name) == name
    except SchemaNameError:
        return False
