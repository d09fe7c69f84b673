"""Property-based hostile input (``hypothesis``) over every field of Recommend, RecommendStream
and Feedback, against a real in-process server: the served pipeline (``build_pipeline``: the
embedded intent parser, the entity linker, the template explainer) over a small demo catalog
in a real embedded graph.

Every call must end in a status the API documents for bad input (OK, INVALID_ARGUMENT or
NOT_FOUND; never INTERNAL or UNKNOWN), the server must keep answering, an answer must respect
the request (at most ``limit`` items, no user in any path), and the catalog (counts and a hash
of every product's id, title, price, brand and category) must be exactly what it was.

The bounded stress version against ``kgrec serve`` is ``python -m bench.fuzz``.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bench.fuzz import catalog_fingerprint
from bench.hostile_requests import (
    CYPHER_FRAGMENTS,
    JSON_FRAGMENTS,
    ODD_CHARACTERS,
    PROMPT_INJECTIONS,
    REAL_IDS,
    SHOPPER_WORDS,
    passable_feedback,
    passable_recommend,
    passable_text,
)
from kg import EmbeddedFalkorDB, open_store
from kg.demo import load_demo
from kg.store import GraphStore
from kgrec.v1 import recommender_pb2 as pb
from kgrec.v1 import recommender_pb2_grpc as pb_grpc
from server.app import RunningServer, start_server
from server.builder import build_pipeline
from server.deadline import DeadlineGuardedStore
from server.settings import Settings

pytestmark = pytest.mark.slow  # ~1 min: a real pipeline and a few hundred turns

OK = grpc.StatusCode.OK
REFUSALS = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND}
FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,  # nothing written to the work tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass
class Live:
    stub: pb_grpc.RecommenderServiceStub
    channel: grpc.Channel
    store: GraphStore
    catalog: dict[str, object]
    session: tuple[str, str]  # a real session id and its owner


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    data_dir = Path(tmp_path_factory.mktemp("fuzz"))
    db = EmbeddedFalkorDB(data_dir / "g").start()
    store = open_store(db.uri, graph="fuzz")
    store.init_schema()
    load_demo(store, data_dir, seed=3, n_products=120, n_users=30, progress=False)
    config = Settings(port=0, data_dir=data_dir)
    pipeline = build_pipeline(config, DeadlineGuardedStore(store), None)  # type: ignore[arg-type]
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fuzz-server", daemon=True)
    thread.start()
    running: RunningServer = asyncio.run_coroutine_threadsafe(
        start_server(config, pipeline), loop
    ).result(60)
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    stub = pb_grpc.RecommenderServiceStub(channel)
    first = stub.Recommend(pb.RecommendRequest(user_id="user:owner", message="shoes"), timeout=60)
    try:
        session = (first.session_id, "user:owner")
        yield Live(stub, channel, store, catalog_fingerprint(store), session)
    finally:
        channel.close()
        asyncio.run_coroutine_threadsafe(running.stop(0), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        store.close()
        db.stop()


# -- strategies: every field, hostile ---------------------------------------------------------

#: Any text a client can send (protobuf strings are UTF-8: no lone surrogates).
any_text = st.text(st.characters(codec="utf-8"), max_size=300)
fragments = st.sampled_from(
    SHOPPER_WORDS + CYPHER_FRAGMENTS + JSON_FRAGMENTS + PROMPT_INJECTIONS + ODD_CHARACTERS
)
hostile_text = st.one_of(
    any_text,
    st.lists(st.one_of(fragments, any_text), min_size=1, max_size=6).map(" ".join),
    st.integers(1990, 2100).map(lambda n: "x" * n),  # around the 2,000-character limit
)
hostile_id = st.one_of(
    st.sampled_from(REAL_IDS),
    st.text(max_size=20),
    any_text,
    st.integers(250, 260).map(lambda n: "p" * n),
    st.sampled_from(("", " prod:000001", "prod:000001 ", "a\tb", "x" * 257)),
)
hostile_ids = st.one_of(
    st.lists(hostile_id, max_size=8),
    st.integers(999, 1001).map(lambda n: [f"prod:{i:06d}" for i in range(n)]),
)
hostile_float = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from((math.nan, math.inf, -math.inf, 1e300, -0.0, 5e-324, 1e6, 1e6 + 1)),
)
hostile_int32 = st.integers(-(2**31), 2**31 - 1)


@st.composite
def recommend_requests(draw: st.DrawFn, live_session: tuple[str, str]) -> pb.RecommendRequest:
    session_id, owner = live_session
    # a new conversation, the real one (its owner's or not), or a made-up id
    session = draw(st.one_of(st.just(""), st.just(""), st.just(session_id), hostile_id))
    user = draw(st.one_of(st.just(""), st.just(owner), hostile_id))
    req = pb.RecommendRequest(user_id=user, session_id=session, message=draw(hostile_text))
    if draw(st.booleans()):
        req.limit = draw(st.one_of(hostile_int32, st.integers(-1, 101)))
    if draw(st.booleans()):
        req.explain = draw(st.booleans())
    if draw(st.booleans()):
        if draw(st.booleans()):
            req.filters.min_price = draw(hostile_float)
        if draw(st.booleans()):
            req.filters.max_price = draw(hostile_float)
        req.filters.category_ids.extend(
            draw(st.one_of(hostile_ids, st.sampled_from([["cat:shoes"], ["cat:running-shoes"]])))
        )
        req.filters.excluded_item_ids.extend(draw(hostile_ids))
    req.context_item_ids.extend(draw(hostile_ids))
    if draw(st.booleans()):  # half are moved inside the rules: the content reaches the pipeline
        return passable_recommend(req, draw(st.randoms(use_true_random=False)))
    return req


@st.composite
def feedback_requests(draw: st.DrawFn, live_session: tuple[str, str]) -> pb.FeedbackRequest:
    session_id, owner = live_session
    req = pb.FeedbackRequest(
        user_id=draw(st.one_of(st.just(""), st.just(owner), hostile_id)),
        session_id=draw(st.one_of(st.just(""), st.just(""), st.just(session_id), hostile_id)),
        item_id=draw(st.one_of(st.sampled_from(("prod:000001", "prod:000007")), hostile_id)),
        event_type=draw(st.one_of(st.integers(0, 9), hostile_int32)),  # type: ignore[arg-type]
        value=draw(st.one_of(hostile_float, st.floats(0, 5))),
        idempotency_key=draw(st.one_of(st.just(""), hostile_id, st.text(min_size=120))),
    )
    if draw(st.booleans()):
        seconds = draw(st.integers(-(2**63), 2**63 - 1) | st.integers(0, 2_000_000_000))
        nanos = draw(st.integers(-(2**31), 2**31 - 1) | st.integers(0, 999_999_999))
        req.client_time.CopyFrom(Timestamp(seconds=seconds, nanos=nanos))
    if draw(st.booleans()):  # half are moved inside the rules: they reach the graph
        return passable_feedback(req, draw(st.randoms(use_true_random=False)))
    return req


# -- the properties ---------------------------------------------------------------------------


def _status(call: object) -> tuple[grpc.StatusCode, str]:
    try:
        call()  # type: ignore[operator]
    except grpc.RpcError as e:
        return e.code(), e.details() or ""  # type: ignore[attr-defined]
    return OK, ""


def _check_answer(req: pb.RecommendRequest, resp: pb.RecommendResponse) -> None:
    limit = req.limit if req.HasField("limit") else 10
    assert len(resp.items) <= limit
    assert resp.session_id
    excluded = set(req.filters.excluded_item_ids)
    for item in resp.items:
        assert item.item_id not in excluded
        for reason in item.reasons:
            assert all(node.label not in ("User", "Session") for node in reason.path.nodes)


def _recommend_both(live: Live, req: pb.RecommendRequest) -> list[grpc.StatusCode]:
    codes = []
    answer: list[pb.RecommendResponse] = []

    def unary() -> None:
        answer.append(live.stub.Recommend(req, timeout=60))

    code, details = _status(unary)
    event(f"Recommend {code.name}")  # the spread shows with --hypothesis-show-statistics
    assert code == OK or code in REFUSALS, f"Recommend {code.name}: {details}\n{req!r}"[:3000]
    if answer:
        _check_answer(req, answer[0])
    codes.append(code)
    code, details = _status(lambda: list(live.stub.RecommendStream(req, timeout=60)))
    assert code == OK or code in REFUSALS, f"RecommendStream {code.name}: {details}"
    codes.append(code)
    return codes


@FUZZ
@given(data=st.data())
def test_hostile_recommend_requests_get_a_correct_status_and_leave_the_catalog(
    live: Live, data: st.DataObject
) -> None:
    req = data.draw(recommend_requests(live.session))
    _recommend_both(live, req)
    assert catalog_fingerprint(live.store) == live.catalog


@FUZZ
@given(data=st.data())
def test_hostile_feedback_requests_get_a_correct_status(live: Live, data: st.DataObject) -> None:
    req = data.draw(feedback_requests(live.session))
    code, details = _status(lambda: live.stub.Feedback(req, timeout=60))
    event(f"Feedback {code.name}")
    assert code == OK or code in REFUSALS, f"Feedback {code.name}: {details}\n{req!r}"[:3000]
    assert catalog_fingerprint(live.store) == live.catalog


@settings(FUZZ, max_examples=25)
@given(parts=st.lists(st.one_of(fragments, any_text), min_size=1, max_size=6))
def test_injection_text_that_passes_validation_is_answered_not_obeyed(
    live: Live, parts: list[str]
) -> None:
    """Cypher, JSON and prompt-injection text within the message rules is a normal turn: an
    answer (not a refusal), from the catalog as it was."""
    message = passable_text(" ".join(parts))
    if not message.strip():
        message = "shoes " + message
    req = pb.RecommendRequest(message=message, limit=5)
    assert _recommend_both(live, req) == [OK, OK]
    assert catalog_fingerprint(live.store) == live.catalog


@settings(FUZZ, max_examples=30)
@given(
    method=st.sampled_from(("Recommend", "RecommendStream", "Feedback")),
    raw=st.one_of(
        st.binary(max_size=300),
        # a valid field tag followed by bytes that are not UTF-8, or a truncated varint
        st.binary(min_size=1, max_size=20).map(lambda b: b"\x1a" + bytes([len(b)]) + b),
        st.just(b"\x08" + b"\x80" * 10 + b"\x01"),
    ),
)
def test_bytes_that_are_not_a_valid_request_are_invalid_argument(
    live: Live, method: str, raw: bytes
) -> None:
    """What arrives on the wire need not parse at all: still a documented status."""
    path = f"/kgrec.v1.RecommenderService/{method}"
    identity = bytes
    if method == "RecommendStream":
        call = live.channel.unary_stream(path, identity, identity)

        def send() -> object:
            return list(call(raw, timeout=60))
    else:
        unary = live.channel.unary_unary(path, identity, identity)

        def send() -> object:
            return unary(raw, timeout=60)

    code, details = _status(send)
    event(f"{method} {code.name}")
    assert code == OK or code in REFUSALS, f"{method} {code.name}: {details} <- {raw!r}"


def test_the_server_still_answers_a_plain_turn(live: Live) -> None:
    """Runs after the properties (file order): nothing above wedged or crashed the server."""
    resp = live.stub.Recommend(
        pb.RecommendRequest(message="red running shoes", limit=3), timeout=60
    )
    assert 1 <= len(resp.items) <= 3
    assert catalog_fingerprint(live.store) == live.catalog
