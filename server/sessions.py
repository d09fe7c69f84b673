"""Conversations as the graph keeps them: who owns one, when it expires, and writing its state
without losing a concurrent write (two turns, or a turn and a feedback, on one session)."""

from __future__ import annotations

import logging
import math
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from kg.store import GraphStore
from kg.types import SessionRecord
from kgrec.domain import FeedbackEvent, FeedbackResult
from kgrec.errors import ConflictError, KgrecError, SessionNotFoundError
from models.dialogue import DialogueState

from .session_merge import merge_states

__all__ = ["SessionPolicy", "Sessions"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long a conversation lives and how hard a write tries (documented defaults)."""

    ttl_s: float = 24 * 3600  # a session idle longer than this is gone (NOT_FOUND)
    # expired sessions are deleted when a new one is created, at most once per this interval
    purge_interval_s: float = 60.0
    purge_batch: int = 1000  # sessions deleted per purge at most
    # a session write that keeps losing to concurrent writes gives up (ABORTED) after this
    write_attempts: int = 40


class Sessions:
    """Opens, checks and saves sessions in ``store`` under ``policy``."""

    def __init__(
        self, store: GraphStore, policy: SessionPolicy, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock
        self._purge_lock = threading.Lock()
        self._last_purge = -math.inf

    def open(self, session_id: str, user_id: str) -> SessionRecord:
        """The caller's live session ``session_id``; with none, a new one in memory only
        (:meth:`save` with ``new`` stores it once its first turn is done)."""
        now = self.clock()
        if session_id:
            return self.live(session_id, user_id, now)
        self._purge_expired(now)
        return SessionRecord(uuid.uuid4().hex, user_id, now, now)

    def live(self, session_id: str, user_id: str, now: float) -> SessionRecord:
        """The session, unless it is unknown, idle past its TTL, or not the caller's: a
        session belongs to the user id that created it ("" for an anonymous caller), and any
        other caller is told NOT_FOUND, exactly as for an unknown id (nothing reveals that
        someone else's session exists)."""
        session = self.store.get_session(session_id)
        if (
            session is None
            or now - session.updated_at > self.policy.ttl_s
            or session.user_id != user_id
        ):
            raise SessionNotFoundError(session_id)
        return session

    def save(
        self, session: SessionRecord, state: str, now: float, new: bool = False
    ) -> SessionRecord:
        """Write ``state`` over ``session`` without losing a concurrent write: compare-and-set
        on the session's version; on a lost race, merge this call's changes into the state
        that won (:func:`~server.session_merge.merge_states`) and try again. ``new``: the
        session is :meth:`open`'s in-memory one, stored now with ``state`` in one write.
        Returns the session as stored."""
        if new:
            stored = self.store.create_session(session.id, session.user_id, now, state=state)
            if stored.version == 1 and stored.state == state:
                return stored
            session = stored  # it existed (an id reused): write over it as over any other
        # compared in one form: a new session's "" is the default state, field by field
        base, version = DialogueState.from_json(session.state).to_json(), session.version
        for attempt in range(self.policy.write_attempts):
            written = self.store.save_session_state(session.id, state, now, version=version)
            if written is not None:
                return replace(session, updated_at=now, state=state, version=written)
            current = self.store.get_session(session.id)
            if current is None:
                raise SessionNotFoundError(session.id)
            theirs = DialogueState.from_json(current.state).to_json()
            state = merge_states(base, state, theirs)
            base, version = theirs, current.version
            time.sleep(random.uniform(0, min(0.02, 0.0005 * 2**attempt)))  # noqa: S311
        raise ConflictError(f"session {session.id}: too many concurrent updates")

    def record(
        self, session: SessionRecord, event: FeedbackEvent, event_id: str, now: float, state: str
    ) -> FeedbackResult:
        """Store ``event`` and, when it is new, write ``state`` over ``session`` in the same
        store write (:meth:`kg.store.GraphStore.record_event_with_state`); a session that moved
        on since it was read gets ``state`` through :meth:`save`'s merge."""
        result, version = self.store.record_event_with_state(
            event, event_id, now, state, session.version
        )
        if version is None and not result.duplicate:
            self.save(session, state, now)
        return result

    def _purge_expired(self, now: float) -> None:
        """Delete sessions idle past the TTL (on session creation, throttled): they are
        unreachable already, and a shopper's conversation should not outlive it."""
        policy = self.policy
        with self._purge_lock:
            if now - self._last_purge < policy.purge_interval_s:
                return
            self._last_purge = now
        try:
            n = self.store.purge_sessions(now - policy.ttl_s, policy.purge_batch)
        except KgrecError:
            log.warning("purging expired sessions failed", exc_info=True)
            return
        if n:
            log.info("purged %d expired session(s)", n)
