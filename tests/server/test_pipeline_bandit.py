"""The learning re-ranker in the pipeline, on a real embedded graph: clicks on the items a
signal favours move later rankings towards that signal ("linucb"); "off" keeps the blend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from server_fakes import NoLinker, RecommendParser

from kg import EmbeddedFalkorDB, open_store
from kg.store import GraphStore
from kg.types import Candidate, SessionRecord
from kgrec.domain import EventType, FeedbackEvent, Recommendation, RecommendQuery
from models.dialogue import DialogueState
from models.explain import make_explainer
from models.feedback.bandit import state_path
from models.scoring import ItemScorer, NewItem, ScoringContext
from models.scoring.blend import blend
from server.pipeline import Pipeline, PipelineConfig
from server.session_merge import merge_states
from server.turn import Turn

N = 20  # products p0..p19; the model prefers higher numbers


class _Scorer(ItemScorer):
    """Scores item ``p<i>`` as ``i``: the blend's "model" signal ranks p19 first."""

    kind = "fixed"

    def __init__(self, version: str = "fixed-v1") -> None:
        self._version = version

    @property
    def item_ids(self) -> list[str]:
        return [f"p{i}" for i in range(N)]

    @property
    def version(self) -> str:
        return self._version

    def catalog_scores(self, ctx: ScoringContext) -> np.ndarray:
        return np.arange(N, dtype=np.float32)

    def add_item(self, item: NewItem) -> None:
        raise NotImplementedError

    def save(self, directory: Path) -> Path:
        raise NotImplementedError

    @classmethod
    def load(cls, directory: Path) -> _Scorer:
        raise NotImplementedError


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedFalkorDB]:
    db = EmbeddedFalkorDB(Path(tmp_path_factory.mktemp("bandit")) / "g").start()
    yield db
    db.stop()


@pytest.fixture
def store(server: EmbeddedFalkorDB, request: pytest.FixtureRequest) -> Iterator[GraphStore]:
    """A graph of its own per test: clicks count towards popularity, a blend signal."""
    st = open_store(server.uri, graph=f"bandit-{abs(hash(request.node.nodeid))}")
    st.init_schema()
    st.upsert_products([{"id": f"p{i}", "title": f"Item {i}", "price": 10.0 + i} for i in range(N)])
    yield st
    st.drop_all()
    st.close()


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _pipeline(
    store: GraphStore,
    policy: str,
    policy_dir: Path,
    scorer: ItemScorer | None = None,
    clock: _Clock | None = None,
) -> Pipeline:
    config = PipelineConfig(rerank_policy=policy, explore_top=N)
    linker: Any = NoLinker()  # link_best is all the pipeline asks of it here
    return Pipeline(
        store, RecommendParser(), linker, make_explainer(), scorer=scorer or _Scorer(),
        config=config, policy_dir=policy_dir, clock=clock or _Clock(),
    )  # fmt: skip


def _ids(rec: Recommendation) -> list[int]:
    return [int(i.item_id[1:]) for i in rec.items]


def _shop(pipe: Pipeline, sessions: int) -> None:
    """Shoppers who want the cheap end of the catalogue: each turn, a click on the
    lowest-numbered item shown (the model's least favourite), then "more"."""
    for _ in range(sessions):
        sid = ""
        for _ in range(2):
            rec = pipe.recommend_sync(RecommendQuery(message="show me", session_id=sid, limit=5))
            sid = rec.session_id
            pipe.feedback_sync(FeedbackEvent("", sid, f"p{min(_ids(rec))}", EventType.CLICK))


def _session_rows(pipe: Pipeline, session_id: str) -> list[str]:
    return DialogueState.from_json(pipe.sessions.open(session_id, "").state).policy_rows


@pytest.mark.parametrize("name", ["linucb", "thompson"])
def test_clicks_teach_the_bandit_which_signal_to_trust(
    store: GraphStore, tmp_path: Path, name: str
) -> None:
    pipe = _pipeline(store, name, tmp_path)
    probe = RecommendQuery(message="show me", limit=5, explore=False)
    before = pipe.recommend_sync(probe)
    assert _ids(before) == [19, 18, 17, 16, 15]  # untrained: the blend's order
    _shop(pipe, 30)
    policy = pipe.learning.ranking_policy(pipe.scorer)
    assert policy is not None
    # each shown row learned from once: per session 5 + 1 (turn 1's five, turn 2's click)
    assert policy.n_updates == 30 * 6  # type: ignore[attr-defined]
    after = pipe.recommend_sync(probe)
    top = _ids(after)  # the model's favourites no longer lead
    assert top[0] < 10 and sum(i < 10 for i in top) >= 4, top
    scores = [i.score for i in after.items]
    assert scores != sorted(scores, reverse=True)  # not the blend's order
    # a click rewards its row once; a second positive event on the item adds nothing
    rec = pipe.recommend_sync(RecommendQuery(message="show me", limit=5))
    item = rec.items[0].item_id
    assert len(_session_rows(pipe, rec.session_id)) == 5
    pipe.feedback_sync(FeedbackEvent("", rec.session_id, item, EventType.CLICK))
    pipe.feedback_sync(FeedbackEvent("", rec.session_id, item, EventType.PURCHASE))
    assert policy.n_updates == 30 * 6 + 1  # type: ignore[attr-defined]
    assert len(_session_rows(pipe, rec.session_id)) == 4


def test_the_policy_state_persists_per_model_version(store: GraphStore, tmp_path: Path) -> None:
    clock = _Clock()
    pipe = _pipeline(store, "linucb", tmp_path, clock=clock)
    _shop(pipe, 10)
    saved = state_path(tmp_path, "linucb", "fixed-v1")
    assert not saved.exists()  # saved every policy_save_interval_s (60 s), not per event
    clock.now += 61
    _shop(pipe, 1)
    assert saved.exists()
    pipe.learning.save_policies()  # at shutdown: what was learned since
    probe = RecommendQuery(message="show me", limit=5, explore=False)
    trained = _ids(pipe.recommend_sync(probe))
    restarted = _pipeline(store, "linucb", tmp_path)
    assert _ids(restarted.recommend_sync(probe)) == trained
    other_model = _pipeline(store, "linucb", tmp_path, scorer=_Scorer("fixed-v2"))
    fresh = other_model.learning.ranking_policy(other_model.scorer)
    assert fresh is not None and fresh.n_updates == 0  # type: ignore[attr-defined]


def test_off_keeps_the_blend_order_and_learns_nothing(store: GraphStore, tmp_path: Path) -> None:
    pipe = _pipeline(store, "off", tmp_path)
    probe = RecommendQuery(message="show me", limit=5, explore=False)
    before = pipe.recommend_sync(probe)
    _shop(pipe, 10)
    after = pipe.recommend_sync(probe)
    assert pipe.learning.ranking_policy(pipe.scorer) is None
    for rec in (before, after):
        scores = [i.score for i in rec.items]
        assert scores == sorted(scores, reverse=True)
        assert _session_rows(pipe, rec.session_id) == []
    # clicks count towards popularity, a small blend term; the model's top five stay on top
    assert set(_ids(after)) == set(_ids(before)) == {15, 16, 17, 18, 19}
    pipe.learning.save_policies()
    assert list(tmp_path.iterdir()) == []


def test_pending_rows_merge_under_concurrent_writers() -> None:
    """A click that takes its row out and a turn that replaces the rows, racing on one
    session: whichever writes second, the merged state holds only the new turn's rows."""
    base = DialogueState()
    base.remember_policy_rows(["a", "b"], [[1.0] * 7, [0.0] * 7])
    clicked = DialogueState.from_json(base.to_json())
    assert clicked.take_policy_rows("a") == [[1.0] * 7]
    next_turn = DialogueState.from_json(base.to_json())
    assert len(next_turn.take_policy_rows()) == 2
    next_turn.remember_policy_rows(["a", "c"], [[0.5] * 7, [0.25] * 7])
    want = next_turn.policy_rows
    for mine, theirs in ((clicked, next_turn), (next_turn, clicked)):
        merged = merge_states(base.to_json(), mine.to_json(), theirs.to_json())
        assert sorted(DialogueState.from_json(merged).policy_rows) == sorted(want)


def _turn(store: GraphStore, pipe: Pipeline, explore: bool | None, price_level: str = "") -> Turn:
    """A turn at the score step: the blend's ranking of the 20 products (model signal only)."""
    cands = [Candidate(p) for p in store.products([f"p{i}" for i in range(N)])]
    state = DialogueState(turn=2, price_level=price_level)
    query = RecommendQuery(message="x", limit=5, explore=explore)
    turn = Turn(query, SessionRecord("s", "", 0.0, 0.0), state, scorer=pipe.scorer)
    turn.scored = blend(cands, limit=N, model=[float(i) for i in range(N)])
    return turn


def test_rerank_explores_unless_told_not_to_and_keeps_a_price_order(
    store: GraphStore, tmp_path: Path
) -> None:
    pipe = _pipeline(store, "thompson", tmp_path)
    policy = pipe.learning.ranking_policy(pipe.scorer)
    assert policy is not None
    blended = [s.candidate.product.id for s in _turn(store, pipe, None).scored]
    orders = set()
    for explore in (False, False, None, None, None, None):
        turn = _turn(store, pipe, explore)
        pipe.learning.rerank(turn)
        orders.add((explore, tuple(s.candidate.product.id for s in turn.scored)))
    exploit = {o for e, o in orders if e is False}
    assert exploit == {tuple(blended)}  # untrained, not exploring: the blend's order
    assert len({o for e, o in orders if e is None}) > 1  # exploring: posterior draws differ
    cheap = _turn(store, pipe, None, price_level="low")
    before = [s.candidate.product.id for s in cheap.scored]
    pipe.learning.rerank(cheap)
    assert [s.candidate.product.id for s in cheap.scored] == before


@pytest.mark.slow
def test_kgrec_serve_keeps_the_bandit_next_to_the_model_and_saves_it_at_shutdown(
    tmp_path: Path,
) -> None:
    from server.serve import build_runtime
    from server.settings import Settings

    settings = Settings().replace(
        data_dir=tmp_path, demo_products=300, demo_users=30, train_model=False,
        token_table=False, rerank_policy="linucb",
    )  # fmt: skip
    runtime = build_runtime(settings)
    try:
        pipe = runtime.pipeline
        assert pipe.learning.policy_dir == settings.models_path
        rec = pipe.recommend_sync(RecommendQuery(message="running shoes", limit=3))
        pipe.feedback_sync(FeedbackEvent("", rec.session_id, rec.items[1].item_id, EventType.CLICK))
        policy = pipe.learning.ranking_policy(pipe.scorer)
        assert policy is not None and policy.n_updates == 1  # type: ignore[attr-defined]
    finally:
        runtime.close()
    saved = state_path(settings.models_path, "linucb", pipe.model_version)
    assert saved.exists()
