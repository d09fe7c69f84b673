"""Pipeline session rules on a real embedded graph: new, continued, unknown and expired sessions,
and feedback that changes the next turn. Parser and linker are trivial: this is about state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from server_fakes import NoLinker, RecommendParser

from kg import EmbeddedFalkorDB, open_store
from kg.store import GraphStore
from kgrec.domain import EventType, FeedbackEvent, IntentType, RecommendQuery
from kgrec.errors import InvalidInputError, ItemNotFoundError, SessionNotFoundError
from models.explain import make_explainer
from models.intent import Intent, IntentParser
from models.scoring import ItemScorer, NewItem, ScoringContext
from server.pipeline import Pipeline, PipelineConfig


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
    return Pipeline(
        store, RecommendParser(), NoLinker(), make_explainer(), config=config, clock=clock
    )  # type: ignore[arg-type]


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


def test_a_first_turn_stores_its_session_in_one_write(
    pipeline: Pipeline, store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new session is created holding the first turn's state (one round trip, not a
    create and then a compare-and-set); a later turn writes over it as before."""
    writes: list[str] = []
    for name in ("create_session", "save_session_state"):
        real = getattr(store, name)
        monkeypatch.setattr(
            store,
            name,
            lambda *a, _real=real, _name=name, **k: writes.append(_name) or _real(*a, **k),
        )
    first = pipeline.recommend_sync(RecommendQuery(message="anything", limit=3))
    assert writes == ["create_session"]
    stored = store.get_session(first.session_id)
    assert stored is not None and stored.version == 1 and stored.state
    pipeline.recommend_sync(RecommendQuery(message="more", session_id=first.session_id))
    assert writes == ["create_session", "save_session_state"]
    stored = store.get_session(first.session_id)
    assert stored is not None and stored.version == 2


def test_feedback_stores_its_event_and_session_state_in_one_write(
    pipeline: Pipeline, store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Feedback call on a session is one store write (event and state together); a repeat
    of its idempotency key writes neither."""
    first = pipeline.recommend_sync(RecommendQuery(message="anything", limit=3))
    gone = first.items[0].item_id
    writes: list[str] = []
    for name in ("record_event", "record_event_with_state", "save_session_state"):
        real = getattr(store, name)
        monkeypatch.setattr(
            store,
            name,
            lambda *a, _real=real, _name=name, **k: writes.append(_name) or _real(*a, **k),
        )
    event = FeedbackEvent("", first.session_id, gone, EventType.DISMISS, idempotency_key="k1")
    assert not pipeline.feedback_sync(event).duplicate
    assert writes == ["record_event_with_state"]
    stored = store.get_session(first.session_id)
    assert stored is not None and stored.version == 2 and gone in stored.state
    assert pipeline.feedback_sync(event).duplicate
    assert store.get_session(first.session_id) == stored
    nxt = pipeline.recommend_sync(RecommendQuery(message="more", session_id=first.session_id))
    assert gone not in {i.item_id for i in nxt.items}


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
    replica = Pipeline(store, RecommendParser(), NoLinker(), make_explainer(), clock=clock)  # type: ignore[arg-type]
    second = replica.recommend_sync(
        RecommendQuery(message="x", limit=8, session_id=first.session_id)
    )
    assert first.items[0].item_id not in {i.item_id for i in second.items}


class _RecordingScorer(ItemScorer):
    """Prefers higher item numbers (p0..p7); records every context it is asked about."""

    kind = "recording"

    def __init__(self) -> None:
        self.contexts: list[ScoringContext] = []

    @property
    def item_ids(self) -> list[str]:
        return [f"p{i}" for i in range(8)]

    @property
    def version(self) -> str:
        return "recording"

    def catalog_scores(self, ctx: ScoringContext) -> np.ndarray:
        self.contexts.append(ctx)
        return np.arange(8, dtype=np.float32)

    def add_item(self, item: NewItem) -> None:
        raise NotImplementedError

    def save(self, directory: Path) -> Path:
        raise NotImplementedError

    @classmethod
    def load(cls, directory: Path) -> _RecordingScorer:
        raise NotImplementedError


def test_the_model_widens_a_small_pool_for_a_user_without_history(
    store: GraphStore, clock: _Clock
) -> None:
    """Without a user id or any constraint, the scorer's best items for the conversation join
    the graph's candidates; a dismissed item stays out."""
    scorer = _RecordingScorer()
    config = PipelineConfig(session_ttl_s=60.0, candidate_pool=2)
    pipe = Pipeline(
        store,
        RecommendParser(),
        NoLinker(),
        make_explainer(),
        scorer=scorer,
        config=config,
        clock=clock,
    )  # type: ignore[arg-type]
    first = pipe.recommend_sync(RecommendQuery(message="something nice", limit=3))
    # the graph's two candidates (by popularity) plus the scorer's two best
    assert [i.item_id for i in first.items][:2] == ["p7", "p6"]
    assert len(scorer.contexts) == 1  # one catalog vector per turn, for widening and ranking
    assert scorer.contexts[-1].user_id is None
    assert scorer.contexts[-1].text == "something nice"
    pipe.feedback_sync(FeedbackEvent("", first.session_id, "p7", EventType.DISMISS))
    second = pipe.recommend_sync(
        RecommendQuery(message="more", limit=3, session_id=first.session_id)
    )
    shown_first = {i.item_id for i in first.items}
    # what the first turn showed and the shopper passed over ranks below what is new
    assert second.items[0].item_id not in shown_first
    assert {"p6", "p5"} <= {i.item_id for i in second.items}
    assert "p7" not in {i.item_id for i in second.items}
    # the scorer reads the session's recent messages, newest first, not only this one
    assert scorer.contexts[-1].text == "more\nsomething nice"


class _StartOverParser(IntentParser):
    def parse(self, message: str, *, previous: Intent | None = None) -> Intent:
        return Intent(type=IntentType.RECOMMEND, clear_constraints="start over" in message)


def test_start_over_forgets_the_earlier_messages(store: GraphStore, clock: _Clock) -> None:
    scorer = _RecordingScorer()
    pipe = Pipeline(
        store, _StartOverParser(), NoLinker(), make_explainer(), scorer=scorer, clock=clock
    )  # type: ignore[arg-type]
    first = pipe.recommend_sync(RecommendQuery(message="something scary"))
    sid = first.session_id
    pipe.recommend_sync(RecommendQuery(message="from the 80s", session_id=sid))
    assert scorer.contexts[-1].text == "from the 80s\nsomething scary"
    pipe.recommend_sync(RecommendQuery(message="start over: a comedy", session_id=sid))
    assert scorer.contexts[-1].text == "start over: a comedy"


def test_no_widening_when_the_graph_must_check_a_filter() -> None:
    from kg.types import CandidateQuery, PriceRange

    assert not CandidateQuery().has_hard_constraints
    for query in (
        CandidateQuery(exclude_brand_ids=("brand:nike",)),
        CandidateQuery(exclude_category_ids=("cat:shoes",)),
        CandidateQuery(exclude_attribute_ids=("attr:red",)),
        CandidateQuery(brand_ids=("brand:nike",)),
        CandidateQuery(price=PriceRange(None, 100.0)),
    ):
        assert query.has_hard_constraints


def test_unknown_filter_category_is_invalid_before_a_session_opens(
    store: GraphStore, clock: _Clock
) -> None:
    from kg.types import LexiconEntry
    from kgrec.domain import Filters

    shoes = LexiconEntry("cat:shoes", "Category", "Shoes", "shoes")
    pipe = Pipeline(
        store, RecommendParser(), NoLinker(), make_explainer(), clock=clock, lexicon=[shoes]
    )  # type: ignore[arg-type]
    sessions = store.stats().nodes.get("Session", 0)
    with pytest.raises(InvalidInputError) as exc:
        pipe.recommend_sync(
            RecommendQuery(message="shoes", filters=Filters(category_ids=("category:shoes",)))
        )
    assert exc.value.field == "filters.category_ids"
    assert "did you mean 'cat:shoes'" in exc.value.message
    assert store.stats().nodes.get("Session", 0) == sessions
    ok = pipe.recommend_sync(
        RecommendQuery(message="shoes", filters=Filters(category_ids=("cat:shoes",)))
    )
    assert ok.session_id
    assert store.stats().nodes.get("Session", 0) == sessions + 1  # the count does see sessions


def test_a_turn_with_new_evidence_is_not_ranked_below_what_it_showed_before(
    store: GraphStore, clock: _Clock
) -> None:
    """The shown-items penalty is for "more" and critiques: a turn whose request names the
    items the conversation now refers to (``context_item_ids``) ranks by the scorer alone,
    even what an earlier turn showed (issue 13's served-vs-offline gap)."""
    config = PipelineConfig(session_ttl_s=60.0, candidate_pool=4)
    pipe = Pipeline(
        store, RecommendParser(), NoLinker(), make_explainer(), scorer=_RecordingScorer(),
        config=config, clock=clock,
    )  # type: ignore[arg-type]  # fmt: skip

    def second_turn(**query: object) -> list[str]:
        first = pipe.recommend_sync(RecommendQuery(message="something nice", limit=3))
        assert [i.item_id for i in first.items] == ["p7", "p6", "p5"]
        sid = first.session_id
        later = pipe.recommend_sync(RecommendQuery(limit=3, session_id=sid, **query))  # type: ignore[arg-type]
        return [i.item_id for i in later.items]

    assert second_turn(message="more") != ["p7", "p6", "p5"]  # the unseen p4 moves up
    assert second_turn(message="", context_item_ids=("p0",)) == ["p7", "p6", "p5"]


def test_with_demote_shown_off_more_ranks_as_if_nothing_was_shown(
    store: GraphStore, clock: _Clock
) -> None:
    """``demote_shown`` off (a client that does not display every list, or a replay of logged
    conversations): "more" ranks the same items as the first turn did."""

    def after_more(demote_shown: bool) -> list[str]:
        config = PipelineConfig(session_ttl_s=60.0, candidate_pool=4, demote_shown=demote_shown)
        pipe = Pipeline(
            store, RecommendParser(), NoLinker(), make_explainer(), scorer=_RecordingScorer(),
            config=config, clock=clock,
        )  # type: ignore[arg-type]  # fmt: skip
        first = pipe.recommend_sync(RecommendQuery(message="something nice", limit=3))
        assert [i.item_id for i in first.items] == ["p7", "p6", "p5"]
        more = RecommendQuery(message="more", limit=3, session_id=first.session_id)
        return [i.item_id for i in pipe.recommend_sync(more).items]

    assert after_more(demote_shown=True) != ["p7", "p6", "p5"]
    assert after_more(demote_shown=False) == ["p7", "p6", "p5"]
