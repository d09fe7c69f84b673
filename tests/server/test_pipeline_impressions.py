"""Exploration and the impression log in the served pipeline (real embedded graph; trivial
parser and linker): the shown slate, its logged propensities, outcomes joined to it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from server_fakes import NoLinker, RecommendParser

from kg import EmbeddedFalkorDB, open_store
from kg.store import GraphStore
from kgrec.cli import main
from kgrec.domain import EventType, FeedbackEvent, RecommendQuery
from models.explain import make_explainer
from models.feedback import SIGNALS
from models.feedback.impressions import logged_turns, read_log
from server.impression_log import ImpressionLog
from server.pipeline import Pipeline, PipelineConfig

N_PRODUCTS = 30
#: the blend's order without a model or popularity: ties by id
RANKING = sorted(f"p{i}" for i in range(N_PRODUCTS))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    server = EmbeddedFalkorDB(Path(tmp_path_factory.mktemp("imp")) / "g").start()
    st = open_store(server.uri, graph="impressions")
    st.init_schema()
    st.upsert_products([{"id": f"p{i}", "title": f"Item {i}"} for i in range(N_PRODUCTS)])
    yield st
    st.drop_all()
    st.close()
    server.stop()


def _pipeline(store: GraphStore, log_dir: Path | None, **config: object) -> Pipeline:
    log = ImpressionLog(log_dir) if log_dir is not None else None
    return Pipeline(
        store, RecommendParser(), NoLinker(), make_explainer(),  # type: ignore[arg-type]
        config=PipelineConfig(**config), impressions=log,  # type: ignore[arg-type]
    )  # fmt: skip


def _shown(rec) -> list[str]:
    return [i.item_id for i in rec.items]


def test_without_exploration_the_top_limit_is_shown_and_logged(
    store: GraphStore, tmp_path: Path
) -> None:
    pipe = _pipeline(store, tmp_path, explore_rate=0.0, explore_top=20)
    rec = pipe.recommend_sync(RecommendQuery(message="x", user_id="alice", limit=5))
    assert _shown(rec) == RANKING[:5]
    pipe.close()
    (imp,), _ = read_log(tmp_path)
    assert imp.session_id == rec.session_id and imp.turn == 1 and imp.policy == "off"
    assert imp.user.startswith("u-") and "alice" not in imp.user
    assert imp.candidates == tuple(RANKING[:20])  # the best max(limit, explore_top)
    assert imp.shown_ids == tuple(RANKING[:5])
    assert imp.propensities == (1.0,) * 5 and not imp.explored and imp.rate == 0.0
    assert imp.signals == SIGNALS and len(imp.features) == 20
    assert all(len(row) == len(SIGNALS) for row in imp.features)


def test_a_request_that_says_explore_false_never_explores(store: GraphStore, tmp_path: Path):
    pipe = _pipeline(store, tmp_path, explore_rate=1.0, explore_top=20)
    for _ in range(5):
        rec = pipe.recommend_sync(RecommendQuery(message="x", limit=5, explore=False))
        assert _shown(rec) == RANKING[:5]
    pipe.close()
    impressions, _ = read_log(tmp_path)
    assert all(i.rate == 0.0 and i.propensities == (1.0,) * 5 for i in impressions)


def test_exploring_turns_draw_from_the_best_explore_top(store: GraphStore, tmp_path: Path):
    def slates(seed: int, log_dir: Path | None) -> list[list[str]]:
        pipe = _pipeline(store, log_dir, explore_rate=1.0, explore_top=10, seed=seed)
        out = [_shown(pipe.recommend_sync(RecommendQuery(message="x", limit=4))) for _ in range(12)]
        pipe.close()
        return out

    drawn = slates(3, tmp_path)
    assert all(set(s) <= set(RANKING[:10]) and len(set(s)) == 4 for s in drawn)
    assert len({tuple(s) for s in drawn}) > 6
    assert slates(3, None) == drawn  # the same seed draws the same slates
    assert slates(4, None) != drawn
    impressions, _ = read_log(tmp_path)
    assert [list(i.shown_ids) for i in impressions] == drawn
    for imp in impressions:
        assert imp.explored and imp.pool == 10
        assert imp.propensities == pytest.approx((0.1,) * 4)


def test_no_log_no_files(store: GraphStore, tmp_path: Path) -> None:
    pipe = _pipeline(store, None, explore_rate=0.0)
    assert len(pipe.recommend_sync(RecommendQuery(message="x", limit=3)).items) == 3
    pipe.close()
    assert list(tmp_path.iterdir()) == []


def test_feedback_outcomes_are_logged_and_joined_to_the_turn(
    store: GraphStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Last in the file: the click raises an item's popularity, so the ranking changes."""
    pipe = _pipeline(store, tmp_path, explore_rate=0.5, explore_top=8)
    first = pipe.recommend_sync(RecommendQuery(message="x", user_id="bob", limit=4))
    clicked = first.items[2].item_id
    event = FeedbackEvent("bob", first.session_id, clicked, EventType.CLICK, idempotency_key="k")
    pipe.feedback_sync(event)
    pipe.feedback_sync(event)  # a retry: recorded once, logged once
    pipe.recommend_sync(
        RecommendQuery(message="y", user_id="bob", limit=4, session_id=first.session_id)
    )
    pipe.close()
    impressions, outcomes = read_log(tmp_path)
    assert len(impressions) == 2 and [i.turn for i in impressions] == [1, 2]
    (outcome,) = outcomes
    assert (outcome.session_id, outcome.item_id, outcome.event_type) == (
        first.session_id, clicked, "click",
    )  # fmt: skip
    assert outcome.user == impressions[0].user
    turn1, turn2 = logged_turns(impressions, outcomes)
    assert turn1.rewards.tolist() == [0.0, 0.0, 1.0, 0.0] and turn2.rewards.sum() == 0
    for imp in impressions:  # the mixture's marginal: (1 - 0.5) [deterministic] + 0.5 / 8
        for k, j in enumerate(imp.shown):
            assert imp.propensities[k] == pytest.approx(0.5 * (j == k) + 0.5 / 8)
    # the served log is what kgrec evaluate --policy reads
    argv = ["evaluate", "--policy", "off", "--impressions", str(tmp_path), "--json"]
    assert main([*argv, "--bootstrap", "20"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["turns"], report["impressions"], report["clicks"]) == (2, 8, 1)
    assert report["logged"]["value"] == 1 / 8 and report["unsupported"] == 0.0


def test_a_price_order_is_never_shuffled(store: GraphStore) -> None:
    """A "cheap" request's order is the shopper's: an exploring server keeps it."""
    from kg.types import Candidate, ProductRecord, SessionRecord
    from models.dialogue import DialogueState
    from models.scoring.blend import ScoredCandidate
    from server.turn import Turn

    pipe = _pipeline(store, None, explore_rate=1.0, explore_top=10)
    ranked = [
        ScoredCandidate(Candidate(ProductRecord(id=f"p{i}", title="t")), -i) for i in range(20)
    ]
    for level, fixed in (("low", True), ("", False)):
        shown = set()
        for _ in range(10):
            turn = Turn(
                RecommendQuery(message="x", limit=4), SessionRecord("s", "", 0.0, 0.0),
                DialogueState(price_level=level), scored=list(ranked),
            )  # fmt: skip
            pipe.learning.show(turn)
            shown.add(tuple(s.candidate.product.id for s in turn.scored))
        assert (shown == {("p0", "p1", "p2", "p3")}) is fixed


def test_a_re_ranked_turn_logs_the_policy_and_its_order(store: GraphStore, tmp_path: Path):
    pipe = _pipeline(store, tmp_path, rerank_policy="linucb", explore_rate=0.0, explore_top=10)
    rec = pipe.recommend_sync(RecommendQuery(message="x", user_id="ann", limit=4, explore=False))
    pipe.close()
    (imp,), _ = read_log(tmp_path)
    assert imp.policy == "linucb" and imp.shown_ids == tuple(_shown(rec))
    assert tuple(imp.candidates[j] for j in imp.order[:4]) == tuple(_shown(rec))
    assert sorted(imp.order) == list(range(len(imp.candidates)))


@pytest.mark.parametrize(
    ("config", "request_explore", "whole"),
    [
        ({"explore_rate": 0.0}, None, 5),  # the defaults: the top `limit` is what is shown
        ({"explore_rate": 1.0}, False, 5),  # the request says no exploration
        ({"explore_rate": 1.0}, None, 20),  # a draw may reach the best explore_top
        ({"explore_rate": 0.0, "rerank_policy": "linucb"}, None, 20),  # a policy re-orders
    ],
)
def test_whole_records_are_read_for_what_can_be_shown(
    store: GraphStore,
    monkeypatch: pytest.MonkeyPatch,
    config: dict[str, object],
    request_explore: bool | None,
    whole: int,
) -> None:
    asked: list[int] = []
    complete = store.complete

    def counting(records):  # type: ignore[no-untyped-def]
        asked.append(len(records))
        return complete(records)

    monkeypatch.setattr(store, "complete", counting)
    pipe = _pipeline(store, None, explore_top=20, **config)
    rec = pipe.recommend_sync(RecommendQuery(message="x", limit=5, explore=request_explore))
    pipe.close()
    assert asked == [whole]
    assert len(rec.items) == 5 and all(i.title for i in rec.items)
