"""The turn pipeline: understand -> link -> retrieve -> score -> explain.

One :class:`Pipeline` per process. It composes the graph store (``kg``) and the learned parts
(``models``); it holds no Cypher and no tensor code. Each step is one method that reads and
writes the :class:`~server.turn.Turn`, so a later issue can replace one step at a time.
The public methods are ``async`` and run the blocking work in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from kg.store import GraphStore
from kg.types import Candidate, CandidateQuery, LexiconEntry, ProductRecord, SessionRecord
from kgrec.domain import (
    NEGATIVE_EVENTS,
    Constraint,
    EventType,
    FeedbackEvent,
    FeedbackResult,
    IntentType,
    LinkedEntity,
    ParsedIntent,
    PriceRange,
    RankedItem,
    Recommendation,
    RecommendQuery,
)
from kgrec.errors import ConflictError, InvalidInputError, KgrecError, SessionNotFoundError
from models.dialogue import DialogueState, DialogueTracker, ShownItem
from models.explain import AppliedConstraints, Explainer, ExplainItem, ExplainRequest

from .deadline import check_deadline
from .filter_ids import check_category_ids
from .log import user_ref
from .metrics import METRICS
from .session_merge import merge_states
from .turn import ScoredCandidate, Turn

if TYPE_CHECKING:
    from kg.linking import EntityLinker
    from models.intent import Intent, IntentParser, Mention
    from models.scoring import ItemScorer, ScoringContext

log = logging.getLogger(__name__)

POSITIVE_EVENTS = frozenset(
    {EventType.CLICK, EventType.ADD_TO_CART, EventType.PURCHASE, EventType.LIKE}
)


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Knobs of the turn pipeline (documented defaults)."""

    candidate_pool: int = 300  # candidates fetched from the graph per turn
    link_threshold: float = 0.5  # linked entities below this score are ignored
    explain_top: int = 10  # items that get KG paths looked up
    path_hops: int = 2
    paths_per_item: int = 3
    w_match: float = 1.0  # weight of soft KG matches (preferred entities)
    w_model: float = 1.0  # weight of the learned scorer (z-scored over the pool)
    w_popularity: float = 0.3  # weight of log-popularity (normalised to [0, 1])
    w_disliked_brand: float = 0.5  # penalty for brands the shopper disliked this session
    # "cheap" / "premium": price rank within the pool, in [-w, w]; larger than the other
    # terms' spread, so the cheapest (priciest) candidates come first
    w_price_level: float = 4.0
    wish_link_threshold: float = 0.9  # a soft wish ("winter") links only to a near-exact name
    session_ttl_s: float = 24 * 3600  # a session idle longer than this is gone (NOT_FOUND)
    # expired sessions are deleted when a new one is created, at most once per this interval
    session_purge_interval_s: float = 60.0
    session_purge_batch: int = 1000  # sessions deleted per purge at most
    # a session write that keeps losing to concurrent writes gives up (ABORTED) after this
    session_write_attempts: int = 40
    log_message_text: bool = False  # debug: log what shoppers type (off: never logged)
    hide_named_items: bool = True  # a product the shopper names is not recommended back


def _positive(event: FeedbackEvent) -> bool:
    if event.event_type == EventType.RATING:
        return event.value >= 4
    return event.event_type in POSITIVE_EVENTS


def _shown(product: ProductRecord) -> ShownItem:
    return ShownItem(
        product.id, product.title, product.price, product.brand_id, product.category_id
    )


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
        self.store = store
        self.parser = parser
        self.linker = linker
        self.explainer = explainer
        self.scorer = scorer
        self.config = config or PipelineConfig()
        self.tracker = DialogueTracker(hide_named_items=self.config.hide_named_items)
        self.clock = clock
        self._entities: dict[str, LexiconEntry] = {}
        self._purge_lock = threading.Lock()
        self._last_purge = -math.inf
        for entry in lexicon:
            self._entities.setdefault(entry.entity_id, entry)

    @property
    def model_version(self) -> str:
        return self.scorer.version if self.scorer is not None else "kg-match-v0"

    # -- RecommenderPipeline protocol ---------------------------------------------------------

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

    # -- one turn -----------------------------------------------------------------------------

    def recommend_sync(self, query: RecommendQuery) -> Recommendation:
        """One turn. The call's deadline (``server/deadline.py``) is checked before each step
        and before the session is written: an expired turn stops with
        ``DeadlineExceededError`` and writes nothing (a new session is created only here, at
        the end, so an expired or failed first turn leaves none behind)."""
        check_deadline("before the turn")
        check_category_ids(query.filters.category_ids, self._entities)  # before any session
        turn = self._open_turn(query)
        for name, step in (
            ("understand", self.understand),
            ("link", self.link),
            ("retrieve", self.retrieve),
            ("score", self.score),
        ):
            check_deadline(f"before {name}")
            started = time.perf_counter()
            step(turn)
            turn.timings_ms[name] = (time.perf_counter() - started) * 1000
        check_deadline("before explain")
        started = time.perf_counter()
        result = self.explain(turn)
        turn.timings_ms["explain"] = (time.perf_counter() - started) * 1000
        check_deadline("before saving the session")
        if not query.session_id:  # a new session is stored only now, the turn done
            turn.session = self.store.create_session(
                turn.session.id, query.user_id, turn.session.created_at
            )
        self._save_state(turn.session, turn.state.to_json(), self.clock())
        METRICS.observe_steps(turn.timings_ms)
        log.info(
            "turn session=%s user=%s items=%d timings_ms=%s",
            turn.session.id,
            user_ref(turn.query.user_id),
            len(result.items),
            {k: round(v, 1) for k, v in turn.timings_ms.items()},
        )
        if self.config.log_message_text:
            log.debug("turn session=%s message=%r", turn.session.id, turn.query.message)
        return result

    def _open_turn(self, query: RecommendQuery) -> Turn:
        now = self.clock()
        if query.session_id:
            session = self._live_session(query.session_id, query.user_id, now)
        else:  # stored by recommend_sync once the turn is done
            self._purge_expired(now)
            session = SessionRecord(uuid.uuid4().hex, query.user_id, now, now)
        return Turn(query=query, session=session, state=DialogueState.from_json(session.state))

    def _live_session(self, session_id: str, user_id: str, now: float) -> SessionRecord:
        """The session, unless it is unknown, idle past its TTL, or not the caller's: a
        session belongs to the user id that created it ("" for an anonymous caller), and any
        other caller is told NOT_FOUND, exactly as for an unknown id (nothing reveals that
        someone else's session exists)."""
        session = self.store.get_session(session_id)
        if (
            session is None
            or now - session.updated_at > self.config.session_ttl_s
            or session.user_id != user_id
        ):
            raise SessionNotFoundError(session_id)
        return session

    def _save_state(self, session: SessionRecord, state: str, now: float) -> None:
        """Write ``state`` over ``session`` without losing a concurrent write: compare-and-set
        on the session's version; on a lost race, merge this call's changes into the state
        that won (:func:`~server.session_merge.merge_states`) and try again."""
        # compared in one form: a new session's "" is the default state, field by field
        base, version = DialogueState.from_json(session.state).to_json(), session.version
        for attempt in range(self.config.session_write_attempts):
            if self.store.save_session_state(session.id, state, now, version=version) is not None:
                return
            current = self.store.get_session(session.id)
            if current is None:
                raise SessionNotFoundError(session.id)
            theirs = DialogueState.from_json(current.state).to_json()
            state = merge_states(base, state, theirs)
            base, version = theirs, current.version
            time.sleep(random.uniform(0, min(0.02, 0.0005 * 2**attempt)))  # noqa: S311
        raise ConflictError(f"session {session.id}: too many concurrent updates")

    def _purge_expired(self, now: float) -> None:
        """Delete sessions idle past the TTL (on session creation, throttled): they are
        unreachable already, and a shopper's conversation should not outlive it."""
        cfg = self.config
        with self._purge_lock:
            if now - self._last_purge < cfg.session_purge_interval_s:
                return
            self._last_purge = now
        try:
            n = self.store.purge_sessions(now - cfg.session_ttl_s, cfg.session_purge_batch)
        except KgrecError:
            log.warning("purging expired sessions failed", exc_info=True)
            return
        if n:
            log.info("purged %d expired session(s)", n)

    # 1. understand ----------------------------------------------------------------------------

    def understand(self, turn: Turn) -> None:
        from models.intent import Intent, Mention

        state = turn.state
        previous = None
        if state.last_intent_type:
            mentions = tuple(Mention(**m) for m in state.last_mentions)
            previous = Intent(type=IntentType(state.last_intent_type), mentions=mentions)
        turn.intent = intent = self.parser.parse(turn.query.message, previous=previous)
        if intent.clear_constraints:
            state.recent_messages.clear()  # "start over": earlier words are not wanted either
        state.remember_message(turn.query.message)
        state.last_intent_type = intent.type.value
        state.last_mentions = [asdict(m) for m in intent.mentions]

    # 2. link ----------------------------------------------------------------------------------

    def link(self, turn: Turn) -> None:
        assert turn.intent is not None
        linked: list[LinkedEntity] = []
        seen: set[tuple[str, bool]] = set()
        for mention in turn.intent.mentions:
            entity = self.resolve(mention)
            if entity is None or (entity.entity_id, entity.negated) in seen:
                continue
            seen.add((entity.entity_id, entity.negated))
            linked.append(entity)
        turn.linked = linked
        named = [e.entity_id for e in linked if e.label == "Product" and not e.negated]
        wish_entities = self._link_wishes(turn.intent, seen)
        turn.update = self.tracker.update(
            turn.state,
            turn.intent,
            linked,
            turn.query.filters,
            turn.query.context_item_ids,
            named_items=tuple(_shown(p) for p in self.store.products(named)) if named else (),
            wish_entities=wish_entities,
        )

    def _link_wishes(self, intent: Intent, seen: set[tuple[str, bool]]) -> tuple[LinkedEntity, ...]:
        """Graph nodes for the soft wishes ("for winter" -> a warmth attribute) when one is
        named almost exactly; the rest stay words (``state.wishes``)."""
        out: list[LinkedEntity] = []
        for pref in intent.preferences:
            best = self.linker.link_best(pref.value)
            if best is None or best.score < self.config.wish_link_threshold:
                continue
            if (best.entity_id, pref.negated) in seen or best.label == "Product":
                continue
            seen.add((best.entity_id, pref.negated))
            out.append(
                LinkedEntity(
                    pref.text, best.entity_id, best.label, best.name, best.score, pref.negated
                )
            )
        return tuple(out)

    # 3. retrieve ------------------------------------------------------------------------------

    def candidate_query(self, state: DialogueState, limit: int) -> CandidateQuery:
        return CandidateQuery(
            price=state.price_range(),
            category_ids=tuple(state.category_ids),
            brand_ids=tuple(state.brand_ids),
            required_attribute_ids=tuple(state.required_attribute_ids),
            preferred_ids=tuple(state.preferred_ids),
            exclude_brand_ids=tuple(state.exclude_brand_ids),
            exclude_category_ids=tuple(state.exclude_category_ids),
            exclude_attribute_ids=tuple(state.exclude_attribute_ids),
            exclude_item_ids=tuple(dict.fromkeys(state.exclude_item_ids + state.disliked_item_ids)),
            limit=limit,
        )

    def retrieve(self, turn: Turn) -> None:
        query = self.candidate_query(turn.state, self.config.candidate_pool)
        turn.candidates = self.store.candidates(query)
        if self.scorer is None:
            return
        ctx = self._scoring_context(turn)
        turn.model_scores = self.scorer.catalog_scores(ctx)
        if self._has_hard_constraints(query):
            return
        # No hard constraint: widen the pool with the model's best items for this user and
        # this conversation (its liked items, entities and words), from the same scores.
        known = {c.product.id for c in turn.candidates}
        hidden = list(query.exclude_item_ids)
        if self.config.hide_named_items:
            hidden += ctx.liked_item_ids  # what the shopper named or liked is not suggested back
        best = self.scorer.top_k(
            turn.model_scores,
            self.config.candidate_pool,
            exclude_item_ids=hidden,
            user_id=ctx.user_id,
        )
        extra = [i for i, _ in best if i not in known]
        turn.candidates += [Candidate(p) for p in self.store.products(extra)]

    @staticmethod
    def _has_hard_constraints(q: CandidateQuery) -> bool:
        """Filters the model's items would have to be checked against (the graph applies
        them, with category subtrees, to its own candidates only)."""
        return bool(
            q.category_ids
            or q.brand_ids
            or q.required_attribute_ids
            or not q.price.is_open
            or q.exclude_brand_ids
            or q.exclude_category_ids
            or q.exclude_attribute_ids
        )

    # 4. score ---------------------------------------------------------------------------------

    def score(self, turn: Turn) -> None:
        cfg = self.config
        cands = turn.candidates
        if not cands:
            turn.scored = []
            return
        state = turn.state
        n_pref = max(len(state.preferred_ids), 1)
        max_pop = max(c.product.popularity for c in cands)
        model = self._model_scores(turn, [c.product.id for c in cands])
        disliked_brands = self._disliked_brands(state)
        price_rank = self._price_rank(cands, state.price_level) if state.price_level else None
        scored: list[ScoredCandidate] = []
        for i, cand in enumerate(cands):
            parts = {
                "match": cfg.w_match * len(cand.matched) / n_pref,
                "popularity": cfg.w_popularity
                * math.log1p(cand.product.popularity)
                / math.log1p(max_pop or 1),
            }
            if model is not None:
                parts["model"] = cfg.w_model * model[i]
            if cand.product.brand_id in disliked_brands:
                parts["feedback"] = -cfg.w_disliked_brand
            if state.price_level and price_rank is not None:
                parts["price"] = price_rank.get(cand.product.id, 0.0)
            scored.append(ScoredCandidate(cand, sum(parts.values()), parts))
        scored.sort(key=lambda s: (-s.score, s.candidate.product.id))
        if state.price_level:
            # "cheap" / "premium" asks for an order: of the best few times ``limit`` items
            # (price rank included in their score), the cheapest (priciest) are shown first,
            # whatever the model's spread
            sign = 1.0 if state.price_level == "low" else -1.0
            scored = scored[: max(3 * turn.query.limit, 20)]
            scored.sort(
                key=lambda s: (
                    s.candidate.product.price is None,
                    sign * (s.candidate.product.price or 0.0),
                )
            )
        turn.scored = scored[: turn.query.limit]

    def _price_rank(self, cands: list[Candidate], level: str) -> dict[str, float]:
        """ "cheap" / "premium" as a score: each priced candidate's price rank in the pool
        (ties share their mean rank) mapped to ``[w, -w]`` cheapest to priciest ("low"), the
        reverse for "high". A relative order, so no dollar bound is invented."""
        priced = sorted(
            (c.product.price, c.product.id) for c in cands if c.product.price is not None
        )
        if len(priced) < 2:
            return {}
        ranks: dict[float, list[int]] = {}
        for k, (price, _) in enumerate(priced):
            ranks.setdefault(price, []).append(k)
        w, top = self.config.w_price_level, len(priced) - 1
        sign = 1.0 if level == "low" else -1.0
        return {
            item: sign * w * (1 - 2 * (sum(ranks[price]) / len(ranks[price])) / top)
            for price, item in priced
        }

    @staticmethod
    def _scoring_context(turn: Turn) -> ScoringContext:
        """What the scorer knows of this user and conversation."""
        from models.scoring import ScoringContext

        state = turn.state
        anchor = turn.update.anchor if turn.update else None
        return ScoringContext(
            user_id=turn.query.user_id or None,
            # the session's recent messages, newest first: "from the 80s" after "something
            # scary" still asks for something scary
            text=state.conversation_text(),
            liked_item_ids=(*state.liked_item_ids, *([anchor.item_id] if anchor else [])),
            disliked_item_ids=tuple(state.disliked_item_ids),
            # the session's earlier entities and context items too, not only this turn's
            entity_ids=tuple(
                dict.fromkeys(
                    [*state.preferred_ids, *(e.entity_id for e in turn.linked if not e.negated)]
                )
            ),
        )

    def _model_scores(self, turn: Turn, item_ids: list[str]) -> list[float] | None:
        """The turn's model scores of ``item_ids``, z-scored over them."""
        if self.scorer is None or turn.model_scores is None:
            return None
        values = self.scorer.scores_for(item_ids, turn.model_scores).astype(np.float64)
        std = float(values.std()) or 1.0
        return ((values - values.mean()) / std).tolist()

    def _disliked_brands(self, state: DialogueState) -> set[str]:
        if not state.disliked_item_ids:
            return set()
        return {p.brand_id for p in self.store.products(state.disliked_item_ids) if p.brand_id}

    # 5. explain -------------------------------------------------------------------------------

    def explain(self, turn: Turn) -> Recommendation:
        assert turn.intent is not None and turn.update is not None
        state = turn.state
        top = turn.scored
        paths: dict[str, list[Any]] = {}
        co_shoppers: dict[str, int] = {}
        if turn.query.explain and top:
            explained = [s.candidate.product.id for s in top[: self.config.explain_top]]
            sources = [e.entity_id for e in turn.linked if not e.negated]
            if turn.update.anchor is not None:
                anchor_id = turn.update.anchor.item_id
                sources.append(anchor_id)
                co = self.store.co_interactions([anchor_id], explained)
                co_shoppers = {item: n for (_, item), n in co.items()}
            sources += [i for i in state.preferred_ids if i not in sources]
            if sources:
                paths = self.store.paths(
                    sources, explained, self.config.path_hops, self.config.paths_per_item
                )
        items = tuple(
            ExplainItem(
                s.candidate.product,
                s.score,
                tuple(paths.get(s.candidate.product.id, ())),
                tuple(sorted(s.contributions.items(), key=lambda kv: -abs(kv[1]))),
                co_shoppers.get(s.candidate.product.id, 0),
            )
            for s in top
        )
        constraints = self._applied(turn)
        vague = not turn.linked and turn.intent.price is None and not turn.intent.references
        vague = vague and turn.query.filters.is_empty and not turn.query.context_item_ids
        explanation = self.explainer.explain(
            ExplainRequest(
                items, constraints, tuple(turn.linked), turn.intent.type, vague, state.turn
            )
        )
        ranked = tuple(
            RankedItem(
                item_id=it.product.id,
                title=it.product.title,
                score=round(it.score, 6),
                price=it.product.price,
                currency=it.product.currency,
                image_ref=it.product.image_ref,
                brand=it.product.brand,
                category=it.product.category,
                attributes=it.product.attributes,
                reasons=explanation.reasons.get(it.product.id, ()) if turn.query.explain else (),
            )
            for it in items
        )
        state.remember_ranking([_shown(it.product) for it in items])
        return Recommendation(
            session_id=turn.session.id,
            items=ranked,
            reply=explanation.reply,
            intent=ParsedIntent(
                type=turn.intent.type,
                entities=tuple(turn.linked),
                constraints=self._constraints(state),
                confidence=turn.intent.confidence,
                backend=turn.intent.backend,
            ),
            model_version=self.model_version,
            request_id=turn.query.request_id,
        )

    def resolve(self, mention: Mention) -> LinkedEntity | None:
        """The graph node ``mention`` stands for: the parser's own id, else the linker's best
        entity if it scores at least ``config.link_threshold``; None if neither."""
        if mention.entity_id:
            label, name = self._describe(mention.entity_id)
            entity_id, score = mention.entity_id, 1.0
        else:
            best = self.linker.link_best(mention.text, label_hint=mention.label_hint)
            if best is None or best.score < self.config.link_threshold:
                return None
            entity_id, label, name, score = best.entity_id, best.label, best.name, best.score
        return LinkedEntity(mention.text, entity_id, label, name, score, mention.negated)

    def _describe(self, entity_id: str) -> tuple[str, str]:
        """(label, display name) of a linkable node; attribute names read as their value."""
        entry = self._entities.get(entity_id)
        if entry is None:
            return "Entity", entity_id
        if entry.label == "Attribute" and "=" in entity_id:
            return entry.label, entity_id.split("=", 1)[1]
        return entry.label, entry.name

    def _name(self, entity_id: str) -> str:
        return self._describe(entity_id)[1]

    def _applied(self, turn: Turn) -> AppliedConstraints:
        state = turn.state
        update = turn.update
        assert update is not None
        return AppliedConstraints(
            price=PriceRange(state.min_price, state.max_price),  # stated, not derived
            categories=tuple(self._name(i) for i in state.category_ids),
            brands=tuple(self._name(i) for i in state.brand_ids),
            attributes=tuple(self._name(i) for i in state.required_attribute_ids),
            excluded_brands=tuple(self._name(i) for i in state.exclude_brand_ids),
            excluded_attributes=tuple(self._name(i) for i in state.exclude_attribute_ids),
            excluded_items=len(state.exclude_item_ids),
            cheaper_than=state.cheaper_than,
            pricier_than=state.pricier_than,
            price_level=state.price_level,
            wishes=tuple(state.wishes),
            similar_to=update.anchor.title if update.anchor else "",
        )

    @staticmethod
    def _constraints(state: DialogueState) -> tuple[Constraint, ...]:
        out: list[Constraint] = []
        price = state.price_range()
        if price.min is not None:
            out.append(Constraint("price", ">=", f"{price.min:g}"))
        if price.max is not None:
            out.append(Constraint("price", "<=", f"{price.max:g}"))
        out += [Constraint("category", "==", i) for i in state.category_ids]
        out += [Constraint("brand", "==", i) for i in state.brand_ids]
        out += [Constraint("attribute", "==", i) for i in state.required_attribute_ids]
        out += [Constraint("category", "!=", i) for i in state.exclude_category_ids]
        out += [Constraint("brand", "!=", i) for i in state.exclude_brand_ids]
        out += [Constraint("attribute", "!=", i) for i in state.exclude_attribute_ids]
        out += [Constraint("item", "!=", i) for i in state.exclude_item_ids]
        return tuple(out)

    # -- feedback -------------------------------------------------------------------------------

    def feedback_sync(self, event: FeedbackEvent) -> FeedbackResult:
        """Record ``event``; into its session's state too when it names one. The session
        must be the caller's (``user_id`` equal to its creator's, "" for anonymous), else
        NOT_FOUND. An anonymous caller's events are stored as ``anon:<session id>``."""
        now = self.clock()
        session = (
            self._live_session(event.session_id, event.user_id, now) if event.session_id else None
        )
        user_id = event.user_id
        if not user_id:
            if not event.session_id:
                raise InvalidInputError("user_id", "user_id or session_id is required")
            user_id = f"anon:{event.session_id}"
        stored = replace(event, user_id=user_id)
        check_deadline("before recording the event")
        result = self.store.record_event(stored, uuid.uuid4().hex, now)
        log.info(
            "feedback user=%s session=%s type=%s duplicate=%s",
            user_ref(user_id),
            event.session_id or "-",
            event.event_type.value,
            result.duplicate,
        )
        if session is not None and not result.duplicate:
            state = DialogueState.from_json(session.state)
            if event.event_type in NEGATIVE_EVENTS or (
                event.event_type == EventType.RATING and event.value <= 2
            ):
                state.add("disliked_item_ids", event.item_id)
                state.discard("liked_item_ids", event.item_id)
            elif _positive(event):
                state.add("liked_item_ids", event.item_id)
                state.discard("disliked_item_ids", event.item_id)
            self._save_state(session, state.to_json(), now)
        return result


__all__ = ["Pipeline", "PipelineConfig"]
