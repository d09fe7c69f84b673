"""The score step's ranking (``server/ranking.py``): the blend over brief records, the kept
ones completed, and a product gone before completion leaving the pool as if never there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from kg.types import Candidate, ProductRecord, SessionRecord
from kgrec.domain import RecommendQuery
from models.dialogue import DialogueState
from models.scoring.blend import blend
from server.pipeline_config import PipelineConfig
from server.ranking import rank
from server.turn import Turn

WHOLE = [
    ProductRecord(f"p{n}", f"Product {n}", price=10.0 + n, brand_id=f"b{n % 2}", popularity=p)
    for n, p in enumerate([9.0, 30.0, 4.0, 12.0, 1.0, 7.0])
]


def brief(r: ProductRecord) -> ProductRecord:
    return ProductRecord(r.id, "", price=r.price, brand_id=r.brand_id, popularity=r.popularity)


class CompletingStore:
    """Completes brief records from :data:`WHOLE`; the ids in ``gone`` were deleted."""

    def __init__(self, gone: Sequence[str] = ()) -> None:
        self.gone, self.calls = set(gone), 0
        self.asked: list[str] = []

    def complete(self, records: Sequence[ProductRecord]) -> list[ProductRecord | None]:
        self.calls += 1
        self.asked += [r.id for r in records]
        whole = {r.id: r for r in WHOLE}
        return [
            None if r.id in self.gone else replace(whole[r.id], popularity=r.popularity)
            for r in records
        ]


def turn_of(records: Sequence[ProductRecord], limit: int = 3) -> Turn:
    turn = Turn(RecommendQuery("anything", limit=limit), SessionRecord("s", "", 0.0, 0.0),
                DialogueState())  # fmt: skip
    turn.candidates = [Candidate(r) for r in records]
    return turn


def ids(scored: Sequence[object]) -> list[str]:
    return [s.candidate.product.id for s in scored]  # type: ignore[attr-defined]


def test_the_kept_candidates_come_back_whole_in_the_blends_order() -> None:
    config = PipelineConfig(explore_top=4)
    store = CompletingStore()
    got = rank(turn_of([brief(r) for r in WHOLE]), store, config)  # type: ignore[arg-type]
    want = blend([Candidate(r) for r in WHOLE], limit=3, keep=4)
    assert ids(got) == ids(want) == ["p1", "p3", "p0", "p5"]
    assert [s.candidate.product for s in got] == [s.candidate.product for s in want]
    assert [s.score for s in got] == [s.score for s in want]
    assert store.calls == 1


def test_a_product_gone_before_completion_ranks_as_if_never_in_the_pool() -> None:
    config = PipelineConfig(explore_top=4)
    store = CompletingStore(gone=["p1"])
    turn = turn_of([brief(r) for r in WHOLE])
    got = rank(turn, store, config)  # type: ignore[arg-type]
    rest = [Candidate(r) for r in WHOLE if r.id != "p1"]
    want = blend(rest, limit=3, keep=4)  # popularity is normalised by the pool's best
    assert ids(got) == ids(want) == ["p3", "p0", "p5", "p2"]
    assert [s.score for s in got] == [s.score for s in want]
    assert "p1" not in [c.product.id for c in turn.candidates] and store.calls == 2
    assert all(s.candidate.product.title for s in got)


def test_only_the_first_whole_come_back_whole_the_rest_as_blended() -> None:
    """When a turn will show its top ``limit`` as blended (no exploration, no learning
    policy), the kept items past them are only logged: their records stay brief."""
    config = PipelineConfig(explore_top=4)
    store = CompletingStore()
    got = rank(turn_of([brief(r) for r in WHOLE]), store, config, whole=2)  # type: ignore[arg-type]
    every = rank(turn_of([brief(r) for r in WHOLE]), CompletingStore(), config)  # type: ignore[arg-type]
    assert ids(got) == ids(every) == ["p1", "p3", "p0", "p5"]
    assert [s.score for s in got] == [s.score for s in every]
    assert store.asked == ["p1", "p3"]
    assert [bool(s.candidate.product.title) for s in got] == [True, True, False, False]
    gone = CompletingStore(gone=["p3"])  # a shown one gone: the blend runs again
    again = rank(turn_of([brief(r) for r in WHOLE]), gone, config, whole=2)  # type: ignore[arg-type]
    assert ids(again)[:2] == ["p1", "p0"] and gone.calls == 2
