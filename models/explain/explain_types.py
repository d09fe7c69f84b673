"""Inputs and outputs of the explain step."""

from __future__ import annotations

from dataclasses import dataclass, field

from kg.types import ProductRecord
from kgrec.domain import IntentType, KgPath, LinkedEntity, PriceRange, Reason


@dataclass(frozen=True, slots=True)
class ExplainItem:
    """A ranked product with the real graph paths that connect it to what the shopper said."""

    product: ProductRecord
    score: float
    paths: tuple[KgPath, ...] = ()
    contributions: tuple[
        tuple[str, float], ...
    ] = ()  # (signal, weight) of the score, largest first
    # shoppers who chose both the turn's anchor item (``AppliedConstraints.similar_to``) and
    # this one: collaborative evidence as a count, never as who
    co_shoppers: int = 0
    # a close match: what it misses of the brands and attributes asked for ("not pink",
    # "by Adidas, not Wilson"); empty for an exact match
    misses: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AppliedConstraints:
    """The constraints this turn applied, by display name."""

    price: PriceRange = field(default_factory=PriceRange)
    currency: str = "USD"
    categories: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()
    excluded_brands: tuple[str, ...] = ()
    excluded_attributes: tuple[str, ...] = ()
    excluded_items: int = 0
    cheaper_than: float | None = None  # "cheaper": the median price of the picks it undercuts
    pricier_than: float | None = None  # "pricier": the median price it tops
    price_level: str = ""  # "low" ("cheap") | "high" ("premium") | "": a price order, no bound
    wishes: tuple[str, ...] = ()  # soft wishes as "kind=value": "audience=men", "occasion=gift"
    similar_to: str = ""  # title of the anchor item for "more like ..."


@dataclass(frozen=True, slots=True)
class ExplainRequest:
    items: tuple[ExplainItem, ...]
    constraints: AppliedConstraints
    linked: tuple[LinkedEntity, ...] = ()
    intent_type: IntentType = IntentType.RECOMMEND
    vague: bool = False  # nothing usable was understood: ask a follow-up question
    variant: int = 0  # picks among phrasings, so replies vary from turn to turn


@dataclass(frozen=True, slots=True)
class Explanation:
    reasons: dict[str, tuple[Reason, ...]]  # item id -> reasons
    reply: str
    backend: str = "template"
