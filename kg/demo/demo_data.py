"""Everything the demo generator produces, with the ground truth kept alongside."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kg.types import AttributeRow, BrandRow, CategoryRow, InteractionRow, ProductRow, UserRow

from .images import write_images
from .split import DemoSplit
from .taste import BRAND_WEIGHT, CATEGORY_WEIGHT, COLOR_WEIGHT, UserTaste
from .taxonomy import COLORS, LEAF_BY_ID


@dataclass(frozen=True, slots=True)
class _Features:
    """Per-product arrays the utility model reads, aligned with ``DemoData.products``."""

    ids: np.ndarray  # (P,) object, product ids
    category: np.ndarray  # (P,) int, index into category_index
    brand: np.ndarray  # (P,) int, index into brand_index
    color: np.ndarray  # (P,) int, index into color_index
    log_price_ratio: np.ndarray  # (P,) float, log(price / category base price)
    quality: np.ndarray  # (P,) float
    category_index: dict[str, int]
    brand_index: dict[str, int]
    color_index: dict[str, int]


@dataclass(eq=True)
class DemoData:
    """A generated demo store: graph rows plus the latent truth behind the interactions.

    ``quality[i]`` is the latent quality of ``products[i]``; ``tastes`` maps user ids to
    :class:`~kg.demo.taste.UserTaste`. :meth:`utilities` and :meth:`true_top_n` evaluate the
    same utility model the interactions were sampled from (without the sampling noise).
    """

    seed: int
    categories: list[CategoryRow]
    brands: list[BrandRow]
    attributes: list[AttributeRow]
    products: list[ProductRow]
    users: list[UserRow]
    interactions: list[InteractionRow]
    tastes: dict[str, UserTaste]
    quality: list[float]
    _features: _Features | None = field(default=None, init=False, repr=False, compare=False)

    # -- ground truth -------------------------------------------------------------------------

    def utilities(self, user_id: str) -> np.ndarray:
        """Utility of every product for this user, shape ``(len(products),)``, float64."""
        taste = self.tastes[user_id]  # KeyError for an unknown user is the honest answer
        f = self._feats()
        cat = np.zeros(len(f.category_index))
        for cid, affinity in taste.categories.items():
            cat[f.category_index[cid]] = affinity
        brand = np.zeros(len(f.brand_index))
        brand[[f.brand_index[b] for b in taste.brands]] = 1.0
        color = np.zeros(len(f.color_index))
        color[[f.color_index[c] for c in taste.colors]] = 1.0
        return (
            CATEGORY_WEIGHT * cat[f.category]
            + BRAND_WEIGHT * brand[f.brand]
            + COLOR_WEIGHT * color[f.color]
            - taste.price_sensitivity * f.log_price_ratio
            + f.quality
        )

    def true_top_n(self, user_id: str, n: int = 10, exclude: Iterable[str] = ()) -> list[str]:
        """The ``n`` product ids of highest utility for the user, best first (ties: first
        generated first)."""
        u = self.utilities(user_id)
        f = self._feats()
        skip = set(exclude)
        order = np.argsort(-u, kind="stable")
        return [str(f.ids[i]) for i in order if f.ids[i] not in skip][:n]

    def split(self, valid: float = 0.1, test: float = 0.1) -> DemoSplit:
        """Deterministic temporal holdout of positive interactions per user."""
        return DemoSplit.of(self.interactions, valid=valid, test=test)

    # -- images -------------------------------------------------------------------------------

    def image_specs(self) -> list[tuple[str, str, str]]:
        """``(product_id, shape, color)`` of every product, in product order."""
        f = self._feats()
        colors = list(f.color_index)
        return [
            (p["id"], LEAF_BY_ID[p["category_id"] or ""].shape, colors[f.color[i]])
            for i, p in enumerate(self.products)
        ]

    def render_images(self, data_dir: Path) -> int:
        """Write every product's PNG under ``data_dir/images``; returns how many."""
        return write_images(self.image_specs(), Path(data_dir))

    # -- internals ----------------------------------------------------------------------------

    def _feats(self) -> _Features:
        if self._features is None:
            cat_index = {c["id"]: i for i, c in enumerate(self.categories)}
            brand_index = {b["id"]: i for i, b in enumerate(self.brands)}
            color_index = {c: i for i, c in enumerate(COLORS)}
            n = len(self.products)
            cat, brand, color = np.zeros(n, int), np.zeros(n, int), np.zeros(n, int)
            lpr = np.zeros(n)
            for i, p in enumerate(self.products):
                cid = p.get("category_id") or ""
                cat[i] = cat_index[cid]
                brand[i] = brand_index[p.get("brand_id") or ""]
                color[i] = color_index[product_color(p)]
                lpr[i] = math.log((p.get("price") or 1.0) / LEAF_BY_ID[cid].base_price)
            self._features = _Features(
                ids=np.array([p["id"] for p in self.products], dtype=object),
                category=cat,
                brand=brand,
                color=color,
                log_price_ratio=lpr,
                quality=np.asarray(self.quality, dtype=float),
                category_index=cat_index,
                brand_index=brand_index,
                color_index=color_index,
            )
        return self._features


def product_color(product: ProductRow) -> str:
    """The color value of a demo product (every demo product has exactly one)."""
    for aid in product.get("attribute_ids", []):
        if aid.startswith("attr:color="):
            return aid.split("=", 1)[1]
    raise ValueError(f"product {product['id']} has no color attribute")


__all__ = ["DemoData", "product_color"]
