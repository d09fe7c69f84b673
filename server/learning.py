"""What the served pipeline learns from feedback, in one place (issue 16's loop).

:class:`Learning` owns the state that outlives a turn: the learning ranking policies (one per
model version, ``models.feedback.bandit``), the exploration draws (``models.feedback.slate``),
the impression log (``server/impression_log.py``) and the users' profiles
(``models.feedback.profiles``). The pipeline calls it at five points: the scoring context
(:meth:`context`), which whole records the ranking needs (:meth:`shows_top`), the order of a
scored turn (:meth:`order`), after the session is saved
(:meth:`after_turn`) and after a Feedback event is stored (:meth:`on_feedback`).

As one of several worker processes (``kgrec serve --workers N``, a
:class:`~server.worker_slot.WorkerSlot`): the exploration draws and the bandit's random
numbers are this worker's own stream (never the same draws as another worker's); a profile
cached here is dropped as soon as any worker stores an event for the user or forgets them
(shared per-user counters, :mod:`server.generations`); and a background thread merges the
learning policies through their state file every ``policy_sync_interval_s``
(:meth:`models.feedback.bandit.LinearBandit.sync`), so a click learned on one worker ranks
turns on the others within about twice that interval.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kg.store import GraphStore
from kgrec.domain import FeedbackEvent, is_positive
from models.dialogue import DialogueState
from models.feedback import RankingPolicy, open_policy, signal_matrix
from models.feedback.profiles import ProfileBook
from models.feedback.slate import draw_slate
from models.scoring.item_scorer import ScoringContext

from .admin import on_forget
from .pipeline_config import PipelineConfig
from .turn import Turn

if TYPE_CHECKING:
    from models.scoring import ItemScorer

    from .impression_log import ImpressionLog
    from .worker_slot import WorkerSlot

__all__ = ["Learning"]

log = logging.getLogger(__name__)

#: what a turn without a scorer reports as its model version
NO_MODEL = "kg-match-v0"


class Learning:
    """The pipeline's memory of feedback: policies, exploration, impressions, profiles.

    ``policy_dir``: where a learning ranking policy keeps its state, one file per model
    version (the model checkpoint's folder); ``None``: in memory only. ``impressions``: where
    shown slates and feedback outcomes are logged (``None``: not logged). ``worker``: this
    process's place among several workers of one server (module docstring); ``None``: alone."""

    def __init__(
        self,
        store: GraphStore,
        config: PipelineConfig,
        clock: Callable[[], float],
        impressions: ImpressionLog | None = None,
        policy_dir: Path | None = None,
        worker: WorkerSlot | None = None,
    ) -> None:
        self.config, self.clock = config, clock
        self.impressions = impressions
        self.policy_dir = policy_dir
        self.worker = worker
        self._draws = itertools.count()  # exploration draws: (config.seed, n) [, worker]
        self._policies: dict[str, RankingPolicy] = {}  # by model version
        self._policy_lock = threading.Lock()
        self._policy_saved: dict[str, int] = {}  # version -> updates at its last save
        self._policy_saved_at = clock()
        #: cross-session user profiles, None when ``adapt_profile`` is off
        self.profiles = (
            ProfileBook(
                store,
                config.profile_half_life_days,
                shared=worker.generations if worker is not None else None,
            )
            if config.adapt_profile
            else None
        )
        if self.profiles is not None:
            on_forget(self.profiles.invalidate)
        self._stop_sync = threading.Event()
        self._sync_thread: threading.Thread | None = None
        if worker is not None and policy_dir is not None and config.rerank_policy != "off":
            self._sync_thread = threading.Thread(
                target=self._sync_loop, name="kgrec-policy-sync", daemon=True
            )
            self._sync_thread.start()

    def _sync_loop(self) -> None:
        while not self._stop_sync.wait(self.config.policy_sync_interval_s):
            try:
                self.save_policies()
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("could not merge the ranking policies' state")

    def _draw_rng(self) -> np.random.Generator:
        """The next exploration draw's generator: ``(seed, n)``, and this worker's own stream
        of those when there are several."""
        entropy = (self.config.seed, next(self._draws))
        if self.worker is None:
            return np.random.default_rng(entropy)
        return np.random.default_rng(
            np.random.SeedSequence(entropy, spawn_key=(self.worker.index,))
        )

    def context(self, ctx: ScoringContext, scorer: ItemScorer) -> ScoringContext:
        """``ctx`` with the user's profile in ``scorer``'s item space (when profiles are on
        and the user is known by id)."""
        if self.profiles is None or not ctx.user_id:
            return ctx
        return replace(ctx, profile=self.profiles.profile(ctx.user_id, scorer))

    def order(self, turn: Turn) -> None:
        """The shown order of a scored turn (``turn.scored``, the blend's best
        ``max(limit, explore_top)``): re-ordered by the learning policy (:meth:`rerank`), the
        slate drawn from that (:meth:`show`), its rows kept for the rewards to come."""
        self.rerank(turn)
        self.show(turn)
        self.remember_shown(turn)

    def rerank(self, turn: Turn) -> None:
        """The learning ranking policy's order of the whole ranking, exploring unless the
        request says ``explore=false``; nothing with policy "off", a price level (the
        shopper's own order) or close matches (they stay after every exact match)."""
        policy = self.ranking_policy(turn.scorer)
        if policy is None or turn.state.price_level or not turn.scored or turn.close_ids:
            return
        q = turn.query
        rows = signal_matrix(turn.scored, known_user=bool(q.user_id), turn=turn.state.turn)
        order = policy.order(rows, explore=q.explore is not False)
        turn.scored = [turn.scored[i] for i in order]

    def show(self, turn: Turn) -> None:
        """The shown slate: the ranking's top ``limit``, or with probability ``explore_rate``
        a random ordered draw from its best ``explore_top``; ``turn.ranked`` keeps the
        ranking. Never random when the request says ``explore=False``, the shopper asked
        for a price order ("cheap") or close matches follow the exact ones."""
        cfg, q = self.config, turn.query
        rate = self._explore_rate(turn)
        rng = self._draw_rng() if rate > 0 else None
        turn.ranked = ranked = turn.scored
        turn.slate = slate = draw_slate(
            len(ranked), q.limit, rate=rate, top=cfg.explore_top, rng=rng
        )
        turn.scored = [ranked[j] for j in slate.order]

    def _explore_rate(self, turn: Turn) -> float:
        """The chance that :meth:`show` draws this turn's slate at random (0: its top)."""
        q, state = turn.query, turn.state
        fixed = q.explore is False or bool(state.price_level or turn.close_ids)
        return 0.0 if fixed else self.config.explore_rate

    def shows_top(self, turn: Turn) -> bool:
        """Whether this turn will show its blend's top ``limit`` as blended: no learning
        policy re-orders it (:meth:`rerank`) and no draw reaches further down (:meth:`show`),
        so only those items' whole records are needed (:func:`server.ranking.rank`)."""
        return self.config.rerank_policy == "off" and self._explore_rate(turn) == 0.0

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

    def after_turn(self, turn: Turn) -> None:
        """Once the turn's session is saved: its rewards learned, its impressions logged."""
        self.learn(turn.scorer, turn.policy_rewards)
        if self.impressions is not None:
            self.impressions.log_turn(turn, self.config.rerank_policy, self.clock())

    def chosen_rows(self, event: FeedbackEvent, state: DialogueState | None) -> list[list[float]]:
        """With a learning policy and a positive event (:func:`kgrec.domain.is_positive`): the
        shown row of its item taken out of ``state`` and returned, for :meth:`reward_chosen`
        once the event and the session write that takes the row out are stored (a retried or
        repeated event finds no row). A click that races the session's next turn (both read
        the row before either wrote) is learned as 1 here and as 0 by that turn: the one case
        a row is learned from twice."""
        learn = self.config.rerank_policy != "off"
        if state is None or not (learn and is_positive(event.event_type, event.value)):
            return []
        return state.take_policy_rows(event.item_id)

    def on_feedback(self, event: FeedbackEvent, user_id: str, now: float) -> None:
        """A newly stored event (not a duplicate): its outcome logged, the user's profile
        refreshed."""
        if self.impressions is not None:
            self.impressions.log_outcome(event, now)
        if self.profiles is not None:
            self.profiles.invalidate(user_id)

    def reward_chosen(self, scorer: ItemScorer | None, rows: Sequence[Sequence[float]]) -> None:
        """Learn reward 1 for the shown ``rows`` the shopper chose (from :meth:`chosen_rows`)."""
        if rows:
            self.learn(scorer, [(np.asarray(rows), np.ones(len(rows)))])

    def ranking_policy(self, scorer: ItemScorer | None) -> RankingPolicy | None:
        """The learning ranking policy for ``scorer``'s model version (its saved state when
        ``policy_dir`` has one for that version, else a fresh one), or ``None`` when
        ``rerank_policy`` is "off". A swapped-in model gets its own."""
        name = self.config.rerank_policy
        if name == "off":
            return None
        version = scorer.version if scorer is not None else NO_MODEL
        with self._policy_lock:
            if version not in self._policies:
                stream = {} if self.worker is None else {"stream": self.worker.index}
                policy = open_policy(name, self.policy_dir, version, **stream)
                self._policies[version] = policy
                self._policy_saved[version] = getattr(policy, "n_updates", 0)
            return self._policies[version]

    def learn(
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
        nothing without one), merged with what other processes saved there since
        (:meth:`~models.feedback.policy.RankingPolicy.sync`); as one of several workers every
        policy, to read the others' updates too. Called periodically and at shutdown; a
        failed save is logged, the policy keeps serving from memory."""
        from models.feedback.bandit import state_path

        with self._policy_lock:
            self._policy_saved_at = self.clock()
            policies = list(self._policies.items())
            if self.policy_dir is None:
                return
            for version, policy in policies:
                n = getattr(policy, "n_updates", 0)
                if self.worker is None and n == self._policy_saved.get(version):
                    continue
                path = state_path(self.policy_dir, policy.name, version)
                try:
                    policy.sync(path)
                except OSError:
                    log.exception("could not save the ranking policy to %s", path)
                    continue
                self._policy_saved[version] = getattr(policy, "n_updates", 0)

    def close(self) -> None:
        """Stop the policy merging, write out the impression log's queue (on shutdown)."""
        self._stop_sync.set()
        if self._sync_thread is not None:
            self._sync_thread.join()
        if self.impressions is not None:
            self.impressions.close()
