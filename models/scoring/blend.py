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
    n_pref = max(n_preferred, 1)
    max_pop = max(c.product.popularity for c in candidates)
    price = _price_rank(candidates, price_level, w.price_level) if price_level else {}
    scored: list[ScoredCandidate] = []
    for i, cand in enumerate(candidates):
        parts = {
            "match": w.match * len(cand.matched) / n_pref,
            "popularity": w.popularity
            * math.log1p(cand.product.popularity)
            / math.log1p(max_pop or 1),
        }
        if model is not None:
            parts["model"] = w.model * model[i]
        if cand.product.brand_id in disliked_brands:
            parts["feedback"] = -w.disliked_brand
        if cand.product.id in shown:
            parts["feedback"] = parts.get("feedback", 0.0) - w.shown
        if price:
            parts["price"] = price.get(cand.product.id, 0.0)
        scored.append(ScoredCandidate(cand, sum(parts.values()), parts))
    scored.sort(key=lambda s: (-s.score, s.candidate.product.id))
    if price_level:
        sign = 1.0 if price_level == "low" else -1.0
        scored = scored[: max(3 * limit, 20)]
        scored.sort(
            key=lambda s: (
                s.candidate.product.price is None,
                sign * (s.candidate.product.price or 0.0),
            )
        )
    return scored[: max(limit, keep or 0)]


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
