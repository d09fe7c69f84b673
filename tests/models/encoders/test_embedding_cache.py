"""EmbeddingCache in memory (``directory=None``, what the serving Scorer's text encoder uses):
a bounded LRU whose ``put`` does not slow down as it fills; on disk it still round-trips."""

from __future__ import annotations

import time
from pathlib import Path
from statistics import median

import numpy as np
import pytest

from models.encoders.embedding_cache import DEFAULT_MEMORY_ROWS, EmbeddingCache

DIM = 384


def _row(i: int) -> np.ndarray:
    return np.full((1, DIM), i, dtype=np.float32)


def test_in_memory_cache_is_bounded_by_default() -> None:
    cache = EmbeddingCache(None, "mem", DIM)
    assert cache.max_rows == DEFAULT_MEMORY_ROWS
    for i in range(DEFAULT_MEMORY_ROWS + 500):
        cache.put([f"k{i}"], _row(i))
    assert len(cache) == DEFAULT_MEMORY_ROWS
    _, found = cache.get(["k0", f"k{DEFAULT_MEMORY_ROWS + 499}"])
    assert found.tolist() == [False, True]


def test_eviction_is_least_recently_used() -> None:
    cache = EmbeddingCache(None, "mem", 2, max_rows=3)
    for key in ("a", "b", "c"):
        cache.put([key], np.ones((1, 2), dtype=np.float32))
    cache.get(["a"])  # a is now the most recently used: b goes first
    cache.put(["d"], np.ones((1, 2), dtype=np.float32))
    _, found = cache.get(["a", "b", "c", "d"])
    assert found.tolist() == [True, False, True, True]
    assert len(cache) == 3


def test_put_copies_the_row() -> None:
    cache = EmbeddingCache(None, "mem", 2, max_rows=4)
    rows = np.array([[1, 2]], dtype=np.float32)
    cache.put(["a"], rows)
    rows[0, 0] = 99
    np.testing.assert_array_equal(cache.get(["a"])[0][0], [1, 2])


def test_zero_rows_keeps_nothing_and_negative_is_rejected() -> None:
    cache = EmbeddingCache(None, "mem", 2, max_rows=0)
    cache.put(["a"], np.ones((1, 2), dtype=np.float32))
    assert len(cache) == 0
    with pytest.raises(ValueError, match="max_rows"):
        EmbeddingCache(None, "mem", 2, max_rows=-1)


def _put_cost_us(cache: EmbeddingCache, start: int, n: int = 300) -> float:
    times = []
    for i in range(start, start + n):
        key, row = f"k{i}", _row(i)
        t0 = time.perf_counter()
        cache.put([key], row)
        times.append(time.perf_counter() - t0)
    return median(times) * 1e6


def test_put_cost_does_not_grow_with_size() -> None:
    # the old cache concatenated the whole array on each put: ~8x slower at 20k rows than at 1k
    cache = EmbeddingCache(None, "mem", DIM, max_rows=30_000)
    cache.put([f"k{i}" for i in range(1000)], np.zeros((1000, DIM), dtype=np.float32))
    small = _put_cost_us(cache, 1000)
    cache.put([f"f{i}" for i in range(19_000)], np.zeros((19_000, DIM), dtype=np.float32))
    assert len(cache) > 20_000
    large = _put_cost_us(cache, 50_000)
    assert large < 3 * small + 20, (small, large)


def test_disk_cache_round_trip_keeps_every_row(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, "disk", 2)
    assert cache.max_rows is None
    n = DEFAULT_MEMORY_ROWS + 10
    cache.put([f"k{i}" for i in range(n)], np.arange(2 * n, dtype=np.float32).reshape(n, 2))
    cache.flush()
    again = EmbeddingCache(tmp_path, "disk", 2)
    assert len(again) == n
    rows, found = again.get(["k0", f"k{n - 1}"])
    assert found.all()
    np.testing.assert_array_equal(rows, [[0, 1], [2 * n - 2, 2 * n - 1]])
