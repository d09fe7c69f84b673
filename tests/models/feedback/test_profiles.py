"""User profiles from durable events: a pure function of the events (each counted once, decayed
by its age relative to the newest), cached per user and scorer version, invalidated on a new
event and on forget-user, bounded."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from kg.types import StoredEvent
from kgrec.domain import feedback_weight
from models.feedback.profiles import DAY_S, ProfileBook, profile_vector

VECTORS = {"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [-1.0, 0.0]}


def _vectors(ids: Sequence[str]) -> np.ndarray:
    return np.array([VECTORS.get(i, [0.0, 0.0]) for i in ids], dtype=np.float32)


def _profile(events: Sequence[StoredEvent], half_life: float = 30.0) -> np.ndarray:
    got = profile_vector(events, _vectors, half_life)
    assert got is not None
    return got


def _event(item: str, kind: str, ts: float = 0.0, value: float = 0.0, n: int = 0) -> StoredEvent:
    return StoredEvent(f"e{n}-{item}-{kind}-{ts}", "u", item, kind, value, ts)


def test_event_weights_and_ratings_in_proportion() -> None:
    assert [feedback_weight("rating", r) for r in (1, 2, 3, 4, 5)] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert feedback_weight("purchase") == 1.0 > feedback_weight("click") > 0
    assert feedback_weight("dislike") == -1.0 < feedback_weight("dismiss") < 0
    assert feedback_weight("impression") == feedback_weight("an-imported-kind") == 0.0


def test_the_profile_is_the_weighted_mean_of_the_items_counted_once_each() -> None:
    events = [_event("a", "purchase"), _event("b", "click"), _event("c", "dislike")]
    got = _profile(events)
    # (1 * a + 0.3 * b - 1 * c) / (1 + 0.3 + 1)
    np.testing.assert_allclose(got, np.array([2.0, 0.3]) / 2.3, rtol=1e-6)
    # a second copy of an event is a second event: the profile tells it apart
    twice = _profile([*events, events[1]])
    assert not np.allclose(twice, got)
    # the order the events come in does not matter
    np.testing.assert_allclose(_profile(events[::-1]), got)


def test_an_event_one_half_life_older_counts_half() -> None:
    old, new = _event("a", "purchase", ts=0.0), _event("b", "purchase", ts=10 * DAY_S)
    got = _profile([old, new], 10.0)
    np.testing.assert_allclose(got, np.array([0.5, 1.0]) / 1.5, rtol=1e-6)
    # "now" plays no part: shifting every event by a year changes nothing
    later = [_event(e.item_id, e.type, ts=e.ts + 365 * DAY_S) for e in (old, new)]
    np.testing.assert_allclose(_profile(later, 10.0), got, rtol=1e-6)
    with pytest.raises(ValueError, match="half_life"):
        profile_vector([old], _vectors, 0.0)


def test_no_weighted_events_or_no_vectors_is_no_profile() -> None:
    assert profile_vector([], _vectors, 30.0) is None
    assert (
        profile_vector([_event("a", "impression"), _event("a", "rating", value=3)], _vectors, 30.0)
        is None
    )
    assert profile_vector([_event("a", "purchase")], lambda ids: None, 30.0) is None


class _Store:
    def __init__(self) -> None:
        self.events: dict[str, list[StoredEvent]] = {}
        self.reads = 0

    def user_events(self, user_id: str, limit: int = 100) -> list[StoredEvent]:
        self.reads += 1
        return sorted(self.events.get(user_id, []), key=lambda e: -e.ts)[:limit]


class _Scorer:
    version = "v1"

    def item_vectors(self, ids: Sequence[str]) -> np.ndarray:
        return _vectors(ids)


def test_the_book_caches_per_user_and_version_and_forgets_on_invalidate() -> None:
    store, scorer = _Store(), _Scorer()
    store.events["u"] = [_event("a", "purchase", ts=1.0)]
    book = ProfileBook(store, 30.0, capacity=2)  # type: ignore[arg-type]
    first = book.profile("u", scorer)  # type: ignore[arg-type]
    assert first is not None
    assert book.profile("u", scorer) is first and store.reads == 1  # type: ignore[arg-type]
    store.events["u"].append(_event("b", "purchase", ts=2.0))
    book.invalidate("u")  # what the pipeline does when it records the event
    second = book.profile("u", scorer)  # type: ignore[arg-type]
    assert second is not None and not np.allclose(second, first)
    scorer.version = "v2"  # a swapped model: another item space
    book.profile("u", scorer)  # type: ignore[arg-type]
    assert store.reads == 3
    for user in ("x", "y", "z"):  # bounded: the least recently used go first
        book.profile(user, scorer)  # type: ignore[arg-type]
    assert len(book) == 2


def test_an_entry_expires_after_its_ttl() -> None:
    store, now = _Store(), [0.0]
    book = ProfileBook(store, 30.0, ttl_s=10.0, clock=lambda: now[0])  # type: ignore[arg-type]
    book.profile("u", _Scorer())  # type: ignore[arg-type]
    now[0] = 11.0
    book.profile("u", _Scorer())  # type: ignore[arg-type]
    assert store.reads == 2


def test_forget_user_drops_the_cached_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    from kg.types import UserDataCounts
    from server import admin

    store, scorer = _Store(), _Scorer()
    store.events["u"] = [_event("a", "purchase")]
    book = ProfileBook(store, 30.0)  # type: ignore[arg-type]
    admin.on_forget(book.invalidate)
    assert book.profile("u", scorer) is not None  # type: ignore[arg-type]

    class _Forgetting(_Store):
        def forget_user(self, user_id: str) -> UserDataCounts:
            store.events.pop(user_id, None)
            return UserDataCounts()

        def user_data_counts(self, user_id: str) -> UserDataCounts:
            return UserDataCounts()

    admin.forget_user(_Forgetting(), "u")  # type: ignore[arg-type]
    assert book.profile("u", scorer) is None  # type: ignore[arg-type]
