"""The shown slate and its propensities (models/feedback/slate.py)."""

from __future__ import annotations

import numpy as np
import pytest

from models.feedback.slate import draw_slate, propensity


@pytest.mark.parametrize(
    ("n", "limit", "top", "rate"),
    [(30, 10, 20, 0.3), (8, 10, 20, 0.5), (30, 5, 5, 1.0), (30, 10, 4, 0.2), (12, 3, 20, 0.0)],
)
def test_propensities_at_each_position_sum_to_one(n, limit, top, rate):
    size, pool = min(limit, n), min(max(top, min(limit, n)), n)
    for k in range(size):
        total = sum(propensity(j, k, rate, pool) for j in range(n))
        assert total == pytest.approx(1.0)
    # and every item is shown at most once per slate in expectation at most 1
    for j in range(n):
        assert sum(propensity(j, k, rate, pool) for k in range(size)) <= 1.0 + 1e-12


def test_propensities_match_the_empirical_frequencies():
    n, limit, top, rate = 12, 4, 6, 0.4
    rng = np.random.default_rng(3)
    counts = np.zeros((n, limit))
    draws = 20000
    for _ in range(draws):
        slate = draw_slate(n, limit, rate=rate, top=top, rng=rng)
        for k, j in enumerate(slate.order):
            counts[j, k] += 1
            assert slate.propensities[k] == propensity(j, k, rate, slate.pool)
    expected = np.array([[propensity(j, k, rate, 6) for k in range(limit)] for j in range(n)])
    assert np.abs(counts / draws - expected).max() < 0.015
    assert counts[6:].sum() == 0  # never beyond the best explore_top


def test_rate_zero_is_the_top_limit_and_never_draws():
    class NoRng:
        def random(self):
            raise AssertionError("drew a random number with exploration off")

    slate = draw_slate(30, 10, rate=0.0, top=20, rng=NoRng())  # type: ignore[arg-type]
    assert slate.order == tuple(range(10))
    assert slate.propensities == (1.0,) * 10
    assert not slate.explored


def test_an_exploring_slate_is_a_draw_without_repeats_from_the_pool():
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(200):
        slate = draw_slate(50, 5, rate=1.0, top=8, rng=rng)
        assert slate.explored and len(set(slate.order)) == 5
        assert all(j < 8 for j in slate.order)
        assert all(p == pytest.approx(1 / 8) for p in slate.propensities)
        seen.add(slate.order)
    assert len(seen) > 150


def test_same_seed_same_slates():
    def slates(seed):
        return [
            draw_slate(20, 5, rate=0.5, top=10, rng=np.random.default_rng((seed, c))).order
            for c in range(20)
        ]

    assert slates(7) == slates(7)
    assert slates(7) != slates(8)


def test_small_rankings_and_bad_arguments():
    assert draw_slate(0, 10, rate=0.5, top=20, rng=np.random.default_rng(0)).order == ()
    s = draw_slate(3, 10, rate=1.0, top=20, rng=np.random.default_rng(0))
    assert sorted(s.order) == [0, 1, 2] and s.pool == 3
    with pytest.raises(ValueError):
        draw_slate(5, 3, rate=1.5, top=3)
    with pytest.raises(ValueError):
        draw_slate(5, 3, rate=0.5, top=3)  # exploring without an rng
