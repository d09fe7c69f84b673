"""What the workers of ``kgrec serve --workers N`` share in memory: per-user change counters,
so a profile cached by one worker is dropped when another records the user's event; and
what each keeps to itself: its exploration draws."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from kg.types import StoredEvent
from models.feedback import SIGNALS
from models.feedback.profiles import ProfileBook
from server.generations import SharedGenerations
from server.learning import Learning
from server.pipeline_config import PipelineConfig
from server.worker_slot import WorkerSlot


@pytest.fixture
def generations() -> SharedGenerations:
    shared = SharedGenerations.create()
    yield shared  # type: ignore[misc]
    shared.close()


def test_a_bump_through_one_mapping_is_read_through_another(
    generations: SharedGenerations,
) -> None:
    other = SharedGenerations(os.dup(generations.fd))  # as another process maps it
    try:
        assert other.read("user:1") == generations.read("user:1") == 0
        generations.bump("user:1")
        generations.bump("user:1")
        assert other.read("user:1") == 2
        assert other.read("user:2") == 0 or other.slot("user:2") == other.slot("user:1")
    finally:
        other.close()


class _Store:
    def __init__(self) -> None:
        self.events: list[StoredEvent] = []
        self.reads = 0

    def user_events(self, user_id: str, limit: int = 100) -> list[StoredEvent]:
        self.reads += 1
        return list(self.events)


class _Scorer:
    version = "v1"

    def item_vectors(self, ids: Sequence[str]) -> np.ndarray:
        table = {"a": [1.0, 0.0], "b": [0.0, 1.0]}
        return np.array([table[i] for i in ids], dtype=np.float32)


def test_feedback_recorded_on_one_worker_drops_the_profile_another_cached(
    generations: SharedGenerations,
) -> None:
    store, scorer = _Store(), _Scorer()
    store.events = [StoredEvent("e1", "u", "a", "purchase", 0.0, 1.0)]
    # two workers: each its own cache and counters mapping, one graph
    here = ProfileBook(store, 30.0, shared=generations)  # type: ignore[arg-type]
    there = ProfileBook(store, 30.0, shared=SharedGenerations(os.dup(generations.fd)))  # type: ignore[arg-type]
    first = there.profile("u", scorer)  # type: ignore[arg-type]
    assert there.profile("u", scorer) is first and store.reads == 1  # type: ignore[arg-type]
    store.events.append(StoredEvent("e2", "u", "b", "purchase", 0.0, 2.0))
    here.invalidate("u")  # the worker that stored the event
    second = there.profile("u", scorer)  # type: ignore[arg-type]
    assert store.reads == 2 and not np.allclose(second, first)  # type: ignore[arg-type]
    # without shared counters the other worker would have kept the old profile
    alone = ProfileBook(store, 30.0)  # type: ignore[arg-type]
    cached = alone.profile("u", scorer)  # type: ignore[arg-type]
    here.invalidate("u")
    assert alone.profile("u", scorer) is cached  # type: ignore[arg-type]


def _draws(worker: WorkerSlot | None) -> list[tuple[int, ...]]:
    config = PipelineConfig(adapt_profile=False, explore_rate=1.0)
    learning = Learning(None, config, time.time, worker=worker)  # type: ignore[arg-type]
    return [tuple(learning._draw_rng().permutation(20)) for _ in range(5)]


def test_each_worker_draws_its_own_exploration_and_alone_draws_as_before(
    generations: SharedGenerations,
) -> None:
    first = _draws(WorkerSlot(0, 2, generations))
    second = _draws(WorkerSlot(1, 2, generations))
    assert not set(first) & set(second)
    assert first == _draws(WorkerSlot(0, 2, generations))  # reproducible per worker
    seed = PipelineConfig().seed
    assert _draws(None) == [
        tuple(np.random.default_rng((seed, n)).permutation(20)) for n in range(5)
    ]


def test_a_worker_merges_the_policy_state_in_the_background(
    generations: SharedGenerations, tmp_path: Path
) -> None:
    config = PipelineConfig(
        adapt_profile=False, rerank_policy="linucb", policy_sync_interval_s=0.05
    )
    workers = [
        Learning(None, config, time.time, policy_dir=tmp_path, worker=WorkerSlot(i, 2, generations))  # type: ignore[arg-type]
        for i in range(2)
    ]
    try:
        x = np.zeros((3, len(SIGNALS)))
        x[:, 0] = 1.0
        workers[0].learn(None, [(x, np.ones(3))])
        policy = workers[1].ranking_policy(None)
        assert policy is not None
        deadline = time.monotonic() + 10
        while getattr(policy, "n_updates", 0) != 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert getattr(policy, "n_updates", 0) == 3  # worker 0's click, learned by worker 1
    finally:
        for learning in workers:
            learning.close()
