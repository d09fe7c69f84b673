"""Step 4 of a turn, score: the blend of the turn's candidates (``models.scoring.blend``),
then the whole records of the best it keeps.

Retrieval may leave the candidates' records brief (:meth:`GraphStore.brief_candidates`: only
what the blend reads), so a turn reads whole records for the ``max(limit, explore_top)`` it
keeps, not for the hundreds it ranks; for its top ``limit`` alone when those are what it will
show (no exploration, no learning policy: :meth:`server.learning.Learning.shows_top`), since
the rest are only logged, by their blend contributions. A product read whole that is gone
(deleted since the snapshot was read) leaves the pool and the blend runs again, so the ranking
is the one the pool without it gives.
"""

from __future__ import annotations

from kg.store import GraphStore
from kg.types import Candidate
from models.scoring.blend import ScoredCandidate, blend, zscore

from .pipeline_config import PipelineConfig
from .turn import Turn

__all__ = ["rank"]

#: Blends per turn at most: each one after the first follows products deleted meanwhile.
MAX_BLENDS = 3


def rank(
    turn: Turn, store: GraphStore, config: PipelineConfig, whole: int | None = None
) -> list[ScoredCandidate]:
    """The blend's best ``max(limit, explore_top)`` of ``turn.candidates``, best first (close
    matches after the exact ones), the first ``whole`` of them (default: all) with whole
    records, the rest brief; the learned scores z-scored over the pool, the session's
    feedback, shown items and price level as :func:`models.scoring.blend.blend` weighs them."""
    state = turn.state
    disliked_brands = {p.brand_id for p in turn.disliked if p.brand_id}
    shown = turn.passed_over() if config.demotes_shown else ()
    scored: list[ScoredCandidate] = []
    limit, keep = turn.query.limit, max(turn.query.limit, config.explore_top)
    close, preferred = turn.close_ids, len(state.preferred_ids)
    relaxed = preferred + len(state.brand_ids) + len(state.required_attribute_ids)
    for _ in range(MAX_BLENDS):
        cands = turn.candidates
        groups = [(cands, preferred)]
        if close:  # retrieve's close matches follow every exact one, those matching more first
            near: dict[int, list[Candidate]] = {}
            for c in cands:
                if c.product.id in close:
                    near.setdefault(len(c.matched), []).append(c)
            groups = [([c for c in cands if c.product.id not in close], preferred)]
            groups += [(near[k], relaxed) for k in sorted(near, reverse=True)]
        scored = []
        for group, n_preferred in groups:
            if not group or len(scored) >= keep:
                continue
            model = None
            if turn.model is not None:
                model = zscore(turn.model.for_items([c.product.id for c in group]))
            scored += blend(
                group, limit=max(limit - len(scored), 1), n_preferred=n_preferred, model=model,
                disliked_brands=disliked_brands, shown=shown, price_level=state.price_level,
                weights=config.blend_weights(), keep=keep - len(scored),
            )  # fmt: skip
        head = scored if whole is None else scored[:whole]
        records = store.complete([s.candidate.product for s in head])
        gone = {s.candidate.product.id for s, r in zip(head, records, strict=True) if r is None}
        for s, record in zip(head, records, strict=True):
            if record is not None:
                s.candidate = Candidate(record, s.candidate.matched)
        if not gone:
            return scored
        turn.candidates = [c for c in cands if c.product.id not in gone]
    return [s for s in scored if s.candidate.product.id not in gone]
