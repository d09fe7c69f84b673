"""Several processes learning one bandit through its state file (``kgrec serve --workers N``):
what they merge is what one learner that saw every event holds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.feedback import SIGNALS, make_policy
from models.feedback.bandit import LinearBandit


def _events(seed: int, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        x = rng.normal(size=(4, len(SIGNALS)))
        x[:, -2] = rng.integers(0, 2)
        x[:, -1] = rng.random()
        out.append((x, (rng.random(4) < 0.3).astype(float)))
    return out


def _sums(policy: LinearBandit) -> tuple[np.ndarray, np.ndarray, int]:
    state = policy.state()
    return np.asarray(state["a"]), np.asarray(state["b"]), int(state["n_updates"])


@pytest.mark.parametrize("name", ["linucb", "thompson"])
def test_two_workers_synced_hold_what_one_learner_of_all_events_holds(
    name: str, tmp_path: Path
) -> None:
    path = tmp_path / "state.json"
    events = _events(1, 60)
    alone = make_policy(name)
    workers = [make_policy(name, stream=0), make_policy(name, stream=1)]
    for i, (x, r) in enumerate(events):
        alone.update(x, r)
        workers[i % 2].update(x, r)
        if i % 7 == 0:  # syncs interleaved with learning, at different times per worker
            workers[i % 2].sync(path)
        if i % 11 == 0:
            workers[(i + 1) % 2].sync(path)
    for worker in workers:
        worker.sync(path)
    workers[0].sync(path)  # the first to sync has not read the second's last delta yet
    a, b, n = _sums(alone)  # type: ignore[arg-type]
    for worker in workers:
        wa, wb, wn = _sums(worker)  # type: ignore[arg-type]
        assert wn == n == 60 * 4
        np.testing.assert_allclose(wa, a, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(wb, b, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(worker.theta, alone.theta, rtol=1e-7, atol=1e-9)  # type: ignore[attr-defined]
    saved = json.loads(path.read_text())
    np.testing.assert_allclose(saved["a"], a, rtol=1e-9, atol=1e-9)
    assert saved["n_updates"] == n


def test_a_sync_keeps_updates_made_during_it_and_a_missing_file_counts_as_the_prior(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    (x, r), (x2, r2) = _events(2, 2)
    one, other = make_policy("linucb", stream=0), make_policy("linucb", stream=1)
    one.update(x, r)
    one.sync(path)  # no file yet: the prior plus one's update
    other.sync(path)  # other learned nothing: it takes one's state
    np.testing.assert_allclose(_sums(other)[0], _sums(one)[0])  # type: ignore[arg-type]
    other.update(x2, r2)
    other.sync(path)
    one.sync(path)
    assert _sums(one)[2] == _sums(other)[2] == 8  # type: ignore[arg-type]


def test_an_unreadable_state_file_is_overwritten_with_this_process_state(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")
    policy = make_policy("linucb", stream=0)
    x, r = _events(3, 1)[0]
    policy.update(x, r)
    policy.sync(path)
    assert json.loads(path.read_text())["n_updates"] == 4


def test_streams_draw_differently_and_a_loaded_state_does_not_make_them_alike(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    make_policy("thompson").save(path)
    x = _events(4, 1)[0][0]
    orders = []
    for stream in (0, 1):
        policy = make_policy("thompson", stream=stream, scale=1.0)
        policy.load(path)
        orders.append([tuple(policy.order(x, explore=True)) for _ in range(20)])
    assert orders[0] != orders[1]
