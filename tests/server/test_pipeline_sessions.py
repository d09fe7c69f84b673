"""Pipeline session rules on a real embedded graph: new, continued, unknown and expired sessions,
and feedback that changes the next turn. Parser and linker are trivial: this is about state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kg import EmbeddedFalkorDB, open_store
from kg.store import GraphStore
from kgrec.domain import EventType, FeedbackEvent, IntentType, RecommendQuery
from kgrec.errors import InvalidInputError, ItemNotFoundError, SessionNotFoundError
from models.explain import make_explainer
from models.intent import Intent, IntentParser
from server.pipeline import Pipeline, PipelineConfig


class _Parser(IntentParser):
    def parse(self, message: str, *, previous: Intent | None = None) -> Intent:
        return Intent(type=IntentType.RECOMMEND)


class _Linker:
    def link_best(self, mention: str, label_hint: str | None = None) -> None:
        return None


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    server = EmbeddedFalkorDB(Path(tmp_path_factory.mktemp("pipe")) / "g").start()
    st = open_store(server.uri, graph="pipeline")
    st.init_schema()
    st.upsert_products([{"id": f"p{i}", "title": f"Item {i}", "price": 10.0 + i} for i in range(8)])
    yield st
    st.drop_all()
    st.close()
    server.stop()


@pytest.fixture
def clock() -> _Clock:
    return _Clock()


@pytest.fixture
def pipeline(store: GraphStore, clock: _Clock) -> Pipeline:
    config = PipelineConfig(session_ttl_s=60.0)
    return Pipeline(store, _Parser(), _Linker(), make_explainer(), config=config, clock=clock)  # type: ignore[arg-type]


def test_a_session_continues_until_its_ttl_runs_out(pipeline: Pipeline, clock: _Clock) -> None:
    first = pipeline.recommend_sync(RecommendQuery(message="anything", limit=3))
    clock.now += 59
    again = pipeline.recommend_sync(RecommendQuery(message="more", session_id=first.session_id))
    assert again.session_id == first.session_id
    clock.now += 61  # idle past the TTL since the last turn
    with pytest.raises(SessionNotFoundError):
        pipeline.recommend_sync(RecommendQuery(message="more", session_id=first.session_id))
    with pytest.raises(SessionNotFoundError):
        pipeline.feedback_sync(FeedbackEvent("", first.session_id, "p1", EventType.CLICK))


def test_unknown_session_and_unknown_item(pipeline: Pipeline) -> None:
    with pytest.raises(SessionNotFoundError):
        pipeline.recommend_sync(RecommendQuery(message="x", session_id="nope"))
    with pytest.raises(ItemNotFoundError):
        pipeline.feedback_sync(FeedbackEvent("u1", "", "no-such-item", EventType.CLICK))
    with pytest.raises(InvalidInputError, match="user_id"):
        pipeline.feedback_sync(FeedbackEvent("", "", "p1", EventType.CLICK))


def test_dislike_removes_the_item_from_the_next_turn(pipeline: Pipeline) -> None:
    first = pipeline.recommend_sync(RecommendQuery(message="x", limit=8))
    gone = first.items[0].item_id
    result = pipeline.feedback_sync(FeedbackEvent("", first.session_id, gone, EventType.DISLIKE))
    assert result.accepted and not result.duplicate
    second = pipeline.recommend_sync(
        RecommendQuery(message="x", limit=8, session_id=first.session_id)
    )
    assert gone not in {i.item_id for i in second.items}
    assert len(second.items) == len(first.items) - 1


def test_state_survives_a_second_pipeline_on_the_same_graph(
    pipeline: Pipeline, store: GraphStore, clock: _Clock
) -> None:
    """Any replica can continue a session: the state lives in the graph store."""
    first = pipeline.recommend_sync(RecommendQuery(message="x", limit=8))
    pipeline.feedback_sync(
        FeedbackEvent("", first.session_id, first.items[0].item_id, EventType.DISMISS)
    )
    replica = Pipeline(store, _Parser(), _Linker(), make_explainer(), clock=clock)  # type: ignore[arg-type]
    second = replica.recommend_sync(
        RecommendQuery(message="x", limit=8, session_id=first.session_id)
    )
    assert first.items[0].item_id not in {i.item_id for i in second.items}
