"""The weight search of ``bench.crs_tune`` on a synthetic term table (no data needed)."""

from __future__ import annotations

import numpy as np

from bench.crs_tune import TERMS, TermTable, recall, search


def _table() -> TermTable:
    """Two folds of 20 turns over 60 items: ``co`` puts the target first, ``pop`` ranks a
    fixed dozen of other items above it."""
    rng = np.random.default_rng(0)
    n, items = 40, 60
    terms = np.zeros((n, len(TERMS), items), dtype=np.float32)
    targets = rng.integers(12, items, size=n)
    terms[:, TERMS.index("pop"), :12] = 1.0
    terms[np.arange(n), TERMS.index("co"), targets] = 0.5
    samples = np.stack([np.arange(n), targets], axis=1)
    samples = np.concatenate([samples, [[0, -1]]])  # a target outside the catalog: a miss
    return TermTable(terms, np.arange(n) % 2, samples, np.zeros(len(samples), dtype=bool))


def test_recall_counts_hits_and_misses_per_fold() -> None:
    table = _table()
    pop_only = [1.0 if t == "pop" else 0.0 for t in TERMS]
    assert recall(table, pop_only, [1])[0] == 0.0  # the popular dozen fill the top 10
    co_first = [0.1 if t == "pop" else 1.0 if t == "co" else 0.0 for t in TERMS]
    r10, r50 = recall(table, co_first, [0, 1])
    assert r10 == r50 == 40 / 41  # every sample but the uncatalogued one


def test_search_finds_the_term_that_ranks_the_targets() -> None:
    table = _table()
    start = {t: 0.0 for t in TERMS} | {"pop": 1.0}
    picked = search(table, start, [0], rounds=3)
    assert picked["co"] > 0
    assert recall(table, [picked[t] for t in TERMS], [1])[0] == 1.0  # and it holds out of fold
