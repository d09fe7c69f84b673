"""``blend``: the served ranking of a turn's candidates. It computes its terms as arrays over the
pool and builds results only for the candidates it returns; here it is held to the formula
written out one candidate at a time (the module docstring's), on seeded random pools with ties,
disliked brands, shown items, price levels and with and without a model."""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Sequence

import pytest

from kg.types import Candidate, ProductRecord
from models.scoring.blend import BlendWeights, ScoredCandidate, blend


def _by_definition(
    candidates: Sequence[Candidate],
    *,
    limit: int,
    n_preferred: int,
    model: Sequence[float] | None,
    disliked_brands: Collection[str],
    shown: Collection[str],
    price_level: str,
    keep: int | None,
) -> list[tuple[str, float, dict[str, float]]]:
    w = BlendWeights()
    max_pop = max(c.product.popularity for c in candidates)
    priced = sorted(
        (c.product.price, c.product.id) for c in candidates if c.product.price is not None
    )
    price: dict[str, float] = {}
    if price_level and len(priced) >= 2:
        ranks: dict[float, list[int]] = {}
        for k, (p, _) in enumerate(priced):
            ranks.setdefault(p, []).append(k)
        sign = 1.0 if price_level == "low" else -1.0
        top = len(priced) - 1
        price = {
            i: sign * w.price_level * (1 - 2 * (sum(ranks[p]) / len(ranks[p])) / top)
            for p, i in priced
        }
    rows = []
    for i, c in enumerate(candidates):
        parts = {
            "match": w.match * len(c.matched) / max(n_preferred, 1),
            "popularity": w.popularity
            * math.log1p(c.product.popularity)
            / math.log1p(max_pop or 1),
        }
        if model is not None:
            parts["model"] = w.model * model[i]
        if c.product.brand_id in disliked_brands:
            parts["feedback"] = -w.disliked_brand
        if c.product.id in shown:
            parts["feedback"] = parts.get("feedback", 0.0) - w.shown
        if price:
            parts["price"] = price.get(c.product.id, 0.0)
        rows.append((c, sum(parts.values()), parts))
    rows.sort(key=lambda r: (-r[1], r[0].product.id))
    if price_level:
        sign = 1.0 if price_level == "low" else -1.0
        rows = rows[: max(3 * limit, 20)]
        rows.sort(key=lambda r: (r[0].product.price is None, sign * (r[0].product.price or 0.0)))
    return [(c.product.id, s, p) for c, s, p in rows[: max(limit, keep or 0)]]


def _pool(rng: random.Random, n: int) -> list[Candidate]:
    return [
        Candidate(
            ProductRecord(
                id=f"p{i:03d}",
                title=f"Item {i}",
                brand_id=rng.choice(["b1", "b2", "b3", ""]),
                price=rng.choice([None, 5.0, 10.0, 10.0, float(rng.randint(1, 50))]),
                popularity=float(rng.choice([0, 0, 1, 3, rng.randint(0, 90)])),
            ),
            matched=tuple(sorted(rng.sample(["e1", "e2", "e3"], rng.randint(0, 2)))),
        )
        for i in rng.sample(range(500), n)
    ]


@pytest.mark.parametrize("seed", range(40))
def test_blend_is_its_formula_one_candidate_at_a_time(seed: int) -> None:
    rng = random.Random(seed)
    cands = _pool(rng, rng.choice([1, 2, 7, 30, 120]))
    ids = [c.product.id for c in cands]
    kwargs = {
        "limit": rng.choice([1, 3, 10]),
        "n_preferred": rng.randint(0, 3),
        # a model with ties (few distinct values) or none
        "model": None if seed % 3 == 0 else [float(rng.randint(-2, 2)) for _ in cands],
        "disliked_brands": set(rng.sample(["b1", "b2", "b3"], rng.randint(0, 2))),
        "shown": set(rng.sample(ids, min(len(ids), rng.randint(0, 5)))),
        "price_level": rng.choice(["", "", "low", "high"]),
        "keep": rng.choice([None, 5, 40]),
    }
    got: list[ScoredCandidate] = blend(cands, **kwargs)  # type: ignore[arg-type]
    want = _by_definition(cands, **kwargs)  # type: ignore[arg-type]
    assert [(s.candidate.product.id, s.score, s.contributions) for s in got] == want
    assert all(type(s.score) is float for s in got)


def test_a_disliked_brand_and_a_shown_item_rank_below_an_equal_one_by_their_weights() -> None:
    cands = [
        Candidate(ProductRecord(id=i, title=i, brand_id=b, popularity=5.0)) for i, b in
        [("a", "nike"), ("b", "acme"), ("c", "acme")]
    ]  # fmt: skip
    ranked = blend(cands, limit=3, disliked_brands={"nike"}, shown={"b"})
    assert [s.candidate.product.id for s in ranked] == ["c", "a", "b"]
    assert ranked[1].contributions["feedback"] == -BlendWeights().disliked_brand
    assert ranked[2].contributions["feedback"] == -BlendWeights().shown
    assert "feedback" not in ranked[0].contributions
