"""``Neo4jStore``'s own code (driver calls, record and counter mapping, error mapping, schema
DDL) without a Neo4j server: its driver is replaced by one that runs the shared Cypher on the
embedded FalkorDB and records the Neo4j-only statements.

The real thing runs in ``test_store_contract.py`` when ``NEO4J_URI`` is set.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import neo4j
import pytest
from kg_catalog import tiny
from neo4j import exceptions as neo4j_errors

import kg
from kg.types import CandidateQuery
from kgrec.domain import EventType, FeedbackEvent
from kgrec.errors import DeadlineExceededError, GraphUnavailableError, ItemNotFoundError

NEO4J_ONLY = (
    "CREATE CONSTRAINT",
    "CREATE INDEX kgrec_",
    "CREATE FULLTEXT",
    "CREATE VECTOR",
    "CALL db.await",
    "SHOW ",
    "DROP ",
)


class FakeDriver:
    """``execute_query`` on a FalkorDB graph; Neo4j-only statements are only recorded."""

    def __init__(self, graph: Any) -> None:
        self.graph = graph
        self.ddl: list[str] = []
        self.calls: list[tuple[str, Any, float | None]] = []
        self.fail: Exception | None = None

    def execute_query(
        self, query: neo4j.Query, params: dict[str, Any], *, routing_: Any, database_: Any
    ) -> Any:
        if self.fail is not None:
            raise self.fail
        text = query.text
        self.calls.append((text, routing_, query.timeout))
        if text.startswith(NEO4J_ONLY):
            self.ddl.append(text)
            return SimpleNamespace(
                records=[],
                summary=SimpleNamespace(
                    counters=SimpleNamespace(nodes_created=0, relationships_created=0)
                ),
            )
        if text.startswith("MATCH (n)\nWITH n LIMIT $batch"):  # drop_all's batched delete
            text = "MATCH (n) DETACH DELETE n RETURN 0 AS deleted"
        run = self.graph.ro_query if routing_ == neo4j.RoutingControl.READ else self.graph.query
        res = run(text, params)
        keys = [h[1] for h in res.header]
        return SimpleNamespace(
            records=[neo4j.Record(zip(keys, row, strict=True)) for row in res.result_set],
            summary=SimpleNamespace(
                counters=SimpleNamespace(
                    nodes_created=int(res.nodes_created),
                    relationships_created=int(res.relationships_created),
                )
            ),
        )

    def close(self) -> None:
        pass


@pytest.fixture
def neo(falkordb_server: kg.EmbeddedFalkorDB) -> Iterator[tuple[kg.Neo4jStore, FakeDriver]]:
    backing = kg.open_store(falkordb_server.uri, graph=f"neo{uuid.uuid4().hex[:10]}")
    assert isinstance(backing, kg.FalkorDBStore)
    backing.init_schema()  # the FalkorDB indexes the fake's queries run on
    store = kg.Neo4jStore(
        "bolt://127.0.0.1:1", user="u", password="p", database="db", embedding_dim=4
    )
    fake = FakeDriver(backing._graph)
    store._driver.close()  # the real (never connected) driver
    store._driver = fake
    try:
        yield store, fake
    finally:
        backing.drop_all()
        backing.close()
        store.close()


def test_schema_ddl_and_read_routing(neo: tuple[kg.Neo4jStore, FakeDriver]) -> None:
    store, fake = neo
    store.init_schema()
    assert sum(s.startswith("CREATE CONSTRAINT kgrec_unique_") for s in fake.ddl) == len(
        kg.schema.LABELS
    )
    assert sum(s.startswith("CREATE FULLTEXT INDEX") for s in fake.ddl) == len(
        kg.schema.NAMED_LABELS
    )
    assert any(s.startswith("CREATE VECTOR INDEX kgrec_vector_product_embedding") for s in fake.ddl)
    assert fake.ddl[-1] == "CALL db.awaitIndexes($seconds)"
    fake.calls.clear()
    store.stats()
    assert {c[1] for c in fake.calls} == {neo4j.RoutingControl.READ}
    assert {c[2] for c in fake.calls} == {10.0}  # read timeout, seconds


def test_loads_and_reads_through_the_driver(neo: tuple[kg.Neo4jStore, FakeDriver]) -> None:
    store, _ = neo
    counts = tiny().load(store)
    assert counts["interactions"] == 6 and counts["triples"] == 3  # counters mapped
    assert store.stats().nodes["Product"] == 6
    got = store.candidates(
        CandidateQuery(category_ids=("cat:running",), preferred_ids=("ent:designer",))
    )
    assert [c.product.id for c in got][0] == "prod:3" and got[0].matched == ("ent:designer",)
    assert store.products(["prod:5"])[0].brand == "Salomon"
    assert store.paths(["brand:nike"], ["prod:1"], 1, 1)["prod:1"][0].relations == ("HAS_BRAND",)
    ev = FeedbackEvent(
        user_id="u",
        session_id="s",
        item_id="prod:1",
        event_type=EventType.LIKE,
        idempotency_key="k",
    )
    assert not store.record_event(ev, "e1", 1.0).duplicate
    assert store.record_event(ev, "e2", 1.0).event_id == "e1"
    with pytest.raises(ItemNotFoundError):
        store.record_event(
            FeedbackEvent(user_id="u", session_id="s", item_id="nope", event_type=EventType.LIKE),
            "e3",
            1.0,
        )
    assert store.create_session("s", "u", 1.0).user_id == "u"


def test_drop_all_drops_own_schema(neo: tuple[kg.Neo4jStore, FakeDriver]) -> None:
    store, fake = neo
    tiny().load(store)
    store.drop_all()
    assert store.stats().nodes == {}
    assert any(s.startswith("SHOW CONSTRAINTS") for s in fake.ddl)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (neo4j_errors.ServiceUnavailable("down"), GraphUnavailableError),
        (neo4j_errors.SessionExpired("gone"), GraphUnavailableError),
        (neo4j_errors.AuthError("bad password"), GraphUnavailableError),
        (
            neo4j_errors.ClientError._hydrate_neo4j(
                code="Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration",
                message="slow",
            ),
            DeadlineExceededError,
        ),
        (
            neo4j_errors.ClientError._hydrate_neo4j(
                code="Neo.ClientError.Statement.SyntaxError", message="x"
            ),
            kg.GraphQueryError,
        ),
    ],
)
def test_driver_errors_are_mapped(
    neo: tuple[kg.Neo4jStore, FakeDriver], error: Exception, expected: type
) -> None:
    store, fake = neo
    fake.fail = error
    with pytest.raises(expected) as err:
        store.stats()
    assert err.value.__cause__ is error
