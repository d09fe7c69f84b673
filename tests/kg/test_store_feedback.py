"""The ``GraphStore`` contract for sessions and feedback events (compare-and-set, idempotency
keys, forgetting a user, writes seen at once), on a tiny hand-built catalog, for every
backend."""

from __future__ import annotations

import dataclasses
import functools
from concurrent.futures import ThreadPoolExecutor

import pytest

import kg
from kg.types import CandidateQuery
from kgrec.domain import EventType, FeedbackEvent, FeedbackResult
from kgrec.errors import (
    IdempotencyKeyReusedError,
    InvalidInputError,
    ItemNotFoundError,
    SessionNotFoundError,
)


def test_sessions(store: kg.GraphStore) -> None:
    assert store.get_session("s1") is None
    s = store.create_session("s1", "user:a", 100.0)
    assert (s.id, s.user_id, s.created_at, s.updated_at, s.state, s.version) == (
        "s1",
        "user:a",
        100.0,
        100.0,
        "",
        0,
    )
    assert store.create_session("s1", "user:other", 200.0) == s  # existing: unchanged
    assert store.save_session_state("s1", '{"turns": 2, "quote": "\\"x\\""}', 150.0) == 1
    got = store.get_session("s1")
    assert (
        got is not None
        and got.state == '{"turns": 2, "quote": "\\"x\\""}'
        and got.updated_at == 150.0
        and got.version == 1
    )
    with pytest.raises(SessionNotFoundError):
        store.save_session_state("nope", "{}", 1.0)
    with pytest.raises(SessionNotFoundError):
        store.save_session_state("nope", "{}", 1.0, version=0)


def test_a_new_session_is_stored_with_its_first_state_in_one_write(store: kg.GraphStore) -> None:
    s = store.create_session("s1", "user:a", 100.0, state='{"turn": 1}')
    assert (s.state, s.version, s.updated_at) == ('{"turn": 1}', 1, 100.0)
    assert store.get_session("s1") == s
    # an existing session is returned unchanged, whatever state the call brings
    assert store.create_session("s1", "user:a", 200.0, state="other") == s
    assert store.save_session_state("s1", "next", 201.0, version=1) == 2


def test_session_compare_and_set(store: kg.GraphStore) -> None:
    store.create_session("s1", "user:a", 100.0)
    assert store.save_session_state("s1", "first", 101.0, version=0) == 1
    assert store.save_session_state("s1", "stale", 102.0, version=0) is None  # lost: unchanged
    got = store.get_session("s1")
    assert got is not None and (got.state, got.updated_at, got.version) == ("first", 101.0, 1)
    assert store.save_session_state("s1", "second", 103.0, version=1) == 2
    # the lock property used to serialise the check is not left behind
    assert isinstance(store, kg.FalkorDBStore | kg.Neo4jStore)
    ((props,),) = store._read("MATCH (s:Session {id: 's1'}) RETURN properties(s)")
    assert "_lock" not in props


def test_concurrent_compare_and_set_writes_exactly_once_per_version(store: kg.GraphStore) -> None:
    """Many writers with the same expected version (two replicas, many workers): one wins."""
    store.create_session("s1", "user:a", 1.0)
    with ThreadPoolExecutor(8) as pool:
        got = list(
            pool.map(lambda i: store.save_session_state("s1", f"w{i}", 2.0, version=0), range(16))
        )
    assert got.count(1) == 1 and got.count(None) == 15
    winner = got.index(1)
    session = store.get_session("s1")
    assert session is not None and (session.state, session.version) == (f"w{winner}", 1)


def test_purge_sessions_deletes_only_idle_ones(store: kg.GraphStore) -> None:
    for i in range(5):
        store.create_session(f"old{i}", "user:a", 10.0 + i)
    store.create_session("fresh", "user:a", 100.0)
    store.save_session_state("old4", "{}", 90.0)  # written since: not idle
    assert store.purge_sessions(before=50.0, limit=3) == 3
    assert store.purge_sessions(before=50.0) == 1
    assert store.purge_sessions(before=50.0) == 0
    assert [i for i in range(5) if store.get_session(f"old{i}")] == [4]
    assert store.get_session("fresh") is not None


def _event(
    item: str = "prod:2", key: str = "k1", etype: EventType = EventType.LIKE
) -> FeedbackEvent:
    return FeedbackEvent(
        user_id="user:new", session_id="s9", item_id=item, event_type=etype, value=1.0,
        client_ts=500.0, idempotency_key=key,
    )  # fmt: skip


def test_record_event_is_idempotent(loaded: kg.GraphStore) -> None:
    before = loaded.stats()
    first = loaded.record_event(_event(), "ev:new1", 600.0)
    assert (first.accepted, first.event_id, first.duplicate) == (True, "ev:new1", False)
    after = loaded.stats()
    assert after.nodes["User"] == before.nodes["User"] + 1  # the user was created
    assert after.relationships["INTERACTED"] == before.relationships["INTERACTED"] + 1
    again = loaded.record_event(_event(), "ev:new2", 601.0)
    assert (again.event_id, again.duplicate) == ("ev:new1", True)
    assert loaded.stats() == after
    (ev,) = loaded.user_events("user:new")
    assert (ev.event_id, ev.item_id, ev.type, ev.value, ev.ts) == (
        "ev:new1",
        "prod:2",
        "like",
        1.0,
        500.0,
    )
    assert loaded.products(["prod:2"])[0].popularity == 1.0  # like is positive


def test_idempotency_keys_are_scoped_per_user(loaded: kg.GraphStore) -> None:
    """Bob reusing Alice's key records Bob's event; Alice's stays hers."""
    alice = FeedbackEvent("user:alice", "", "prod:2", EventType.PURCHASE, 1.0, idempotency_key="k")
    bob = FeedbackEvent("user:bob", "", "prod:2", EventType.PURCHASE, 1.0, idempotency_key="k")
    assert loaded.record_event(alice, "ev:alice", 1.0) == FeedbackResult(True, "ev:alice", False)
    assert loaded.record_event(bob, "ev:bob", 2.0) == FeedbackResult(True, "ev:bob", False)
    assert loaded.record_event(bob, "ev:bob2", 3.0) == FeedbackResult(True, "ev:bob", True)
    assert [e.event_id for e in loaded.user_events("user:alice")] == ["ev:alice"]
    assert [e.event_id for e in loaded.user_events("user:bob")] == ["ev:bob"]
    assert loaded.products(["prod:2"])[0].popularity == 2.0


@pytest.mark.parametrize(
    "change",
    [
        {"item_id": "prod:3"},
        {"event_type": EventType.DISLIKE},
        {"value": 2.0},
        {"session_id": "other"},
    ],
)
def test_a_key_reused_with_another_payload_is_refused(
    loaded: kg.GraphStore, change: dict[str, object]
) -> None:
    first = _event()
    loaded.record_event(first, "ev:first", 1.0)
    before = loaded.stats()
    with pytest.raises(IdempotencyKeyReusedError) as exc:
        loaded.record_event(dataclasses.replace(first, **change), "ev:second", 2.0)  # type: ignore[arg-type]
    assert exc.value.field == "idempotency_key"
    assert loaded.stats() == before
    assert [e.event_id for e in loaded.user_events("user:new")] == ["ev:first"]


def test_forget_user_deletes_events_sessions_and_the_user(loaded: kg.GraphStore) -> None:
    loaded.create_session("sa1", "user:a", 1.0)
    loaded.create_session("sa2", "user:a", 2.0)
    loaded.create_session("sb", "user:b", 3.0)
    assert loaded.user_data_counts("user:a") == kg.UserDataCounts(events=2, sessions=2, users=1)
    before = {p.id: p.popularity for p in loaded.products(["prod:1", "prod:3"])}
    assert loaded.forget_user("user:a") == kg.UserDataCounts(events=2, sessions=2, users=1)
    assert loaded.user_data_counts("user:a") == kg.UserDataCounts()
    assert loaded.user_events("user:a") == []
    assert loaded.get_session("sa1") is None and loaded.get_session("sb") is not None
    after = {p.id: p.popularity for p in loaded.products(["prod:1", "prod:3"])}
    assert after == {"prod:1": before["prod:1"] - 1, "prod:3": before["prod:3"] - 1}
    assert loaded.user_data_counts("user:b").events == 2  # others untouched
    assert loaded.forget_user("user:a") == kg.UserDataCounts()  # idempotent
    with pytest.raises(InvalidInputError):
        loaded.forget_user("")


def test_record_event_without_key_always_writes(loaded: kg.GraphStore) -> None:
    loaded.record_event(_event(key="", etype=EventType.DISMISS), "ev:a", 1.0)
    loaded.record_event(_event(key="", etype=EventType.DISMISS), "ev:b", 2.0)
    assert {e.event_id for e in loaded.user_events("user:new")} == {"ev:a", "ev:b"}
    assert loaded.products(["prod:2"])[0].popularity == 0.0  # dismiss is not positive


def test_record_event_unknown_item(loaded: kg.GraphStore) -> None:
    before = loaded.stats()
    with pytest.raises(ItemNotFoundError):
        loaded.record_event(_event(item="prod:missing"), "ev:x", 1.0)
    assert loaded.stats() == before


#: The Cypher stores' one-write form and the base class's two-call default, held to one contract.
WITH_STATE = {
    "one write": lambda store: store.record_event_with_state,
    "two calls": lambda store: functools.partial(kg.GraphStore.record_event_with_state, store),
}


@pytest.mark.parametrize("form", WITH_STATE)
@pytest.mark.parametrize("key", ["k1", ""])
def test_an_event_and_its_session_state_in_one_write(
    loaded: kg.GraphStore, form: str, key: str
) -> None:
    record = WITH_STATE[form](loaded)
    loaded.create_session("s9", "user:new", 100.0, state="turn 1")
    result, version = record(_event(key=key), "ev:1", 600.0, "after the like", 1)
    assert (result, version) == (FeedbackResult(True, "ev:1", False), 2)
    got = loaded.get_session("s9")
    assert got is not None and (got.state, got.version, got.updated_at) == (
        "after the like",
        2,
        600.0,
    )
    assert [e.event_id for e in loaded.user_events("user:new")] == ["ev:1"]
    assert loaded.products(["prod:2"])[0].popularity == 1.0
    # a session moved on since it was read: the event is stored, the state is not written
    result, version = record(_event(key=key and "k2"), "ev:2", 601.0, "stale", 1)
    assert (result.duplicate, version) == (False, None)
    assert loaded.get_session("s9") == got
    assert len(loaded.user_events("user:new")) == 2


@pytest.mark.parametrize("form", WITH_STATE)
def test_a_repeated_event_leaves_its_session_alone(loaded: kg.GraphStore, form: str) -> None:
    record = WITH_STATE[form](loaded)
    loaded.create_session("s9", "user:new", 100.0, state="turn 1")
    record(_event(), "ev:1", 600.0, "after the like", 1)
    result, version = record(_event(), "ev:again", 601.0, "twice", 2)
    assert (result, version) == (FeedbackResult(True, "ev:1", True), None)
    got = loaded.get_session("s9")
    assert got is not None and (got.state, got.version) == ("after the like", 2)
    assert loaded.products(["prod:2"])[0].popularity == 1.0


@pytest.mark.parametrize("form", WITH_STATE)
def test_an_event_whose_session_is_gone_is_stored_without_it(
    loaded: kg.GraphStore, form: str
) -> None:
    result, version = WITH_STATE[form](loaded)(_event(), "ev:1", 600.0, "state", 0)
    assert (result.duplicate, version) == (False, None)
    assert loaded.get_session("s9") is None
    assert [e.event_id for e in loaded.user_events("user:new")] == ["ev:1"]
    with pytest.raises(ItemNotFoundError):
        WITH_STATE[form](loaded)(_event(item="prod:missing"), "ev:x", 1.0, "state", 0)


def test_user_events_newest_first(loaded_ro: kg.GraphStore) -> None:
    evs = loaded_ro.user_events("user:a")
    assert [e.event_id for e in evs] == ["ev:2", "ev:1"]
    assert loaded_ro.user_events("user:a", limit=1)[0].event_id == "ev:2"
    assert loaded_ro.user_events("nobody") == []


def test_concurrent_duplicates_write_once(loaded: kg.GraphStore) -> None:
    """Many threads (the server's workers) repeating one idempotency key: one event stored."""
    before = loaded.stats().relationships["INTERACTED"]
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(
                lambda i: loaded.record_event(_event(key="race"), f"ev:race{i}", 1.0), range(16)
            )
        )
    assert sum(not r.duplicate for r in results) == 1
    assert len({r.event_id for r in results}) == 1
    assert loaded.stats().relationships["INTERACTED"] == before + 1


def test_candidates_see_writes_at_once(loaded: kg.GraphStore) -> None:
    """Product records are cached for candidates; this process's writes must show at once."""
    first = {c.product.id: c.product for c in loaded.candidates(CandidateQuery())}
    assert first["prod:6"].title == "Gym Bag" and first["prod:6"].popularity == 0.0
    loaded.upsert_products([{"id": "prod:6", "title": "Gym Bag v2"}])
    loaded.upsert_brands([{"id": "brand:adidas", "name": "adidas AG"}])
    loaded.record_event(_event(item="prod:6", key="k6", etype=EventType.PURCHASE), "ev:6", 1.0)
    got = {c.product.id: c.product for c in loaded.candidates(CandidateQuery())}
    assert (got["prod:6"].title, got["prod:6"].brand, got["prod:6"].popularity) == (
        "Gym Bag v2",
        "adidas AG",
        1.0,
    )


def test_repeated_event_ids_in_one_batch_write_once(loaded: kg.GraphStore) -> None:
    row = {
        "user_id": "user:z",
        "item_id": "prod:6",
        "type": "purchase",
        "value": 1.0,
        "ts": 5.0,
        "event_id": "ev:z",
    }
    assert loaded.add_interactions([row, dict(row, type="click"), row]) == 1
    assert loaded.add_interactions([row]) == 0
    assert [(e.event_id, e.type) for e in loaded.user_events("user:z")] == [("ev:z", "purchase")]
    assert loaded.products(["prod:6"])[0].popularity == 1.0
