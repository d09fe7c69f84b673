"""Feedback changes what comes next, through the real pipeline over the demo store and a small
GNN trained on it: a dislike hides the item and its near-duplicates on the next turn, a
purchase in one session moves the same user's next session towards the item's neighbours
(a user the model never saw), a rating moves the session in proportion to its value, and with
``adapt_session`` / ``adapt_profile`` off feedback changes nothing (a DISMISS still hides
its one item). Parser and linker are trivial: the message is the same every turn."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from server_fakes import NoLinker, RecommendParser

from kg import EmbeddedFalkorDB, open_store
from kg.demo import generate_demo
from kg.store import GraphStore
from kgrec.domain import EventType, FeedbackEvent, Recommendation, RecommendQuery
from models.config import EncoderConfig, TrainConfig
from models.data import RecDataset
from models.dialogue.adaptation import same_product_line
from models.explain import make_explainer
from models.scoring import GnnScorer, ScoringContext
from models.training import train
from server.pipeline import Pipeline, PipelineConfig

MESSAGE = "something for me"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    demo = generate_demo(seed=7, n_products=300, n_users=120)
    server = EmbeddedFalkorDB(Path(tmp_path_factory.mktemp("adapt")) / "g").start()
    st = open_store(server.uri, graph="adapt")
    st.init_schema()
    st.upsert_categories(demo.categories)
    st.upsert_brands(demo.brands)
    st.upsert_attributes(demo.attributes)
    st.upsert_products(demo.products)
    st.upsert_users(demo.users)
    st.add_interactions(demo.interactions)
    st.demo = demo  # type: ignore[attr-defined]
    yield st
    st.drop_all()
    st.close()
    server.stop()


@pytest.fixture(scope="module")
def scorer(store: GraphStore, tmp_path_factory: pytest.TempPathFactory) -> GnnScorer:
    demo = store.demo  # type: ignore[attr-defined]
    config = dataclasses.replace(
        TrainConfig.small(),
        encoder=EncoderConfig(use_text=False, use_image=False),
        epochs=12,
        max_seconds=20.0,
    )
    dataset = RecDataset.from_rows(demo.products, demo.interactions, [], image_root=None)
    path = train(dataset, config, tmp_path_factory.mktemp("model"), progress=False)
    return GnnScorer.load(path, device="cpu")


def _pipeline(store: GraphStore, scorer: GnnScorer, **config: object) -> Pipeline:
    cfg = PipelineConfig(**config)  # type: ignore[arg-type]
    return Pipeline(
        store, RecommendParser(), NoLinker(), make_explainer(), scorer=scorer, config=cfg
    )  # type: ignore[arg-type]


def _ask(pipe: Pipeline, user: str = "", session: str = "", limit: int = 10) -> list[str]:
    query = RecommendQuery(message=MESSAGE, user_id=user, session_id=session, limit=limit)
    return [i.item_id for i in pipe.recommend_sync(query).items]


def _turn(pipe: Pipeline, user: str = "", limit: int = 10) -> tuple[str, list[str]]:
    result = pipe.recommend_sync(RecommendQuery(message=MESSAGE, user_id=user, limit=limit))
    return result.session_id, [i.item_id for i in result.items]


def _send(
    pipe: Pipeline, user: str, session: str, item: str, kind: EventType, value: float = 0.0
) -> None:
    result = pipe.feedback_sync(FeedbackEvent(user, session, item, kind, value))
    assert result.accepted and not result.duplicate


def _closeness(scorer: GnnScorer, items: list[str], target: str) -> float:
    """Mean cosine of ``items`` to ``target`` in the model's item space."""
    vectors = scorer.item_vectors([*items, target])
    return float((vectors[:-1] @ vectors[-1]).mean())


def test_a_dislike_hides_the_item_and_its_near_duplicates_on_the_next_turn(
    store: GraphStore, scorer: GnnScorer
) -> None:
    store.warm(wait=True)
    # brief candidates from the snapshot: only those of the disliked item's brand read whole
    assert store.snapshot_size() == 300
    pipe = _pipeline(store, scorer)
    sid, first = _turn(pipe, "dislike-shopper", limit=40)
    products = {p.id: p for p in store.products(first)}
    # the first shown item with a near-duplicate (same brand, category and line) shown too
    pairs = [
        (a, b)
        for a in first
        for b in first
        if a != b and same_product_line(products[a], products[b])
    ]
    assert pairs, "the demo store shows no near-duplicates in 40 items: the test cannot fail"
    gone, twin = pairs[0]
    _send(pipe, "dislike-shopper", sid, gone, EventType.DISLIKE)
    second = _ask(pipe, "dislike-shopper", sid, limit=40)
    assert gone not in second
    assert twin not in second
    shown = store.products(second)
    assert not [p.id for p in shown if same_product_line(p, products[gone])]
    assert len(second) == 40  # the pool refilled, nothing else vanished
    # ... while the same dislike with adaptation off hides nothing
    off = _pipeline(store, scorer, adapt_session=False, adapt_profile=False)
    sid, _ = _turn(off, "dislike-shopper-off", limit=40)
    control, _ = _turn(off, "dislike-control", limit=40)
    _send(off, "dislike-shopper-off", sid, gone, EventType.DISLIKE)
    unchanged = _ask(off, "dislike-shopper-off", sid, limit=40)
    assert unchanged == _ask(off, "dislike-control", control, limit=40)
    assert gone in unchanged and twin in unchanged


def test_a_purchase_moves_the_users_next_session_towards_its_neighbours(
    store: GraphStore, scorer: GnnScorer
) -> None:
    """A user the model never saw: session 1 buys an item far from what they were shown;
    session 2 (new session, no feedback in it) moves towards it in the model's item space.
    (Such a user is scored as the trained users' mean plus their profile, so one purchase
    far from that mean shifts the slate rather than filling it with the item's neighbours:
    the feedback simulator measured the mean's prior worth more to shoppers than that.)"""
    pipe = _pipeline(store, scorer)
    user = "newcomer-who-buys"
    assert not scorer.has_user(user)
    sid, before = _turn(pipe, user)
    _, control = _turn(pipe, "newcomer-control")
    assert before == control  # an unknown user without events: the anonymous ranking
    # the item least like what was shown: its neighbours are not there yet
    catalog = scorer.item_ids
    closeness = [(_closeness(scorer, before, item), item) for item in catalog]
    bought = min(closeness)[1]
    _send(pipe, user, sid, bought, EventType.PURCHASE)
    _, after = _turn(pipe, user)  # session 2
    assert after != before
    assert _closeness(scorer, after, bought) > _closeness(scorer, before, bought) + 0.1
    # with profiles off, the next session is the anonymous one again
    off = _pipeline(store, scorer, adapt_profile=False)
    assert _turn(off, user)[1] == control


def test_with_adaptation_off_feedback_changes_nothing_but_a_dismiss_hides_its_item(
    store: GraphStore, scorer: GnnScorer
) -> None:
    pipe = _pipeline(store, scorer, adapt_session=False, adapt_profile=False)
    sid, first = _turn(pipe, "off-shopper")
    _, twin_first = _turn(pipe, "off-control")
    assert first == twin_first
    for item, kind, value in (
        (first[0], EventType.LIKE, 0.0),
        (first[1], EventType.PURCHASE, 0.0),
        (first[2], EventType.DISLIKE, 0.0),
        (first[3], EventType.RATING, 5.0),
        (first[4], EventType.RATING, 1.0),
        (first[5], EventType.CLICK, 0.0),
    ):
        _send(pipe, "off-shopper", sid, item, kind, value)
    control_sid = pipe.recommend_sync(
        RecommendQuery(message=MESSAGE, user_id="off-control")
    ).session_id
    baseline = _ask(pipe, "off-control", control_sid, limit=11)
    assert _ask(pipe, "off-shopper", sid) == baseline[:10]
    _send(pipe, "off-shopper", sid, first[6], EventType.DISMISS)
    baseline = _ask(pipe, "off-control", control_sid, limit=11)
    assert _ask(pipe, "off-shopper", sid) == [i for i in baseline if i != first[6]][:10]
    # the same feedback with adaptation on does change the next turn
    on = _pipeline(store, scorer)
    sid, first = _turn(on, "on-shopper")
    _send(on, "on-shopper", sid, first[-1], EventType.PURCHASE)
    assert _ask(on, "on-shopper", sid) != first


def test_a_rating_moves_the_session_in_proportion_to_its_value(
    store: GraphStore, scorer: GnnScorer
) -> None:
    item = scorer.item_ids[17]
    target = scorer.item_vectors([item])[0]
    alignment = scorer.item_vectors(scorer.item_ids) @ target

    def pull(rating: float | None) -> float:
        weights = () if rating is None else ((item, (rating - 3.0) / 2.0),)
        ctx = ScoringContext(text=MESSAGE, item_weights=weights)
        return float(np.corrcoef(scorer.catalog_scores(ctx), alignment)[0, 1])

    pulls = [pull(r) for r in (1.0, 2.0, 3.0, 4.0, 5.0)]
    assert pulls == sorted(pulls) and len(set(pulls)) == 5, pulls
    assert pulls[2] == pull(None)  # a 3 is no pull at all
    # through the pipeline: a 5 brings the item's neighbours closer than a 4, a 1 pushes away
    pipe = _pipeline(store, scorer, hide_named_items=False)
    seen: dict[float, float] = {}
    for rating in (1.0, 3.0, 4.0, 5.0):
        sid, _ = _turn(pipe, f"rater-{rating:g}", limit=20)
        _send(pipe, f"rater-{rating:g}", sid, item, EventType.RATING, rating)
        shown = _ask(pipe, f"rater-{rating:g}", sid, limit=20)
        seen[rating] = _closeness(scorer, shown, item)
    assert seen[1.0] < seen[3.0] < seen[4.0] <= seen[5.0], seen


@pytest.mark.parametrize(
    ("option", "answer"),
    [({"item_index": "faiss"}, "LinearScores"), ({"score_batching": "on"}, "TensorScores")],
)
def test_turns_rank_alike_searched_or_batched(
    store: GraphStore, scorer: GnnScorer, option: dict[str, str], answer: str
) -> None:
    """A scorer answering by inner-product search (``item_index`` ``faiss``, every list probed
    at this size), or scoring turns in batches (``score_batching`` on), serves the very
    rankings exact scoring serves, feedback included."""
    searched = GnnScorer(scorer.checkpoint, device="cpu")
    searched.configure(**option)
    user = store.demo.users[0]["id"]  # type: ignore[attr-defined]
    assert type(searched.turn_scores(ScoringContext(user_id=user))).__name__ == answer
    pipes = [_pipeline(store, s) for s in (scorer, searched)]

    def turns(session_ids: list[str]) -> list[Recommendation]:
        """One turn on each pipeline, in step: both read the user's history from one graph."""
        return [
            p.recommend_sync(RecommendQuery(MESSAGE, user, sid, limit=20, explore=False))
            for p, sid in zip(pipes, session_ids, strict=True)
        ]

    def send(kind: EventType, item: str) -> None:
        for p, r in zip(pipes, first, strict=True):
            p.feedback_sync(FeedbackEvent(user, r.session_id, item, kind))

    first = turns(["", ""])
    send(EventType.PURCHASE, first[0].items[3].item_id)
    second = turns([r.session_id for r in first])
    # a dislike: its near-duplicates leave the next turn (found by the index's search)
    gone = second[0].items[0].item_id
    send(EventType.DISLIKE, gone)
    third = turns([r.session_id for r in first])
    ids = [[[i.item_id for i in r.items] for r in turn] for turn in (first, second, third)]
    assert all(exact == searched for exact, searched in ids)
    assert ids[0][0] != ids[1][0] != ids[2][0]  # the purchase and the dislike moved turns
    assert scorer.similar_items([gone], 0.5) == searched.similar_items([gone], 0.5) != []
