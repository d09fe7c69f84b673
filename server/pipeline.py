"""The turn pipeline: understand -> link -> retrieve -> score -> explain.

One :class:`Pipeline` per process. It only orchestrates: each step is one call into the
package that owns it (named in the step's docstring), reading and writing the
:class:`~server.turn.Turn`; it holds no Cypher, no tensor code and no ranking rule. A request
enters at :meth:`Pipeline.recommend` (the servicer's one call), runs :meth:`recommend_sync` in
a worker thread, and goes through the steps in order, each timed by :meth:`_timed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, replace
from typing import TYPE_CHECKING

from kg.linking import EntityDirectory
from kg.store import GraphStore
from kg.types import Candidate, LexiconEntry
from kgrec.domain import (
    FeedbackEvent,
    FeedbackResult,
    IntentType,
    KgPath,
    LinkedEntity,
    ParsedIntent,
    Recommendation,
    RecommendQuery,
)
from kgrec.errors import InvalidInputError
from models.dialogue import DialogueState, DialogueTracker, ShownItem
from models.dialogue.adaptation import NEAR_DUPLICATE_COSINE, near_duplicate_ids
from models.dialogue.session_rules import apply_feedback, candidate_query, echo_constraints
from models.explain import Explainer, ExplainRequest
from models.explain.assemble import applied_constraints, explain_items, ranked_items
from models.feedback.profiles import ProfileBook
from models.scoring.blend import blend, zscore
from models.scoring.item_scorer import ScoringContext

from .admin import on_forget
from .deadline import check_deadline
from .filter_ids import check_category_ids
from .log import log_feedback, log_turn
from .metrics import METRICS
from .pipeline_config import PipelineConfig
from .sessions import Sessions
from .turn import Turn

if TYPE_CHECKING:
    from kg.linking import EntityLinker
    from models.intent import IntentParser, Mention
    from models.scoring import ItemScorer


class Pipeline:
    """Composes graph store, intent parser, entity linker, scorer and explainer."""

    def __init__(
        self,
        store: GraphStore,
        parser: IntentParser,
        linker: EntityLinker,
        explainer: Explainer,
        scorer: ItemScorer | None = None,
        config: PipelineConfig | None = None,
        clock: Callable[[], float] = time.time,
        lexicon: Sequence[LexiconEntry] = (),
    ) -> None:
        self.store, self.parser, self.linker = store, parser, linker
        self.explainer, self.scorer, self.clock = explainer, scorer, clock
        self.config = cfg = config or PipelineConfig()
        self.tracker = DialogueTracker(hide_named_items=cfg.hide_named_items)
        self.entities = EntityDirectory(
            lexicon, linker, cfg.link_threshold, cfg.wish_link_threshold
        )
        self.sessions = Sessions(store, cfg.session_policy(), clock)
        #: cross-session user profiles (``models.feedback.profiles``), None when off
        self.profiles = (
            ProfileBook(store, cfg.profile_half_life_days) if cfg.adapt_profile else None
        )
        if self.profiles is not None:
            on_forget(self.profiles.invalidate)

    @property
    def model_version(self) -> str:
        return self.scorer.version if self.scorer is not None else "kg-match-v0"

    async def ready(self) -> bool:
        try:
            await asyncio.to_thread(self.store.ping)
        except Exception:  # noqa: BLE001 - health must not raise
            return False
        return True

    async def recommend(self, query: RecommendQuery) -> Recommendation:
        return await asyncio.to_thread(self.recommend_sync, query)

    async def feedback(self, event: FeedbackEvent) -> FeedbackResult:
        return await asyncio.to_thread(self.feedback_sync, event)

    def recommend_sync(self, query: RecommendQuery) -> Recommendation:
        """One turn: the five steps in order, then the session saved. The call's deadline
        (``server/deadline.py``) is checked before each step and before the write: an expired
        turn stops with ``DeadlineExceededError`` and writes nothing (a new session is stored
        only at the end, so an expired or failed first turn leaves none behind)."""
        check_deadline("before the turn")
        check_category_ids(query.filters.category_ids, self.entities.entries)
        session = self.sessions.open(query.session_id, query.user_id)
        state = DialogueState.from_json(session.state)
        turn = Turn(query=query, session=session, state=state, scorer=self.scorer)
        for step in (self.understand, self.link, self.retrieve, self.score, self.explain):
            with self._timed(turn, step.__name__):
                step(turn)
        check_deadline("before saving the session")
        if not query.session_id:
            turn.session = self.sessions.create(turn.session)
        self.sessions.save(turn.session, turn.state.to_json(), self.clock())
        METRICS.observe_steps(turn.timings_ms)
        log_turn(turn, self.config.log_message_text)
        assert turn.result is not None
        return turn.result

    @contextlib.contextmanager
    def _timed(self, turn: Turn, name: str) -> Iterator[None]:
        check_deadline(f"before {name}")
        started = time.perf_counter()
        yield
        turn.timings_ms[name] = (time.perf_counter() - started) * 1000

    def understand(self, turn: Turn) -> None:
        """1. understand (``models.intent``): the message, read with the previous turn's
        intent, becomes an :class:`~models.intent.Intent`."""
        from models.intent import Intent, Mention

        state, previous = turn.state, None
        if state.last_intent_type:
            mentions = tuple(Mention(**m) for m in state.last_mentions)
            previous = Intent(type=IntentType(state.last_intent_type), mentions=mentions)
        turn.intent = intent = self.parser.parse(turn.query.message, previous=previous)
        mentions_seen = [asdict(m) for m in intent.mentions]
        state.remember_intent(
            turn.query.message, intent.type.value, mentions_seen, intent.clear_constraints
        )

    def link(self, turn: Turn) -> None:
        """2. link (``kg.linking``): mentions and soft wishes to graph nodes; then
        ``models.dialogue``'s tracker updates the session's constraints."""
        assert turn.intent is not None
        seen: dict[tuple[str, bool], LinkedEntity] = {}
        for entity in map(self.resolve, turn.intent.mentions):
            if entity is not None:
                seen.setdefault((entity.entity_id, entity.negated), entity)
        turn.linked = list(seen.values())
        wishes = [(p.text, p.value, p.negated) for p in turn.intent.preferences]
        named = [e.entity_id for e in turn.linked if e.label == "Product" and not e.negated]
        q = turn.query
        turn.update = self.tracker.update(
            turn.state, turn.intent, turn.linked, q.filters, q.context_item_ids,
            named_items=tuple(map(ShownItem.of, self.store.products(named) if named else ())),
            wish_entities=self.entities.resolve_wishes(wishes, set(seen)),
        )  # fmt: skip

    def resolve(self, mention: Mention) -> LinkedEntity | None:
        """The node ``mention`` stands for (:meth:`kg.linking.EntityDirectory.resolve`)."""
        m = mention
        return self.entities.resolve(
            m.text, entity_id=m.entity_id, label_hint=m.label_hint, negated=m.negated
        )

    def retrieve(self, turn: Turn) -> None:
        """3. retrieve (``kg`` + ``models.scoring``): the graph's candidates under the
        constraints; the scorer's catalog scores, asked once (with the session's feedback
        and the user's profile, ``models.feedback.profiles``), widen an unconstrained pool;
        near-duplicates of disliked items leave it (``models.dialogue.adaptation``)."""
        state, scorer = turn.state, turn.scorer
        query = candidate_query(state, pool := self.config.candidate_pool)
        turn.candidates = self.store.candidates(query)
        rejected = state.disliked_item_ids if self.config.adapt_session else []
        similar = (
            scorer.similar_items(rejected, NEAR_DUPLICATE_COSINE) if scorer and rejected else []
        )
        if scorer is not None:
            anchor = turn.update.anchor.item_id if turn.update and turn.update.anchor else None
            linked = [e.entity_id for e in turn.linked if not e.negated]
            ctx = ScoringContext.for_session(state, turn.query.user_id, linked, anchor)
            if self.profiles is not None and ctx.user_id:
                ctx = replace(ctx, profile=self.profiles.profile(ctx.user_id, scorer))
            turn.model_scores = scores = scorer.catalog_scores(ctx)
            if not query.has_hard_constraints:
                named = ctx.liked_item_ids if self.config.hide_named_items else ()
                hidden = [*query.exclude_item_ids, *named, *similar]
                best = scorer.top_k(scores, pool, exclude_item_ids=hidden, user_id=ctx.user_id)
                known = {c.product.id for c in turn.candidates}
                extra = self.store.products([i for i, _ in best if i not in known])
                turn.candidates += [Candidate(p) for p in extra]
        if rejected:
            dropped = near_duplicate_ids(
                self.store.products(rejected), (c.product for c in turn.candidates), similar
            )
            turn.candidates = [c for c in turn.candidates if c.product.id not in dropped]

    def score(self, turn: Turn) -> None:
        """4. score (``models.scoring.blend``): the learned scores blended with KG matches,
        popularity, session feedback and the shopper's price level."""
        state, cands, model, scorer = turn.state, turn.candidates, None, turn.scorer
        if scorer is not None and turn.model_scores is not None and cands:
            ids = [c.product.id for c in cands]
            model = zscore(scorer.scores_for(ids, turn.model_scores))
        disliked = self.store.products(state.disliked_item_ids) if state.disliked_item_ids else []
        turn.scored = blend(
            cands, limit=turn.query.limit, n_preferred=len(state.preferred_ids), model=model,
            disliked_brands={p.brand_id for p in disliked if p.brand_id},
            price_level=state.price_level, weights=self.config.blend_weights(),
        )  # fmt: skip

    def explain(self, turn: Turn) -> None:
        """5. explain (``models.explain``): KG paths and aggregated co-shoppers for the top
        items, then the grounded reply and the response."""
        assert turn.intent is not None and turn.update is not None
        q, intent, state, anchor = turn.query, turn.intent, turn.state, turn.update.anchor
        paths, co = self._evidence(turn) if q.explain and turn.scored else ({}, {})
        items = explain_items(turn.scored, paths, co)
        applied = applied_constraints(state, self.entities.name, anchor.title if anchor else "")
        vague = not (turn.linked or intent.price or intent.references or q.context_item_ids)
        request = ExplainRequest(items, applied, tuple(turn.linked), intent.type,
                                 vague and q.filters.is_empty, state.turn)  # fmt: skip
        explanation = self.explainer.explain(request)
        state.remember_ranking([ShownItem.of(it.product) for it in items])
        parsed = ParsedIntent(intent.type, tuple(turn.linked), echo_constraints(state),
                              intent.confidence, intent.backend)  # fmt: skip
        ranked = ranked_items(items, explanation, q.explain)
        version = turn.scorer.version if turn.scorer is not None else "kg-match-v0"
        turn.result = Recommendation(turn.session.id, ranked, explanation.reply, parsed,
                                     version, q.request_id)  # fmt: skip

    def _evidence(self, turn: Turn) -> tuple[dict[str, list[KgPath]], dict[str, int]]:
        """Paths from what the shopper named (and the anchor item) to the top items, in one
        graph call, and how many shoppers chose both the anchor and each item."""
        assert turn.update is not None
        cfg, anchor = self.config, turn.update.anchor
        explained = [s.candidate.product.id for s in turn.scored[: cfg.explain_top]]
        sources = [e.entity_id for e in turn.linked if not e.negated]
        sources += [anchor.item_id] if anchor else []
        sources += [i for i in turn.state.preferred_ids if i not in sources]
        pairs = self.store.co_interactions([anchor.item_id], explained) if anchor else {}
        hops, k = cfg.path_hops, cfg.paths_per_item
        paths = self.store.paths(sources, explained, hops, k) if sources else {}
        return paths, {item: n for (_, item), n in pairs.items()}

    def feedback_sync(self, event: FeedbackEvent) -> FeedbackResult:
        """Record ``event``, and fold it into its session's state when it names one
        (``models.dialogue.apply_feedback``). The session must be the caller's, else
        NOT_FOUND; an anonymous caller's events are stored as ``anon:<session id>``."""
        if not event.user_id and not event.session_id:
            raise InvalidInputError("user_id", "user_id or session_id is required")
        now, sid = self.clock(), event.session_id
        session = self.sessions.live(sid, event.user_id, now) if sid else None
        stored = replace(event, user_id=event.user_id or f"anon:{sid}")
        check_deadline("before recording the event")
        result = self.store.record_event(stored, uuid.uuid4().hex, now)
        log_feedback(stored, result.duplicate)
        if not result.duplicate and self.profiles is not None:
            self.profiles.invalidate(stored.user_id)
        if session is not None and not result.duplicate:
            state = DialogueState.from_json(session.state)
            adapt = self.config.adapt_session
            apply_feedback(state, event.event_type, event.value, event.item_id, adapt=adapt)
            self.sessions.save(session, state.to_json(), now)
        return result


__all__ = ["Pipeline", "PipelineConfig"]
