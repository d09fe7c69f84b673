"""Sessions on a real embedded graph: who may use one, idempotency per user, expiry that
deletes, and concurrent turns and feedback on one session that lose nothing."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from server_fakes import NoLinker

from kg import EmbeddedFalkorDB, open_store
from kg.store import GraphStore
from kg.types import LexiconEntry
from kgrec.domain import EventType, FeedbackEvent, IntentType, RecommendQuery
from kgrec.errors import IdempotencyKeyReusedError, SessionNotFoundError
from models.explain import make_explainer
from models.intent import Intent, IntentParser, Mention
from server.pipeline import Pipeline, PipelineConfig

NIKE = [f"n{i}" for i in range(10)]
ACME = [f"a{i:02d}" for i in range(30)]


class _Parser(IntentParser):
    """ "not Nike" excludes the brand; anything else asks for recommendations."""

    def parse(self, message: str, *, previous: Intent | None = None) -> Intent:
        if message == "not Nike":
            nike = Mention("Nike", 4, 8, negated=True, entity_id="brand:nike")
            return Intent(type=IntentType.REFINE, mentions=(nike,))
        return Intent(type=IntentType.RECOMMEND)


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    server = EmbeddedFalkorDB(Path(tmp_path_factory.mktemp("iso")) / "g").start()
    st = open_store(server.uri, graph="isolation")
    st.init_schema()
    st.upsert_brands([{"id": "brand:nike", "name": "Nike"}, {"id": "brand:acme", "name": "Acme"}])
    st.upsert_products(
        [{"id": i, "title": f"Nike {i}", "brand_id": "brand:nike"} for i in NIKE]
        + [{"id": i, "title": f"Acme {i}", "brand_id": "brand:acme"} for i in ACME]
    )
    yield st
    st.drop_all()
    st.close()
    server.stop()


@pytest.fixture
def clock() -> _Clock:
    return _Clock()


def _pipeline(store: GraphStore, clock: _Clock, **config: object) -> Pipeline:
    return Pipeline(
        store,
        _Parser(),
        NoLinker(),  # type: ignore[arg-type]
        make_explainer(),
        config=PipelineConfig(**config),  # type: ignore[arg-type]
        clock=clock,
        lexicon=[LexiconEntry("brand:nike", "Brand", "Nike", "Nike")],
    )


@pytest.fixture
def pipeline(store: GraphStore, clock: _Clock) -> Pipeline:
    return _pipeline(store, clock, session_ttl_s=600.0)


def _turn(pipe: Pipeline, message: str, session_id: str = "", user_id: str = "", limit: int = 50):  # type: ignore[no-untyped-def]
    query = RecommendQuery(message=message, user_id=user_id, session_id=session_id, limit=limit)
    return pipe.recommend_sync(query)


# -- who may use a session ----------------------------------------------------------------------


def test_bob_cannot_read_continue_or_alter_alices_session(
    pipeline: Pipeline, store: GraphStore
) -> None:
    alice = _turn(pipeline, "shoes", user_id="alice")
    _turn(pipeline, "not Nike", alice.session_id, "alice")
    before = store.get_session(alice.session_id)
    assert before is not None and before.user_id == "alice"
    # continuing (which would echo her constraints back) and feedback into it: NOT_FOUND,
    # exactly as for a session that does not exist
    for caller in ("bob", ""):
        with pytest.raises(SessionNotFoundError):
            _turn(pipeline, "shoes", alice.session_id, caller)
        with pytest.raises(SessionNotFoundError):
            pipeline.feedback_sync(
                FeedbackEvent(caller, alice.session_id, ACME[0], EventType.DISMISS)
            )
    assert store.get_session(alice.session_id) == before  # not a byte changed
    assert store.user_events("bob") == [] and store.user_events("alice") == []
    # Alice herself still continues it, "not Nike" intact
    again = _turn(pipeline, "more", alice.session_id, "alice")
    assert not {i.item_id for i in again.items} & set(NIKE)


def test_an_anonymous_session_is_only_the_anonymous_callers(pipeline: Pipeline) -> None:
    anon = _turn(pipeline, "shoes")
    with pytest.raises(SessionNotFoundError):
        _turn(pipeline, "shoes", anon.session_id, "bob")
    with pytest.raises(SessionNotFoundError):
        pipeline.feedback_sync(FeedbackEvent("bob", anon.session_id, ACME[0], EventType.LIKE))
    assert _turn(pipeline, "more", anon.session_id).session_id == anon.session_id
    result = pipeline.feedback_sync(FeedbackEvent("", anon.session_id, ACME[0], EventType.LIKE))
    assert result.accepted and not result.duplicate


def test_bob_cannot_swallow_alices_event_with_her_key(
    pipeline: Pipeline, store: GraphStore
) -> None:
    alice = _turn(pipeline, "shoes", user_id="alice-k")
    ev = FeedbackEvent("alice-k", alice.session_id, ACME[1], EventType.PURCHASE, 1.0, 0.0, "key-1")
    mine = pipeline.feedback_sync(ev)
    assert not mine.duplicate
    bob = _turn(pipeline, "shoes", user_id="bob-k")
    theirs = pipeline.feedback_sync(
        FeedbackEvent("bob-k", bob.session_id, ACME[1], EventType.PURCHASE, 1.0, 0.0, "key-1")
    )
    assert not theirs.duplicate and theirs.event_id != mine.event_id  # his own event
    assert [e.event_id for e in store.user_events("bob-k")] == [theirs.event_id]
    assert [e.event_id for e in store.user_events("alice-k")] == [mine.event_id]
    # her retry is a duplicate of her event; the same key for another event is refused
    assert pipeline.feedback_sync(ev).event_id == mine.event_id
    with pytest.raises(IdempotencyKeyReusedError):
        pipeline.feedback_sync(
            FeedbackEvent(
                "alice-k", alice.session_id, ACME[2], EventType.PURCHASE, 1.0, 0.0, "key-1"
            )
        )
    assert len(store.user_events("alice-k")) == 1


def test_an_empty_key_means_no_idempotency(pipeline: Pipeline, store: GraphStore) -> None:
    ev = FeedbackEvent("carol", "", ACME[3], EventType.CLICK)
    first, second = pipeline.feedback_sync(ev), pipeline.feedback_sync(ev)
    assert not first.duplicate and not second.duplicate and first.event_id != second.event_id
    assert len(store.user_events("carol")) == 2


# -- expiry -------------------------------------------------------------------------------------


def test_expired_sessions_are_deleted_not_just_hidden(store: GraphStore, clock: _Clock) -> None:
    pipe = _pipeline(store, clock, session_ttl_s=60.0, session_purge_interval_s=30.0)
    old = [_turn(pipe, "shoes").session_id for _ in range(3)]
    clock.now += 50
    kept = _turn(pipe, "shoes").session_id  # purges, but nothing is idle past the TTL yet
    assert all(store.get_session(s) is not None for s in old)
    clock.now += 20  # old ones idle 70 s > TTL, but the last purge was only 20 s ago
    _turn(pipe, "shoes")
    assert all(store.get_session(s) is not None for s in old)
    clock.now += 11  # 31 s since the last purge: creating a session purges again
    _turn(pipe, "shoes")
    assert [s for s in old if store.get_session(s) is not None] == []
    assert store.get_session(kept) is not None
    with pytest.raises(SessionNotFoundError):
        _turn(pipe, "more", old[0])


# -- concurrent updates of one session ----------------------------------------------------------


def _state(store: GraphStore, session_id: str) -> dict:
    session = store.get_session(session_id)
    assert session is not None
    return json.loads(session.state)


@pytest.mark.parametrize("trial", range(20))
def test_parallel_dismisses_and_a_constraint_turn_lose_nothing(
    pipeline: Pipeline, store: GraphStore, trial: int
) -> None:
    """20 DISMISS calls and a "not Nike" turn at once on one session: all 21 updates stay."""
    sid = _turn(pipeline, "shoes", user_id=f"racer{trial}").session_id
    dismissed = ACME[trial % 10 : trial % 10 + 20]

    def dismiss(item: str) -> object:
        return pipeline.feedback_sync(FeedbackEvent(f"racer{trial}", sid, item, EventType.DISMISS))

    with ThreadPoolExecutor(21) as pool:
        futures = [pool.submit(dismiss, item) for item in dismissed]
        futures.append(pool.submit(_turn, pipeline, "not Nike", sid, f"racer{trial}"))
        for f in futures:
            f.result()
    state = _state(store, sid)
    assert set(dismissed) <= set(state["disliked_item_ids"])
    assert state["exclude_brand_ids"] == ["brand:nike"]
    after = {i.item_id for i in _turn(pipeline, "more", sid, f"racer{trial}").items}
    assert after == set(ACME) - set(dismissed)


# -- logs -----------------------------------------------------------------------------------------


def test_logs_carry_hashed_user_ids_and_no_message_text(
    store: GraphStore, clock: _Clock, caplog: pytest.LogCaptureFixture
) -> None:
    from server.log import user_ref

    secret = "my secret birthday present for Dana"
    quiet = _pipeline(store, clock)
    with caplog.at_level(logging.DEBUG):
        rec = _turn(quiet, secret, user_id="user:dana@example.com")
        quiet.feedback_sync(
            FeedbackEvent("user:dana@example.com", rec.session_id, ACME[4], EventType.LIKE)
        )
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert user_ref("user:dana@example.com") in logged
    assert user_ref("user:dana@example.com") != user_ref("user:dan@example.com")
    assert "dana" not in logged.lower() and "birthday" not in logged
    caplog.clear()
    verbose = _pipeline(store, clock, log_message_text=True)
    with caplog.at_level(logging.DEBUG):
        _turn(verbose, secret, user_id="user:dana@example.com")
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert any(secret in r.getMessage() for r in debug)
    assert not any("dana@" in r.getMessage() for r in caplog.records)
