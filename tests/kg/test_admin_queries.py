"""kg.queries.admin: exact strings, and names only from the allow-lists."""

from __future__ import annotations

import pytest

from kg import queries as q
from kg.exceptions import SchemaNameError


def test_missing_ids_is_one_indexed_lookup_per_id() -> None:
    assert q.missing_ids("Product", ("p1", "p2")) == (
        "UNWIND $ids AS i\n"
        "OPTIONAL MATCH (n:`Product` {id: i})\n"
        "WITH i, n WHERE n IS NULL\n"
        "RETURN i AS id",
        {"ids": ["p1", "p2"]},
    )


def test_export_and_import_builders() -> None:
    assert q.export_nodes("Entity", skip=40, limit=20) == (
        "MATCH (n:`Entity`)\n"
        "RETURN n.id AS id, labels(n) AS labels, properties(n) AS props\n"
        "ORDER BY id ASC SKIP $skip LIMIT $limit",
        {"skip": 40, "limit": 20},
    )
    rows = [{"id": "u1", "props": {"name": "U"}}]
    assert q.import_nodes("User", rows) == (
        "UNWIND $rows AS r\nMERGE (n:`User` {id: r.id})\nSET n += r.props",
        {"rows": rows},
    )
    query, params = q.import_relationships("User", "INTERACTED", "Product", True, rows)
    assert query == (
        "UNWIND $rows AS r\n"
        "MATCH (a:`User` {id: r.start})\n"
        "MATCH (b:`Product` {id: r.end})\n"
        "MERGE (a)-[e:`INTERACTED` {event_id: r.key}]->(b)\n"
        "SET e += r.props"
    )
    assert params == {"rows": rows}
    query, _ = q.import_relationships("Product", "film.film.actor", "Entity", False, [])
    assert "MERGE (a)-[e:`FILM_FILM_ACTOR`]->(b)" in query
    query, params = q.export_relationships("HAS_BRAND", 0, 5)
    assert "[r:`HAS_BRAND`]" in query and params == {"skip": 0, "limit": 5}


@pytest.mark.parametrize(
    "build",
    [
        lambda: q.missing_ids("Robot", []),
        lambda: q.export_nodes("Product`) DETACH DELETE (n", 0, 1),
        lambda: q.import_nodes("Session:Product", []),
        lambda: q.import_relationships("Product", "###", "Entity", False, []),
        lambda: q.export_relationships("1st", 0, 1),
        lambda: q.verify_shared_surfaces("User"),
    ],
)
def test_names_outside_the_allow_lists_are_refused(build: object) -> None:
    with pytest.raises(SchemaNameError):
        build()  # type: ignore[operator]


def test_verify_checks_return_a_count_and_examples() -> None:
    from kg.verify import checks

    for name, query, _ in checks():
        assert query.rstrip().splitlines()[-1].strip().startswith(("RETURN count(", "collect(")), (
            name
        )
        assert "$limit" in query, name
