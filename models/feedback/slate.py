"""The shown slate of a turn: the ranking's top ``limit``, or, with probability ``eps``, a
uniformly random ordered draw from its best ``M`` (exploration), with each shown item's exact
marginal propensity under that mixture.

For a ranking of ``n`` candidates, a slate of ``L = min(limit, n)`` positions and a pool of
``M = min(max(explore_top, L), n)`` (a draw needs at least ``L`` items to draw from), the
probability that the candidate at rank ``j`` is shown at position ``k`` is

.. math::
    p(j, k) = (1 - \\varepsilon)\\,[j = k] + \\frac{\\varepsilon}{M}\\,[j < M]

(a uniform ordered draw of ``L`` of ``M`` puts each of the ``M`` at each position with
probability ``1/M``). For every position ``k`` the probabilities over ``j`` sum to 1, and every
one of the best ``M`` has a non-zero probability at every position whenever ``eps > 0``: what
off-policy evaluation (:mod:`models.feedback.ope`) needs to score any re-ranking of them.

The propensities are those of the slate given the ranking: when the ranking itself is random
(a Thompson-sampling re-rank), they are conditional on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Slate", "draw_slate", "propensity"]


@dataclass(frozen=True, slots=True)
class Slate:
    """What a turn shows: ``order[k]`` is the rank (index into the ranking) of the item shown
    at position ``k``; ``propensities[k]`` the probability that this item is shown there."""

    order: tuple[int, ...]
    propensities: tuple[float, ...]
    explored: bool  # this turn drew at random
    rate: float  # the exploration probability it was drawn under (0: deterministic)
    pool: int  # M: how many of the best it would have drawn from


def propensity(rank: int, position: int, rate: float, pool: int) -> float:
    """``p(rank, position)`` of the module docs: the marginal probability that the candidate
    at ``rank`` of the ranking is shown at ``position`` (both 0-based)."""
    if rank < 0 or position < 0:
        raise ValueError("rank and position are 0-based indices")
    p = (1.0 - rate) if rank == position else 0.0
    return p + (rate / pool if rank < pool else 0.0)


def draw_slate(
    n: int, limit: int, *, rate: float, top: int, rng: np.random.Generator | None = None
) -> Slate:
    """The slate over a ranking of ``n`` candidates (best first): with probability ``rate``
    (drawn from ``rng``) a uniformly random ordered draw of ``min(limit, n)`` from the best
    ``M``, else the top ``limit`` in order. ``rate`` 0 never touches ``rng``."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate {rate} is not in 0..1")
    if limit < 0 or top < 1:
        raise ValueError("limit must be >= 0 and top >= 1")
    size = min(limit, n)
    pool = min(max(top, size), n)
    explored = False
    if rate > 0.0 and size > 0:
        if rng is None:
            raise ValueError("an exploring slate needs an rng")
        explored = bool(rng.random() < rate)
    if explored:
        assert rng is not None
        order = tuple(int(j) for j in rng.permutation(pool)[:size])
    else:
        order = tuple(range(size))
    probs = tuple(propensity(j, k, rate, pool) for k, j in enumerate(order))
    return Slate(order, probs, explored, rate if size else 0.0, pool)
