"""The served ranking of a turn's candidates: the learned scorer blended with what the
conversation itself says.

.. math::
    s(i) = w_m \\frac{|M_i|}{\\max(|P|, 1)}
         + w_p \\frac{\\log(1 + pop_i)}{\\log(1 + \\max pop)}
         + w_s\\, z(model_i)
         - w_b [brand_i \\in B] - w_r [i \\in R]
         \\pm w_l\\,(1 - 2\\,\\mathrm{rank}_{price}(i) / (n - 1))

``M_i`` the preferred entities candidate ``i`` matches (of the session's ``P``), ``z`` the
model's scores z-scored over the candidates, ``B`` the brands of items disliked this session,
``R`` the items shown earlier in the session and not chosen, on a turn that tells nothing new
(:func:`models.dialogue.session_rules.passed_over`; both terms are the ``feedback``
contribution), and the last term the shopper's price level ("cheap": the cheapest
``+w_l``, "premium" the reverse). With a price level, the best ``max(3 x limit, 20)`` are
then shown in price order: "cheap" asks for an order, not just a nudge.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from kg.types import Candidate

__all__ = ["BlendWeights", "ScoredCandidate", "blend", "zscore"]


@dataclass(frozen=True, slots=True)
class BlendWeights:
    """Weights of :func:`blend` (documented defaults)."""

    match: float = 1.0  # soft KG matches (preferred entities)
    model: float = 1.0  # the learned scorer (z-scored over the pool)
    popularity: float = 0.3  # log-popularity (normalised to [0, 1])
    disliked_brand: float = 0.5  # penalty for brands the shopper disliked this session
    # "cheap" / "premium": price rank within the pool, in [-w, w]
    price_level: float = 4.0
    # penalty for an item shown earlier in the session and not chosen: "show me more" and a
    # refinement should bring what the shopper has not seen yet, not the same list again
    shown: float = 1.0


@dataclass(slots=True)
class ScoredCandidate:
    candidate: Candidate
    score: float
    contributions: dict[str, float] = field(default_factory=dict)


def zscore(values: Sequence[float] | np.ndarray) -> list[float]:
    """``values`` minus their mean, over their (population) standard deviation (1 if 0)."""
    v = np.asarray(values, dtype=np.float64)
    if not len(v):
        return []
    return ((v - v.mean()) / (float(v.std()) or 1.0)).tolist()


def blend(
    candidates: Sequence[Candidate],
    *,
    limit: int,
    n_preferred: int = 0,
    model: Sequence[float] | None = None,
    disliked_brands: Collection[str] = (),
    shown: Collection[str] = (),
    price_level: str = "",
    weights: BlendWeights | None = None,
    keep: int | None = None,
) -> list[ScoredCandidate]:
    """The best ``limit`` candidates, best first (ties by id); ``model``: one z-scored model
    score per candidate, or ``None`` without a model. ``keep`` (>= ``limit``): return the best
    ``keep`` instead, for a re-ranker or an exploring slate to choose from; the first
    ``limit`` of them are the same as without it (a price level's pool is sized by ``limit``)."""
    w = weights or BlendWeights()
    if not candidates:
        return []
    n = len(candidates)
    products = [c.product for c in candidates]
    ids = [p.id for p in products]
    # Every term as an array over the pool, added in the order the contributions are listed
    # (float64, elementwise: the same sums as adding each candidate's terms one by one); only
    # the candidates returned get a ScoredCandidate.
    pops = [p.popularity for p in products]
    parts: dict[str, np.ndarray] = {
        "match": w.match
        * np.fromiter((len(c.matched) for c in candidates), np.float64, n)
        / max(n_preferred, 1),
        "popularity": w.popularity
        * np.fromiter(map(math.log1p, pops), np.float64, n)
        / math.log1p(max(pops) or 1),
    }
    if model is not None:
        parts["model"] = w.model * np.asarray(model, dtype=np.float64)
    has_feedback = np.zeros(n, dtype=bool)
    feedback = np.zeros(n)
    if disliked_brands:
        disliked = np.fromiter((p.brand_id in disliked_brands for p in products), bool, n)
        feedback[disliked], has_feedback = -w.disliked_brand, disliked
    if shown:
        was_shown = np.fromiter((i in shown for i in ids), bool, n)
        feedback[was_shown] -= w.shown
        has_feedback = has_feedback | was_shown
    if has_feedback.any():
        parts["feedback"] = feedback
    price = _price_rank(candidates, price_level, w.price_level) if price_level else {}
    if price:
        parts["price"] = np.fromiter((price.get(i, 0.0) for i in ids), np.float64, n)
    total = np.zeros(n)
    for values in parts.values():
        total += values
    pool = max(3 * limit, 20) if price_level else max(limit, keep or 0)
    scored = [
        ScoredCandidate(candidates[i], float(total[i]), _contributions(parts, has_feedback, i))
        for i in _best(total, ids, pool)
    ]
    if price_level:
        sign = 1.0 if price_level == "low" else -1.0
        scored.sort(
            key=lambda s: (
                s.candidate.product.price is None,
                sign * (s.candidate.product.price or 0.0),
            )
        )
    return scored[: max(limit, keep or 0)]


def _best(total: np.ndarray, ids: Sequence[str], k: int) -> list[int]:
    """Positions of the ``k`` highest totals, highest first, ties by id: only the candidates
    at or above the ``k``-th total are sorted."""
    if k < len(total):
        kth = np.partition(total, len(total) - k)[len(total) - k]
        near = np.flatnonzero(total >= kth).tolist()
    else:
        near = list(range(len(total)))
    near.sort(key=lambda i: (-total[i], ids[i]))
    return near[:k]


def _contributions(
    parts: dict[str, np.ndarray], has_feedback: np.ndarray, i: int
) -> dict[str, float]:
    return {
        name: float(values[i])
        for name, values in parts.items()
        if name != "feedback" or has_feedback[i]
    }


def _price_rank(candidates: Sequence[Candidate], level: str, w: float) -> dict[str, float]:
    """ "cheap" / "premium" as a score: each priced candidate's price rank in the pool
    (ties share their mean rank) mapped to ``[w, -w]`` cheapest to priciest ("low"), the
    reverse for "high". A relative order, so no dollar bound is invented."""
    priced = sorted(
        (c.product.price, c.product.id) for c in candidates if c.product.price is not None
    )
    if len(priced) < 2:
        return {}
    ranks: dict[float, list[int]] = {}
    for k, (p, _) in enumerate(priced):
        ranks.setdefault(p, []).append(k)
    top = len(priced) - 1
    sign = 1.0 if level == "low" else -1.0
    return {item: sign * w * (1 - 2 * (sum(ranks[p]) / len(ranks[p])) / top) for p, item in priced}
