"""bench.turn_profile.drive: the seeded mix, and the same mix with fresh messages."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from bench.turn_profile import drive
from kgrec.domain import FeedbackEvent, RecommendQuery


@dataclass
class _Item:
    item_id: str


class _Pipeline:
    """Records what a served pipeline would be asked; answers with two items."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.messages: list[str] = []
        self._n = 0

    @contextlib.contextmanager
    def _timed(self, turn: Any, name: str) -> Any:
        yield

    def recommend_sync(self, query: RecommendQuery) -> Any:
        self._n += 1
        turn = SimpleNamespace(timings_ms={"understand": 1.0})
        with self._timed(turn, "understand"):  # drive's wrapper records the turn
            pass
        self.calls.append(("recommend", query.user_id, query.session_id))
        self.messages.append(query.message)
        items = [_Item(f"p{self._n}-{k}") for k in range(2)]
        return SimpleNamespace(session_id=query.session_id or f"s{self._n}", items=items,
                               reply="")  # fmt: skip

    def feedback_sync(self, event: FeedbackEvent) -> Any:
        self.calls.append(("feedback", event.user_id, event.session_id))
        return SimpleNamespace(duplicate=False)


def _run(fresh: bool) -> _Pipeline:
    pipeline = _Pipeline()
    drive(SimpleNamespace(pipeline=pipeline), 600, 7, 50, fresh)
    return pipeline


def test_fresh_messages_keep_the_calls_and_frame_each_message() -> None:
    plain, fresh = _run(False), _run(True)
    assert fresh.calls == plain.calls  # the same users, sessions and feedback
    assert all(p in f for p, f in zip(plain.messages, fresh.messages, strict=True))
    assert len(set(plain.messages)) <= 18
    assert len(set(fresh.messages)) >= 0.8 * len(fresh.messages)
    assert _run(True).messages == fresh.messages  # seeded
