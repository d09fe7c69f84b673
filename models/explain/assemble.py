"""From a turn's scored items, their paths and what the session asked, to the explainer's
request and the response's ranked items (the explain step's bookkeeping, so the pipeline only
orchestrates)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from kg.types import ProductRecord
from kgrec.domain import KgPath, PriceRange, RankedItem
from models.dialogue import DialogueState

from .explain_types import AppliedConstraints, ExplainItem, Explanation

__all__ = ["applied_constraints", "close_misses", "explain_items", "ranked_items"]


def explain_items(
    scored: Sequence[Any],
    paths: Mapping[str, Sequence[KgPath]],
    co_shoppers: Mapping[str, int],
    misses: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[ExplainItem, ...]:
    """One :class:`ExplainItem` per scored candidate (``models.scoring.blend.ScoredCandidate``),
    its contributions largest first; ``misses``: the close matches' (:func:`close_misses`)."""
    misses = misses or {}
    return tuple(
        ExplainItem(
            s.candidate.product,
            s.score,
            tuple(paths.get(s.candidate.product.id, ())),
            tuple(sorted(s.contributions.items(), key=lambda kv: -abs(kv[1]))),
            co_shoppers.get(s.candidate.product.id, 0),
            misses.get(s.candidate.product.id, ()),
        )
        for s in scored
    )


def close_misses(
    products: Iterable[ProductRecord],
    close_ids: Collection[str],
    state: DialogueState,
    name: Callable[[str], str],
) -> dict[str, tuple[str, ...]]:
    """What each close match among ``products`` misses of the session's brands and required
    attributes, in words: ``("by Adidas, not Wilson", "not pink")``."""
    out: dict[str, tuple[str, ...]] = {}
    for p in products:
        if p.id not in close_ids:
            continue
        missed = []
        if state.brand_ids and p.brand_id not in state.brand_ids:
            asked = " or ".join(name(b) for b in state.brand_ids)
            missed.append(f"by {p.brand}, not {asked}" if p.brand else f"not by {asked}")
        have = set(p.attribute_ids)
        missed += [f"not {name(a)}" for a in state.required_attribute_ids if a not in have]
        out[p.id] = tuple(missed)
    return out


def ranked_items(
    items: Sequence[ExplainItem], explanation: Explanation, with_reasons: bool
) -> tuple[RankedItem, ...]:
    return tuple(
        RankedItem(
            item_id=it.product.id,
            title=it.product.title,
            score=round(it.score, 6),
            price=it.product.price,
            currency=it.product.currency,
            image_ref=it.product.image_ref,
            brand=it.product.brand,
            category=it.product.category,
            attributes=it.product.attributes,
            reasons=explanation.reasons.get(it.product.id, ()) if with_reasons else (),
        )
        for it in items
    )


def applied_constraints(
    state: DialogueState, name: Callable[[str], str], similar_to: str = ""
) -> AppliedConstraints:
    """The constraints in force, by display name (``name`` of a node id)."""
    return AppliedConstraints(
        price=PriceRange(state.min_price, state.max_price),  # stated, not derived
        categories=tuple(name(i) for i in state.category_ids),
        brands=tuple(name(i) for i in state.brand_ids),
        attributes=tuple(name(i) for i in state.required_attribute_ids),
        excluded_brands=tuple(name(i) for i in state.exclude_brand_ids),
        excluded_attributes=tuple(name(i) for i in state.exclude_attribute_ids),
        excluded_items=len(state.exclude_item_ids),
        cheaper_than=state.cheaper_than,
        pricier_than=state.pricier_than,
        price_level=state.price_level,
        wishes=tuple(state.wishes),
        similar_to=similar_to,
    )
