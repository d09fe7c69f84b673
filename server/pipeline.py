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
from pathlib import Path
from typing import TYPE_CHECKING

from kg.linking import EntityDirectory
from kg.store import GraphStore
from kg.types import LexiconEntry
from kgrec.domain import (
    FeedbackEvent,
    FeedbackResult,
    LinkedEntity,
    ParsedIntent,
    Recommendation,
    RecommendQuery,
)
from kgrec.errors import InvalidInputError
from models.dialogue import DialogueState, DialogueTracker, ShownItem
from models.dialogue.session_rules import apply_feedback, echo_constraints
from models.explain import Explainer, ExplainRequest
from models.explain.assemble import applied_constraints, close_misses, explain_items, ranked_items

from .deadline import check_deadline
from .evidence import gather_evidence
from .filter_ids import check_category_ids
from .learning import NO_MODEL, Learning
from .log import log_feedback, log_turn
from .metrics import METRICS
from .pipeline_config import PipelineConfig
from .ranking import rank
from .retrieval import retrieve
from .sessions import Sessions
from .turn import Turn

if TYPE_CHECKING:
    from kg.linking import EntityLinker
    from models.intent import IntentParser, Mention
    from models.scoring import ItemScorer

    from .impression_log import ImpressionLog
    from .worker_slot import WorkerSlot


class Pipeline:
    """Composes graph store, intent parser, entity linker, scorer and explainer;
    ``impressions``, ``policy_dir`` and ``worker`` go to :class:`~server.learning.Learning`."""

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
        worker: WorkerSlot | None = None,
    ) -> None:
        self.store, self.parser, self.linker = store, parser, linker
        self.explainer, self.scorer, self.clock = explainer, scorer, clock
        self.config = cfg = config or PipelineConfig()
        self.tracker = DialogueTracker(hide_named_items=cfg.hide_named_items)
        self.entities = EntityDirectory(
            lexicon, linker, cfg.link_threshold, cfg.wish_link_threshold
        )
        self.sessions = Sessions(store, cfg.session_policy(), clock)
        #: what the pipeline learns from feedback (``server/learning.py``)
        self.learning = Learning(store, cfg, clock, impressions, policy_dir, worker)

    @property
    def model_version(self) -> str:
        return self.scorer.version if self.scorer is not None else NO_MODEL

    def swap_scorer(self, scorer: ItemScorer) -> ItemScorer | None:
        """Serve ``scorer`` from the next turn on (one assignment: a running turn finishes on
        its ``turn.scorer``; ``server/reload.py``); returns the one it replaces."""
        previous, self.scorer = self.scorer, scorer
        return previous

    def close(self) -> None:
        """On shutdown: the learned policies saved, the impression log written out."""
        self.learning.save_policies()
        self.learning.close()

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
        """One turn: the five steps, then the session saved (a new one only now). The deadline
        is checked before each step and the write: an expired turn writes nothing. Timed
        besides the steps: ``session`` (its read and write), ``pipeline`` (the whole call)."""
        started = time.perf_counter()
        check_deadline("before the turn")
        check_category_ids(query.filters.category_ids, self.entities.entries)
        opening = time.perf_counter()
        session = self.sessions.open(query.session_id, query.user_id)
        opened = time.perf_counter()
        state = DialogueState.from_json(session.state)
        turn = Turn(query=query, session=session, state=state, scorer=self.scorer)
        for step in (self.understand, self.link, self.retrieve, self.score, self.explain):
            with self._timed(turn, step.__name__):
                step(turn)
        check_deadline("before saving the session")
        new, saving = not query.session_id, time.perf_counter()
        turn.session = self.sessions.save(turn.session, turn.state.to_json(), self.clock(), new)
        session_ms = (opened - opening + time.perf_counter() - saving) * 1000
        self.learning.after_turn(turn)
        turn.timings_ms.update(session=session_ms, pipeline=(time.perf_counter() - started) * 1000)
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
        from models.intent import Intent

        state, message = turn.state, turn.query.message
        previous = Intent.previous(state.last_intent_type, state.last_mentions)
        turn.intent = intent = self.parser.parse(message, previous=previous)
        seen = [asdict(m) for m in intent.mentions]
        state.remember_intent(message, intent.type.value, seen, intent.clear_constraints)

    def link(self, turn: Turn) -> None:
        """2. link (``kg.linking``): mentions and wishes to nodes; ``models.dialogue``'s
        tracker updates the session's constraints."""
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

    def resolve(self, m: Mention) -> LinkedEntity | None:
        """The node mention ``m`` stands for (:meth:`kg.linking.EntityDirectory.resolve`)."""
        e = self.entities
        return e.resolve(m.text, entity_id=m.entity_id, label_hint=m.label_hint, negated=m.negated)

    def retrieve(self, turn: Turn) -> None:
        """3. retrieve (``kg`` + ``models.scoring``, glued in ``server/retrieval.py``): the
        graph's candidates under the constraints, widened by the scorer's best for the
        conversation (asked once, with the session's feedback and the user's profile), without
        the near-duplicates of disliked items."""
        retrieve(turn, self.store, self.config, self.learning)

    def score(self, turn: Turn) -> None:
        """4. score (``models.scoring.blend``): the learned scores blended with KG matches,
        popularity, session feedback and the shopper's price level (the best
        ``max(limit, explore_top)``); then, with a learning ranking policy
        (``rerank_policy``), re-ordered by it and the shown slate drawn
        (:meth:`server.learning.Learning.order`). The records of what can be shown are read
        whole here (:func:`server.ranking.rank`)."""
        whole = turn.query.limit if self.learning.shows_top(turn) else None
        turn.scored = rank(turn, self.store, self.config, whole)
        turn.blended = turn.scored
        self.learning.order(turn)

    def explain(self, turn: Turn) -> None:
        """5. explain (``models.explain``): KG paths and aggregated co-shoppers for the top
        items, then the grounded reply and the response."""
        assert turn.intent is not None and turn.update is not None
        q, intent, state, anchor = turn.query, turn.intent, turn.state, turn.update.anchor
        paths, co = gather_evidence(turn, self.store, self.config)
        products = (s.candidate.product for s in turn.scored)
        misses = close_misses(products, turn.close_ids, state, self.entities.name)
        items = explain_items(turn.scored, paths, co, misses)
        applied = applied_constraints(state, self.entities.name, anchor.title if anchor else "")
        vague = not (turn.linked or intent.price or intent.references or q.context_item_ids)
        request = ExplainRequest(items, applied, tuple(turn.linked), intent.type,
                                 vague and q.filters.is_empty, state.turn)  # fmt: skip
        explanation = self.explainer.explain(request)
        state.remember_ranking([ShownItem.of(it.product) for it in items])
        parsed = ParsedIntent(intent.type, tuple(turn.linked), echo_constraints(state),
                              intent.confidence, intent.backend)  # fmt: skip
        ranked = ranked_items(items, explanation, q.explain)
        version = turn.scorer.version if turn.scorer is not None else NO_MODEL
        turn.result = Recommendation(turn.session.id, ranked, explanation.reply, parsed,
                                     version, q.request_id)  # fmt: skip

    def feedback_sync(self, event: FeedbackEvent) -> FeedbackResult:
        """Record ``event`` (once per idempotency key) and, in the same write, its session's
        state with the event folded in (``apply_feedback``); a new event is learned from
        (:class:`~server.learning.Learning`). The session must be the caller's, else NOT_FOUND;
        an anonymous caller's events are stored as ``anon:<session id>``."""
        if not event.user_id and not event.session_id:
            raise InvalidInputError("user_id", "user_id or session_id is required")
        now, sid = self.clock(), event.session_id
        session = self.sessions.live(sid, event.user_id, now) if sid else None
        stored = replace(event, user_id=event.user_id or f"anon:{sid}")
        state = DialogueState.from_json(session.state) if session is not None else None
        rows = self.learning.chosen_rows(event, state)
        check_deadline("before recording the event")
        if session is None or state is None:
            result = self.store.record_event(stored, uuid.uuid4().hex, now)
        else:
            adapt = self.config.adapt_session
            apply_feedback(state, event.event_type, event.value, event.item_id, adapt=adapt)
            result = self.sessions.record(session, stored, uuid.uuid4().hex, now, state.to_json())
        log_feedback(stored, result.duplicate)
        if not result.duplicate:
            self.learning.on_feedback(event, stored.user_id, now)
            self.learning.reward_chosen(self.scorer, rows)  # the write took the rows out
        return result


__all__ = ["Pipeline", "PipelineConfig"]
