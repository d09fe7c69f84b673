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
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

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
    is_positive,
)
from kgrec.errors import InvalidInputError
from models.dialogue import DialogueState, DialogueTracker, ShownItem
from models.dialogue.adaptation import NEAR_DUPLICATE_COSINE, near_duplicate_ids
from models.dialogue.session_rules import apply_feedback, candidate_query, echo_constraints
from models.explain import Explainer, ExplainRequest
from models.explain.assemble import applied_constraints, explain_items, ranked_items
from models.feedback import RankingPolicy, open_policy, signal_matrix
from models.feedback.profiles import ProfileBook
from models.feedback.slate import draw_slate
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

    from .impression_log import ImpressionLog

log = logging.getLogger(__name__)


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
        impressions: ImpressionLog | None = None,
        policy_dir: Path | None = None,
    ) -> None:
        """``policy_dir``: where a learning ranking policy keeps its state, one file per model
        version (the model checkpoint's folder); ``None``: in memory only."""
        self.store, self.parser, self.linker = store, parser, linker
        self.explainer, self.scorer, self.clock = explainer, scorer, clock
        self.config = cfg = config or PipelineConfig()
        self.tracker = DialogueTracker(hide_named_items=cfg.hide_named_items)
        self.entities = EntityDirectory(
            lexicon, linker, cfg.link_threshold, cfg.wish_link_threshold
        )
        self.sessions = Sessions(store, cfg.session_policy(), clock)
        #: where shown slates and feedback outcomes are logged (``None``: not logged)
        self.impressions = impressions
        self._draws = itertools.count()  # exploration draws: (config.seed, n)
        self.policy_dir = policy_dir
        self._policies: dict[str, RankingPolicy] = {}  # by model version
        self._policy_lock = threading.Lock()
        self._policy_saved: dict[str, int] = {}  # version -> updates at its last save
        self._policy_saved_at = clock()
        #: cross-session user profiles (``models.feedback.profiles``), None when off
        self.profiles = (
            ProfileBook(store, cfg.profile_half_life_days) if cfg.adapt_profile else None
        )
        if self.profiles is not None:
            on_forget(self.profiles.invalidate)

    @property
    def model_version(self) -> str:
        return self.scorer.version if self.scorer is not None else "kg-match-v0"

    def swap_scorer(self, scorer: ItemScorer) -> ItemScorer | None:
        """Serve ``scorer`` from the next turn on; returns the one it replaces.

        One attribute assignment, so atomic: a turn reads ``self.scorer`` once when it starts
        (``turn.scorer``) and finishes on that model, so no call fails or mixes two models
        during a swap (``server/reload.py`` loads the new one off the event loop)."""
        previous, self.scorer = self.scorer, scorer
        return previous

    def close(self) -> None:
        """Write out the impression log's queue (on shutdown)."""
        if self.impressions is not None:
            self.impressions.close()

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
        self._learn(turn.scorer, turn.policy_rewards)
        METRICS.observe_steps(turn.timings_ms)
        log_turn(turn, self.config.log_message_text)
        if self.impressions is not None:
            self.impressions.log_turn(turn, self.config.rerank_policy, self.clock())
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
        popularity, session feedback and the shopper's price level (the best
        ``max(limit, explore_top)``); then, with a learning ranking policy
        (``rerank_policy``, :mod:`models.feedback`), re-ordered by it (:meth:`rerank`), and
        the shown slate drawn from that (:meth:`show`). The policy explores unless the request
        says ``explore = false``; a price level ("cheap") is the shopper's own order and is
        kept. The previous turn's rows still unrewarded (no click) are rewarded 0 once this
        turn is saved."""
        state, cands, model, scorer = turn.state, turn.candidates, None, turn.scorer
        adapt = self.config.adapt_session
        if scorer is not None and turn.model_scores is not None and cands:
            ids = [c.product.id for c in cands]
            model = zscore(scorer.scores_for(ids, turn.model_scores))
        disliked = self.store.products(state.disliked_item_ids) if state.disliked_item_ids else []
        turn.scored = blend(
            cands, limit=turn.query.limit, n_preferred=len(state.preferred_ids), model=model,
            disliked_brands={p.brand_id for p in disliked if p.brand_id},
            shown=set(state.shown_item_ids) - set(state.liked_item_ids) if adapt else (),
            price_level=state.price_level, weights=self.config.blend_weights(),
            keep=max(turn.query.limit, self.config.explore_top),
        )  # fmt: skip
        turn.blended = turn.scored
        self.rerank(turn)
        self.show(turn)
        self.remember_shown(turn)

    def show(self, turn: Turn) -> None:
        """The shown slate (``models.feedback.slate``): the ranking's top ``limit``, or with
        probability ``explore_rate`` a random ordered draw from its best ``explore_top``;
        ``turn.ranked`` keeps the ranking. Never random when the request says
        ``explore=False`` or the shopper asked for a price order ("cheap")."""
        cfg, q = self.config, turn.query
        fixed = q.explore is False or bool(turn.state.price_level)
        rate = 0.0 if fixed else cfg.explore_rate
        rng = np.random.default_rng((cfg.seed, next(self._draws))) if rate > 0 else None
        turn.ranked = ranked = turn.scored
        turn.slate = slate = draw_slate(
            len(ranked), q.limit, rate=rate, top=cfg.explore_top, rng=rng
        )
        turn.scored = [ranked[j] for j in slate.order]

    def rerank(self, turn: Turn) -> None:
        """The learning ranking policy's order of the whole ranking (``turn.scored``, the
        blend's best ``explore_top``), exploring unless the request says ``explore=false``;
        nothing with policy "off" or a price level (the shopper's own order)."""
        policy = self.ranking_policy(turn.scorer)
        if policy is None or turn.state.price_level or not turn.scored:
            return
        q = turn.query
        rows = signal_matrix(turn.scored, known_user=bool(q.user_id), turn=turn.state.turn)
        order = policy.order(rows, explore=q.explore is not False)
        turn.scored = [turn.scored[i] for i in order]

    def remember_shown(self, turn: Turn) -> None:
        """With a learning policy: the previous turn's rows still unrewarded are rewarded 0
        once this turn is saved, and the shown items' rows wait in the session for a click."""
        if self.ranking_policy(turn.scorer) is None:
            return
        state, q = turn.state, turn.query
        if stale := state.take_policy_rows():
            turn.policy_rewards.append((np.asarray(stale), np.zeros(len(stale))))
        rows = signal_matrix(turn.scored, known_user=bool(q.user_id), turn=state.turn)
        state.remember_policy_rows([s.candidate.product.id for s in turn.scored], rows.tolist())

    def ranking_policy(self, scorer: ItemScorer | None) -> RankingPolicy | None:
        """The learning ranking policy for ``scorer``'s model version (its saved state when
        ``policy_dir`` has one for that version, else a fresh one), or ``None`` when
        ``rerank_policy`` is "off". A swapped-in model gets its own."""
        name = self.config.rerank_policy
        if name == "off":
            return None
        version = scorer.version if scorer is not None else "kg-match-v0"
        with self._policy_lock:
            if version not in self._policies:
                policy = open_policy(name, self.policy_dir, version)
                self._policies[version] = policy
                self._policy_saved[version] = getattr(policy, "n_updates", 0)
            return self._policies[version]

    def _learn(
        self, scorer: ItemScorer | None, rewards: Sequence[tuple[np.ndarray, np.ndarray]]
    ) -> None:
        """Feed ``rewards`` to the policy, and save the policies every
        ``policy_save_interval_s``."""
        policy = self.ranking_policy(scorer) if rewards else None
        if policy is None:
            return
        for rows, reward in rewards:
            policy.update(rows, reward)
        if self.clock() - self._policy_saved_at >= self.config.policy_save_interval_s:
            self.save_policies()

    def save_policies(self) -> None:
        """Save each learning policy that learned since its last save (to ``policy_dir``;
        nothing without one). Called periodically and at shutdown; a failed save is logged,
        the policy keeps serving from memory."""
        from models.feedback.bandit import state_path

        with self._policy_lock:
            self._policy_saved_at = self.clock()
            policies = list(self._policies.items())
            if self.policy_dir is None:
                return
            for version, policy in policies:
                n = getattr(policy, "n_updates", 0)
                if n == self._policy_saved.get(version):
                    continue
                path = state_path(self.policy_dir, policy.name, version)
                try:
                    policy.save(path)
                except OSError:
                    log.exception("could not save the ranking policy to %s", path)
                    continue
                self._policy_saved[version] = n

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
        NOT_FOUND; an anonymous caller's events are stored as ``anon:<session id>``. With a
        learning ranking policy, a positive event (:func:`kgrec.domain.is_positive`) on an
        item the last turn showed rewards that item's row with 1, once the session write that
        takes the row out succeeded (a retried or repeated event finds no row). A click that
        races the session's next turn (both read the row before either wrote) is learned as
        1 here and as 0 by that turn: the one case a row is learned from twice."""
        if not event.user_id and not event.session_id:
            raise InvalidInputError("user_id", "user_id or session_id is required")
        now, sid = self.clock(), event.session_id
        session = self.sessions.live(sid, event.user_id, now) if sid else None
        stored = replace(event, user_id=event.user_id or f"anon:{sid}")
        check_deadline("before recording the event")
        result = self.store.record_event(stored, uuid.uuid4().hex, now)
        log_feedback(stored, result.duplicate)
        if self.impressions is not None and not result.duplicate:
            self.impressions.log_outcome(event, now)
        if not result.duplicate and self.profiles is not None:
            self.profiles.invalidate(stored.user_id)
        if session is not None and not result.duplicate:
            state = DialogueState.from_json(session.state)
            adapt = self.config.adapt_session
            apply_feedback(state, event.event_type, event.value, event.item_id, adapt=adapt)
            learn = self.config.rerank_policy != "off"
            positive = learn and is_positive(event.event_type, event.value)
            rows = state.take_policy_rows(event.item_id) if positive else []
            self.sessions.save(session, state.to_json(), now)
            if rows:  # rewarded 1 once: the row left the session with this write
                self._learn(self.scorer, [(np.asarray(rows), np.ones(len(rows)))])
        return result


__all__ = ["Pipeline", "PipelineConfig"]
