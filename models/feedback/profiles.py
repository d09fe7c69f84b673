"""Cross-session user profiles from the user's durable feedback events, without a retrain.

A user's profile is a vector in the scorer's item space (:meth:`ItemScorer.item_vectors`):

.. math::
    \\text{profile}(u) = \\frac{\\sum_e w_e\\, 2^{-(t_{\\max} - t_e)/T}\\, \\hat v_{i_e}}
                              {\\sum_e |w_e|\\, 2^{-(t_{\\max} - t_e)/T}}

over the user's stored events ``e`` (item ``i_e``, time ``t_e``), ``w_e`` the event's signed
weight (:func:`kgrec.domain.feedback_weight`: a purchase ``1``, a rating ``(r - 3) / 2``, a
dislike ``-1``), ``T`` the half-life (``profile_half_life_days``) and ``t_max`` the newest
event: an event ``T`` older than another counts half as much. The common decay to "now"
cancels in the ratio, so the profile is a pure function of the stored events: each event the
graph holds exactly once (the Feedback path's idempotency) is counted exactly once, a retry
changes nothing, and a restart rebuilds the same vector. It needs no model of the user, so it
works for shoppers the model never saw (where it matters most); a scorer adds it as a
z-scored ``<item, profile>`` term (:class:`models.scoring.GnnScorer`).

:class:`ProfileBook` caches one profile per user (LRU, bounded) for the scorer version it
was computed with; the pipeline invalidates a user's entry when it records a new event for
them and when forget-user runs, and an entry expires after ``ttl_s`` anyway (another server
replica may have recorded the event). With ``shared`` counters (the worker processes of one
server, :class:`server.generations.SharedGenerations`), an invalidation on any worker
reaches every worker's cache at once: an entry is used only while the user's shared counter
still holds the value read before its events were.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from kg.types import StoredEvent
from kgrec.domain import feedback_weight

if TYPE_CHECKING:
    from kg.store import GraphStore
    from models.scoring import ItemScorer

__all__ = ["DAY_S", "Generations", "ProfileBook", "profile_vector"]

DAY_S = 86_400.0


def profile_vector(
    events: Sequence[StoredEvent],
    vectors: Callable[[Sequence[str]], np.ndarray | None],
    half_life_days: float,
) -> np.ndarray | None:
    """The profile of the module docstring from ``events`` (any order), ``vectors`` giving
    each item's L2-normalised vector (``ItemScorer.item_vectors``); ``None`` when no event
    weighs anything or the scorer has no vectors."""
    if half_life_days <= 0:
        raise ValueError(f"half_life_days must be > 0, not {half_life_days}")
    weighted = [(e, feedback_weight(e.type, e.value)) for e in events]
    weighted = [(e, w) for e, w in weighted if w]
    if not weighted:
        return None
    newest = max(e.ts for e, _ in weighted)
    per_item: dict[str, float] = {}
    total = 0.0
    for event, weight in weighted:
        decay = math.exp2(-max(0.0, newest - event.ts) / (half_life_days * DAY_S))
        per_item[event.item_id] = per_item.get(event.item_id, 0.0) + weight * decay
        total += abs(weight) * decay
    items = list(per_item)
    matrix = vectors(items)
    if matrix is None or not len(matrix):
        return None
    coef = np.array([per_item[i] for i in items], dtype=np.float64)
    profile = (coef @ np.asarray(matrix, dtype=np.float64)) / total
    return profile.astype(np.float32) if np.any(profile) else None


class Generations(Protocol):
    """Per-user change counters shared between processes (``server.generations``)."""

    def read(self, key: str) -> int: ...

    def bump(self, key: str) -> None: ...


@dataclass(slots=True)
class _Entry:
    version: str
    expires: float
    profile: np.ndarray | None
    shared: int = 0  # the user's shared counter when the events were read


class ProfileBook:
    """Per-user profiles (:func:`profile_vector`) from ``store.user_events``, cached.

    Args:
        store: where the events are (the newest ``max_events`` of a user are read).
        half_life_days: ``T`` of the module docstring.
        capacity: users cached at most (least recently used dropped first).
        ttl_s: an entry's lifetime, the staleness bound for events recorded elsewhere.
        max_events: the newest events read per user (older ones decayed the most).
        shared: counters shared with the other workers of this server (module docstring);
            ``None``: this process's invalidations only.
    """

    def __init__(
        self,
        store: GraphStore,
        half_life_days: float = 30.0,
        *,
        capacity: int = 10_000,
        ttl_s: float = 60.0,
        max_events: int = 1_000,
        clock: Callable[[], float] = time.monotonic,
        shared: Generations | None = None,
    ) -> None:
        if half_life_days <= 0:
            raise ValueError(f"half_life_days must be > 0, not {half_life_days}")
        if capacity < 1 or max_events < 1:
            raise ValueError("capacity and max_events must be >= 1")
        self.store, self.half_life_days = store, half_life_days
        self.capacity, self.ttl_s, self.max_events = capacity, ttl_s, max_events
        self._clock, self._shared = clock, shared
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        # bumped by invalidate, so a compute that read the events before is not cached;
        # the epoch is bumped when the generations are pruned
        self._generation: dict[str, int] = {}
        self._epoch = 0
        self._lock = threading.Lock()

    def profile(self, user_id: str, scorer: ItemScorer) -> np.ndarray | None:
        """``user_id``'s profile in ``scorer``'s item space (``None``: no weighted events,
        or a scorer without item vectors)."""
        now = self._clock()
        shared = self._shared.read(user_id) if self._shared is not None else 0
        with self._lock:
            entry = self._entries.get(user_id)
            if (
                entry is not None
                and entry.version == scorer.version
                and entry.expires > now
                and entry.shared == shared
            ):
                self._entries.move_to_end(user_id)
                return entry.profile
            generation = (self._epoch, self._generation.get(user_id, 0))
        events = self.store.user_events(user_id, limit=self.max_events)
        profile = profile_vector(events, scorer.item_vectors, self.half_life_days)
        with self._lock:
            if (self._epoch, self._generation.get(user_id, 0)) == generation:
                self._entries[user_id] = _Entry(scorer.version, now + self.ttl_s, profile, shared)
                self._entries.move_to_end(user_id)
                while len(self._entries) > self.capacity:
                    self._entries.popitem(last=False)
        return profile

    def invalidate(self, user_id: str) -> None:
        """Forget ``user_id``'s cached profile (a new event, or forget-user; call it after
        the change is stored), in every worker sharing the counters."""
        if self._shared is not None:
            self._shared.bump(user_id)
        with self._lock:
            self._entries.pop(user_id, None)
            self._generation[user_id] = self._generation.get(user_id, 0) + 1
            if len(self._generation) > self.capacity:  # bounded too
                self._generation.clear()
                self._epoch += 1

    def __len__(self) -> int:
        return len(self._entries)
