"""The demo store's brands: who sells what, at which price tier, under which model names.

The table lives in ``brands.json`` next to this module (one brand per line). Real brand names
make the demo read naturally; every product, model line and price is made up. Tiers multiply
the category base price: budget 0.7, mid 1.0, premium 1.3, luxury 1.7.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

TIERS: dict[str, float] = {"budget": 0.7, "mid": 1.0, "premium": 1.3, "luxury": 1.7}


@dataclass(frozen=True, slots=True)
class BrandSpec:
    """A brand, the leaf categories it sells in and the model lines its titles use.

    ``lines`` pairs a model line name with the leaf slugs it is made for; an empty tuple means
    the line is generic (e.g. an apparel range sold under several categories).
    """

    slug: str
    name: str
    tier: str  # a key of TIERS
    categories: tuple[str, ...]  # leaf slugs
    lines: tuple[tuple[str, tuple[str, ...]], ...]
    aliases: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"brand:{self.slug}"

    @property
    def multiplier(self) -> float:
        return TIERS[self.tier]

    def lines_for(self, category_slug: str) -> tuple[str, ...]:
        """Model lines made for this category; else the generic ones; else all of them."""
        tagged = tuple(name for name, cats in self.lines if category_slug in cats)
        generic = tuple(name for name, cats in self.lines if not cats)
        return tagged or generic or tuple(name for name, _ in self.lines)


def _load() -> tuple[BrandSpec, ...]:
    raw = json.loads(resources.files(__package__).joinpath("brands.json").read_text("utf-8"))
    return tuple(
        BrandSpec(
            slug=b["slug"],
            name=b["name"],
            tier=b["tier"],
            categories=tuple(b["categories"]),
            lines=tuple((name, tuple(cats)) for name, cats in b["lines"].items()),
            aliases=tuple(b["aliases"]),
        )
        for b in raw
    )


BRANDS: tuple[BrandSpec, ...] = _load()
BRAND_BY_ID: dict[str, BrandSpec] = {brand.id: brand for brand in BRANDS}

__all__ = ["BRANDS", "BRAND_BY_ID", "TIERS", "BrandSpec"]
