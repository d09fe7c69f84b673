"""Paired per-user differences of a ranking metric with a bootstrap 95% interval.

Two rankers evaluated on the same users (``models.metrics.full_ranking_user_metrics`` returns
the users in the same order for the same evaluation pairs) are compared user by user: the
per-user difference removes the between-user variance that dominates NDCG@10, so the
interval is the one a reader needs to say "A beats B", unlike two separate intervals or a
band from the seed spread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PairedDiff", "paired_bootstrap", "seed_mean"]


@dataclass(frozen=True, slots=True)
class PairedDiff:
    """``mean(a - b)`` over users and its percentile bootstrap interval.

    Attributes:
        mean: mean per-user difference (equals ``mean(a) - mean(b)``).
        low, high: the 2.5% and 97.5% percentiles of the bootstrap means.
        users: number of paired users.
        seeds: ``(seeds of a, seeds of b)`` averaged per user before the bootstrap.
    """

    mean: float
    low: float
    high: float
    users: int
    seeds: tuple[int, int]

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def verdict(self, better: str = "better", worse: str = "worse") -> str:
        """``better``/``worse`` when the interval excludes 0, else ``"not significant"``."""
        if self.low > 0:
            return better
        if self.high < 0:
            return worse
        return "not significant"

    def __str__(self) -> str:
        return f"{self.mean:+.4f} [{self.low:+.4f}, {self.high:+.4f}]"


def seed_mean(runs: np.ndarray) -> np.ndarray:
    """``(seeds, users)`` or ``(users,)`` per-user values -> ``(users,)`` mean over seeds."""
    arr = np.asarray(runs, dtype=np.float64)
    if arr.ndim == 1:
        return arr
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"expected (seeds, users) or (users,), got shape {arr.shape}")
    return arr.mean(axis=0)


def paired_bootstrap(
    a: np.ndarray, b: np.ndarray, *, samples: int = 2000, seed: int = 0, level: float = 0.95
) -> PairedDiff:
    """Bootstrap interval of ``mean_u(a_u - b_u)``, resampling users with replacement.

    With several seeds, each user's metric is first **averaged over that ranker's seeds**
    (:func:`seed_mean`), then users are resampled: the interval covers the user sample; the
    seed-to-seed variation of the average enters through the per-user means (a
    deterministic ranker such as EASE^R or popularity passes one run).

    Args:
        a, b: ``(seeds, users)`` or ``(users,)``; the user axes must be the same users in the
            same order (``a`` and ``b`` may have different numbers of seeds).
        samples: bootstrap resamples (default 2000).
        seed: the resampling generator's seed (the interval is reproducible).
        level: coverage of the interval (default 0.95).
    """
    da, db = seed_mean(a), seed_mean(b)
    if da.shape != db.shape:
        raise ValueError(f"runs are over different users: {da.shape} vs {db.shape}")
    if len(da) == 0:
        raise ValueError("no users to compare")
    diff = da - db
    rng = np.random.default_rng(seed)
    means = np.empty(samples)
    for start in range(0, samples, 250):  # bounded memory for large user counts
        n = min(250, samples - start)
        idx = rng.integers(0, len(diff), size=(n, len(diff)))
        means[start : start + n] = diff[idx].mean(axis=1)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    n_a = 1 if np.ndim(a) == 1 else np.shape(a)[0]
    n_b = 1 if np.ndim(b) == 1 else np.shape(b)[0]
    return PairedDiff(float(diff.mean()), float(low), float(high), len(diff), (n_a, n_b))
