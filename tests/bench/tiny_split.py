"""A seeded random user-item split (70/10/20) for the tiny datasets of the bench tests."""

from __future__ import annotations

import numpy as np


def random_split(
    rng: np.random.Generator, num_users: int, num_items: int, draws: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``draws`` random ``(user, item)`` pairs, deduplicated and shuffled, split train / valid /
    test at 70% / 80%."""
    pairs = np.array(
        sorted({(int(u), int(i)) for u, i in rng.integers(0, [num_users, num_items], (draws, 2))})
    )
    rng.shuffle(pairs)
    n = len(pairs)
    return pairs[: n * 7 // 10], pairs[n * 7 // 10 : n * 8 // 10], pairs[n * 8 // 10 :]
