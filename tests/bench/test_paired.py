"""The paired bootstrap: zero for identical runs, a clear shift excluded from zero."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `bench` is not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from bench.paired import paired_bootstrap, seed_mean  # noqa: E402


def _runs(seeds: int, users: int = 400, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, size=(seeds, users))


def test_identical_runs_give_an_interval_around_zero() -> None:
    a = _runs(3)
    d = paired_bootstrap(a, a.copy())
    assert d.mean == 0.0 and d.low <= 0.0 <= d.high
    assert d.verdict() == "not significant"


def test_noise_without_a_shift_is_not_significant() -> None:
    a, b = _runs(3, seed=1), _runs(3, seed=2)
    d = paired_bootstrap(a, b)
    assert d.low < 0.0 < d.high


def test_a_clear_shift_excludes_zero_in_its_direction() -> None:
    b = _runs(3, seed=3)
    a = b + 0.05 + np.random.default_rng(4).normal(0, 0.05, size=b.shape)
    d = paired_bootstrap(a, b)
    assert d.excludes_zero and d.low > 0.02 and d.verdict() == "better"
    assert paired_bootstrap(b, a).verdict() == "worse"
    assert d.mean == pytest.approx(float(a.mean() - b.mean()))


def test_seeds_are_averaged_per_user_before_pairing() -> None:
    a = np.array([[1.0, 0.0], [0.0, 0.0]])  # user 0: mean 0.5 over two seeds
    b = np.array([0.25, 0.0])  # one run (a deterministic ranker)
    assert seed_mean(a).tolist() == [0.5, 0.0]
    d = paired_bootstrap(a, b, samples=200)
    assert d.mean == pytest.approx(0.125) and d.seeds == (2, 1) and d.users == 2


def test_interval_is_reproducible_and_mismatched_users_are_rejected() -> None:
    a, b = _runs(2, seed=5), _runs(2, seed=6)
    assert paired_bootstrap(a, b) == paired_bootstrap(a, b)
    with pytest.raises(ValueError):
        paired_bootstrap(a, b[:, :-1])
