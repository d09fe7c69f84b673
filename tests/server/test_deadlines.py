"""Deadlines end to end: the client's deadline (or the server's ``max_request_seconds``) is
checked between the steps of a turn and before every write. An expired call stops where it
is, writes no session and no event, and gets DEADLINE_EXCEEDED. Real embedded graph and the
real pipeline; the parser is slow on purpose, the linker counts its calls."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from server_fakes import serving

from kg import EmbeddedFalkorDB, open_store
from kg.store import GraphStore
from kgrec.domain import EventType, FeedbackEvent, IntentType, RecommendQuery
from kgrec.errors import DeadlineExceededError
from kgrec.v1 import recommender_pb2 as pb
from models.explain import make_explainer
from models.intent import Intent, IntentParser, Mention
from server.deadline import DeadlineGuardedStore, check_deadline, deadline_var, time_left
from server.pipeline import Pipeline

PARSE_SECONDS = 0.3


class _SlowParser(IntentParser):
    def __init__(self) -> None:
        self.calls = 0

    def parse(self, message: str, *, previous: Intent | None = None) -> Intent:
        self.calls += 1
        time.sleep(PARSE_SECONDS)
        return Intent(type=IntentType.RECOMMEND, mentions=(Mention(text="item", start=0, end=4),))


class _CountingLinker:
    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def link_best(self, mention: str, label_hint: str | None = None) -> None:
        with self.lock:
            self.calls += 1


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    server = EmbeddedFalkorDB(Path(tmp_path_factory.mktemp("deadline")) / "g").start()
    st = open_store(server.uri, graph="deadlines")
    st.init_schema()
    st.upsert_products([{"id": f"p{i}", "title": f"Item {i}", "price": 10.0 + i} for i in range(5)])
    yield st
    st.close()
    server.stop()


@pytest.fixture
def parts(store: GraphStore) -> tuple[Pipeline, _SlowParser, _CountingLinker]:
    parser, linker = _SlowParser(), _CountingLinker()
    return Pipeline(store, parser, linker, make_explainer()), parser, linker  # type: ignore[arg-type]


def _sessions(store: GraphStore) -> int:
    return store.stats().nodes.get("Session", 0)


def _in_context(deadline: float | None, fn: object, *args: object) -> object:
    ctx = contextvars.copy_context()
    ctx.run(deadline_var.set, deadline)
    return ctx.run(fn, *args)  # type: ignore[arg-type]


def test_check_deadline_without_and_with_a_deadline() -> None:
    _in_context(None, check_deadline, "anywhere")  # no deadline: never expires
    assert _in_context(None, time_left) is None
    _in_context(time.monotonic() + 10, check_deadline, "early")
    with pytest.raises(DeadlineExceededError, match="before score"):
        _in_context(time.monotonic() - 0.01, check_deadline, "before score")


def test_a_turn_past_its_deadline_stops_between_steps_and_creates_no_session(
    parts: tuple[Pipeline, _SlowParser, _CountingLinker], store: GraphStore
) -> None:
    pipeline, parser, linker = parts
    before = _sessions(store)
    query = RecommendQuery(message="anything", limit=3)
    with pytest.raises(DeadlineExceededError, match="before link"):
        _in_context(time.monotonic() + 0.05, pipeline.recommend_sync, query)
    assert parser.calls == 1 and linker.calls == 0  # nothing after the step that ran over
    assert _sessions(store) == before
    # the same turn with time to spare creates its session (at the end)
    result = _in_context(time.monotonic() + 30, pipeline.recommend_sync, query)
    assert _sessions(store) == before + 1
    assert store.get_session(result.session_id) is not None  # type: ignore[attr-defined]


def test_expired_feedback_records_no_event(
    parts: tuple[Pipeline, _SlowParser, _CountingLinker], store: GraphStore
) -> None:
    pipeline = parts[0]
    event = FeedbackEvent("deadline-user", "", "p1", EventType.CLICK, idempotency_key="k1")
    with pytest.raises(DeadlineExceededError):
        _in_context(time.monotonic() - 0.001, pipeline.feedback_sync, event)
    assert store.user_events("deadline-user") == []
    _in_context(time.monotonic() + 30, pipeline.feedback_sync, event)
    assert len(store.user_events("deadline-user")) == 1


def test_client_deadline_over_grpc_stops_the_turn_and_writes_nothing(
    parts: tuple[Pipeline, _SlowParser, _CountingLinker], store: GraphStore
) -> None:
    pipeline, parser, linker = parts
    before = _sessions(store)

    async def scenario() -> grpc.StatusCode:
        async with serving(pipeline) as served:
            try:
                await served.stub.Recommend(pb.RecommendRequest(message="boots"), timeout=0.03)
            except grpc.aio.AioRpcError as e:
                code = e.code()
            else:
                code = grpc.StatusCode.OK
            await asyncio.sleep(PARSE_SECONDS + 0.3)  # let the worker thread finish its step
            return code

    assert asyncio.run(scenario()) == grpc.StatusCode.DEADLINE_EXCEEDED
    assert parser.calls <= 1 and linker.calls == 0
    assert _sessions(store) == before


def test_server_maximum_applies_when_the_client_sets_no_deadline(
    parts: tuple[Pipeline, _SlowParser, _CountingLinker], store: GraphStore
) -> None:
    pipeline, parser, linker = parts
    before = _sessions(store)

    async def scenario() -> tuple[grpc.StatusCode, str, float]:
        async with serving(pipeline, max_request_seconds=0.1) as served:
            started = time.monotonic()
            try:
                await served.stub.Recommend(pb.RecommendRequest(message="boots"))
            except grpc.aio.AioRpcError as e:
                return e.code(), e.details() or "", time.monotonic() - started
            return grpc.StatusCode.OK, "", time.monotonic() - started

    code, details, elapsed = asyncio.run(scenario())
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED, details
    assert "did not finish in time" in details
    assert elapsed < PARSE_SECONDS + 1.0  # answered after the running step, not the whole turn
    assert parser.calls == 1 and linker.calls == 0
    assert _sessions(store) == before


def test_guarded_store_checks_the_deadline_before_each_graph_call(store: GraphStore) -> None:
    calls: list[str] = []

    class _Spy:
        graph_name = "spy"

        def stats(self) -> str:
            calls.append("stats")
            return "ok"

        def save_session_state(self, *args: object) -> str:
            calls.append("save")
            return "saved"

    guarded = DeadlineGuardedStore(_Spy())
    assert guarded.graph_name == "spy"  # plain attributes pass through
    assert _in_context(None, guarded.stats) == "ok"  # no deadline: a pass-through
    assert _in_context(time.monotonic() + 10, guarded.stats) == "ok"
    with pytest.raises(DeadlineExceededError, match=r"before store\.stats"):
        _in_context(time.monotonic() - 0.001, guarded.stats)
    assert calls == ["stats", "stats"]  # the expired call never reached the graph
    # writes pass: the pipeline checks once before them, so none stops half-way
    assert _in_context(time.monotonic() - 0.001, guarded.save_session_state, "s") == "saved"
    # around the real store it forwards unchanged
    real = DeadlineGuardedStore(store)
    assert real.stats().nodes["Product"] == 5
