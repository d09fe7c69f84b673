"""Hostile text is data: stored and matched literally, the graph left intact."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

import kg
from kg.types import CandidateQuery
from kgrec.domain import EventType, FeedbackEvent

HOSTILE = [
    "') DETACH DELETE n //",
    '"}) MATCH (n) DETACH DELETE n //',
    "`) MATCH (n) DETACH DELETE n //`",
    "@title:*|-~ zap",
    '\\"; CALL db.labels() //',
    "line\nbreak\ttab ' \" ` \\ $param {x} [y] %fuzzy%",
    "CYPHER x=1 MATCH (n) DELETE n",
]


def _load_hostile(store: kg.GraphStore) -> kg.GraphStore:
    store.upsert_brands(
        [
            {"id": f"brand:{i}", "name": f"Brand{i} {t}", "aliases": [t]}
            for i, t in enumerate(HOSTILE)
        ]
    )
    store.upsert_products(
        [
            {"id": f"prod:{t}", "title": t, "description": t, "brand_id": f"brand:{i}"}
            for i, t in enumerate(HOSTILE)
        ]
    )
    store.upsert_users([{"id": "user:1", "name": HOSTILE[0]}])
    return store


@pytest.fixture(scope="module")
def _hostile_falkordb(falkordb_server: kg.EmbeddedFalkorDB) -> Iterator[kg.GraphStore]:
    store = kg.open_store(falkordb_server.uri, graph=f"hostile{uuid.uuid4().hex[:8]}")
    store.init_schema()
    try:
        yield _load_hostile(store)
    finally:
        store.drop_all()
        store.close()


@pytest.fixture(params=["falkordb", "neo4j"])
def hostile(request: pytest.FixtureRequest) -> kg.GraphStore:
    """The hostile catalog: shared per module on FalkorDB, reloaded per test on Neo4j.

    Tests may add sessions/events under their own hostile id, never touch the catalog."""
    if request.param == "falkordb":
        return request.getfixturevalue("_hostile_falkordb")
    return _load_hostile(request.getfixturevalue("neo4j_store"))


def test_hostile_names_are_stored_verbatim(hostile: kg.GraphStore) -> None:
    before = hostile.stats()
    assert before.nodes["Brand"] == len(HOSTILE) and before.nodes["Product"] == len(HOSTILE)
    got = hostile.products([f"prod:{t}" for t in HOSTILE])
    assert [p.title for p in got] == HOSTILE
    assert [p.description for p in got] == HOSTILE
    surfaces = {(e.entity_id, e.surface) for e in hostile.lexicon(["Brand"])}
    assert {(f"brand:{i}", t) for i, t in enumerate(HOSTILE)} <= surfaces
    assert hostile.stats() == before


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_queries_match_literally(hostile: kg.GraphStore, text: str) -> None:
    before = hostile.stats()
    hits = hostile.fulltext(text, ["Brand", "Product"], k=50)
    ids = {h.entity_id for h in hits}
    i = HOSTILE.index(text)
    assert f"brand:{i}" in ids and f"prod:{text}" in ids  # its own node is found by its words
    # nothing of it acts as an operator: no wildcard/OR explosion to every node
    assert len(ids) < 2 * len(HOSTILE)
    assert hostile.stats() == before


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_ids_in_every_parameter(hostile: kg.GraphStore, text: str) -> None:
    before = hostile.stats()
    cands = hostile.candidates(
        CandidateQuery(
            category_ids=(text,), brand_ids=(text,), exclude_item_ids=(text,), preferred_ids=(text,)
        )
    )
    assert cands == []
    assert hostile.products([text]) == []
    assert hostile.paths([text], [text]) == {}
    assert hostile.get_session(text) is None
    assert hostile.user_events(text) == []
    assert hostile.stats() == before
    s = hostile.create_session(text, text, 1.0)
    hostile.save_session_state(text, text, 2.0)
    got = hostile.get_session(text)
    assert got is not None and (got.id, got.user_id, got.state) == (text, text, text)
    ev = FeedbackEvent(
        user_id=text,
        session_id=s.id,
        item_id=f"prod:{text}",
        event_type=EventType.CLICK,
        idempotency_key=text,
    )
    assert hostile.record_event(ev, text, 3.0).event_id == text
    assert hostile.record_event(ev, "other", 4.0).duplicate
    assert [e.event_id for e in hostile.user_events(text)] == [text]


def test_hostile_relation_and_label_names_rejected(store: kg.GraphStore) -> None:
    store.upsert_entities([{"id": "e1", "name": "a"}, {"id": "e2", "name": "b"}])
    before = store.stats()
    for bad in ["HAS_BRAND", "1x", "é", "`]->() //"]:
        with pytest.raises(kg.SchemaNameError):
            store.add_triples([{"head": "e1", "relation": bad, "tail": "e2"}])
    assert store.add_triples([{"head": "e1", "relation": "x`]-(n) DELETE n //", "tail": "e2"}]) == 1
    assert store.stats().relationships == {"X_N_DELETE_N": 1}
    assert store.stats().nodes == before.nodes
    with pytest.raises(kg.SchemaNameError):
        store.lexicon(["Brand`) DETACH DELETE n //"])
    with pytest.raises(kg.SchemaNameError):
        store.fulltext("x", ["User"])  # a label without names
