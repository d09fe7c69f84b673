"""The admin section of kg/queries.py: exact strings, and names only from the allow-lists."""

from __future__ import annotations

import pytest

from kg import queries as q
from kg.exceptions import SchemaNameError


def test_missing_ids_is_one_indexed_lookup_per_id() -> None:
    assert q.missing_ids("Product") == (
        "UNWIND $ids AS i\n"
        "OPTIONAL MATCH (n:`Product` {id: i})\n"
        "WITH i, n WHERE n IS NULL\n"
        "RETURN i AS id"
    )


def test_export_and_import_builders() -> None:
    assert q.export_nodes("Entity") == (
        "MATCH (n:`Entity`)\n"
        "RETURN n.id AS id, labels(n) AS labels, properties(n) AS props\n"
        "ORDER BY id ASC SKIP $skip LIMIT $limit"
    )
    assert (
        q.import_nodes("User") == "UNWIND $rows AS r\nMERGE (n:`User` {id: r.id})\nSET n += r.props"
    )
    assert q.import_relationships("User", "INTERACTED", "Product", keyed=True) == (
        "UNWIND $rows AS r\n"
        "MATCH (a:`User` {id: r.start})\n"
        "MATCH (b:`Product` {id: r.end})\n"
        "MERGE (a)-[e:`INTERACTED` {event_id: r.key}]->(b)\n"
        "SET e += r.props"
    )
    assert "MERGE (a)-[e:`FILM_FILM_ACTOR`]->(b)" in q.import_relationships(
        "Product", "film.film.actor", "Entity", keyed=False
    )
    assert "[r:`HAS_BRAND`]" in q.export_relationships("HAS_BRAND")


@pytest.mark.parametrize(
    "build",
    [
        lambda: q.missing_ids("Robot"),
        lambda: q.export_nodes("Product`) DETACH DELETE (n"),
        lambda: q.import_nodes("Session:Product"),
        lambda: q.import_relationships("Product", "###", "Entity", keyed=False),
        lambda: q.export_relationships("1st"),
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
