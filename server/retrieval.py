"""Step 3 of a turn, retrieve: the graph's candidates under the session's constraints, widened
by the scorer's best items for the conversation, without what the shopper rejected.

Glue between the graph (``kg``: :meth:`GraphStore.candidates`, :meth:`GraphStore.products`)
and the scorer (``models.scoring``: one :meth:`ItemScorer.turn_scores` per turn, kept on
the turn so the score step ranks with the same scoring), with the session rules of
``models.dialogue`` (the candidate query, near-duplicates of disliked items).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kg.store import GraphStore
from kg.types import Candidate, CandidateQuery
from models.dialogue.adaptation import NEAR_DUPLICATE_COSINE, near_duplicate_ids
from models.dialogue.session_rules import candidate_query, close_query
from models.scoring.item_scorer import ScoringContext

from .pipeline_config import PipelineConfig
from .turn import Turn

if TYPE_CHECKING:
    from .learning import Learning

__all__ = ["add_close_matches", "retrieve"]


def retrieve(turn: Turn, store: GraphStore, config: PipelineConfig, learning: Learning) -> None:
    """Fill ``turn.candidates`` (and ``turn.model`` when the turn has a scorer): the
    graph's candidates; with a scorer, its scoring of the conversation (the session's
    feedback and the user's profile in the context) and, when no hard constraint narrows the
    pool, its best ``candidate_pool`` items too; then, with session adaptation, the
    near-duplicates of disliked items leave the pool; with fewer than the answer's ``limit``
    left, close matches join it (:func:`add_close_matches`). Records are brief
    (:meth:`GraphStore.brief_candidates`): :func:`server.ranking.rank` completes the kept."""
    state, scorer = turn.state, turn.scorer
    query = candidate_query(state, pool := config.candidate_pool)
    rejected = state.disliked_item_ids if config.adapt_session else []
    turn.candidates = store.brief_candidates(query)
    turn.disliked = store.products(state.disliked_item_ids) if state.disliked_item_ids else []
    similar = scorer.similar_items(rejected, NEAR_DUPLICATE_COSINE) if scorer and rejected else []
    if scorer is not None:
        anchor = turn.update.anchor.item_id if turn.update and turn.update.anchor else None
        linked = [e.entity_id for e in turn.linked if not e.negated]
        ctx = ScoringContext.for_session(state, turn.query.user_id, linked, anchor)
        ctx = learning.context(ctx, scorer)
        turn.model = model = scorer.turn_scores(ctx)
        if not query.has_hard_constraints:
            named = ctx.liked_item_ids if config.hide_named_items else ()
            hidden = [*query.exclude_item_ids, *named, *similar]
            best = model.best(pool, exclude_item_ids=hidden, user_id=ctx.user_id)
            known = {c.product.id for c in turn.candidates}
            extra = store.brief_products([i for i, _ in best if i not in known])
            turn.candidates += [Candidate(p) for p in extra]
    if rejected:
        turn.candidates = _without_near_duplicates(turn, store, turn.candidates, similar)
    if config.close_matches and len(turn.candidates) < turn.query.limit:
        add_close_matches(turn, store, query, similar if rejected else None)


def add_close_matches(
    turn: Turn, store: GraphStore, query: CandidateQuery, similar: list[str] | None
) -> None:
    """Fewer candidates than the answer's ``limit``: the products that keep the category,
    price and exclusions but miss a brand or attribute asked for join the pool as close
    matches (``turn.close_ids``), without the near-duplicates of rejected items (``similar``:
    the scorer's neighbours of them; ``None``: nothing rejected)."""
    relaxed = close_query(query)
    if relaxed is None:
        return
    known = {c.product.id for c in turn.candidates}
    close = [c for c in store.brief_candidates(relaxed) if c.product.id not in known]
    if similar is not None and close:
        close = _without_near_duplicates(turn, store, close, similar)
    turn.close_ids = frozenset(c.product.id for c in close)
    turn.candidates += close


def _without_near_duplicates(
    turn: Turn, store: GraphStore, candidates: list[Candidate], similar: list[str]
) -> list[Candidate]:
    """``candidates`` without the near-duplicates of the turn's disliked products
    (:func:`models.dialogue.adaptation.near_duplicate_ids`). A product line is told from the
    title, so the candidates of a disliked product's brand are read whole (only they can
    share its line); the others, brief, can match by ``similar`` only."""
    brands = {p.brand_id for p in turn.disliked if p.brand_id}
    same = [c.product for c in candidates if c.product.brand_id in brands]
    whole = {r.id: r for r in store.complete(same) if r is not None}
    products = (whole.get(c.product.id, c.product) for c in candidates)
    dropped = near_duplicate_ids(turn.disliked, products, similar)
    return [c for c in candidates if c.product.id not in dropped]
