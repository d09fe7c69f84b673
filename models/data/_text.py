"""How an item's text is assembled (shared by training and the scorer's ``add_item``)."""

from __future__ import annotations

from kg.types import ProductRow

__all__ = ["product_text"]


def _readable(node_id: str) -> str:
    """``"cat:running-shoes"`` -> ``"running shoes"``; ``"attr:color=red"`` -> ``"color red"``."""
    tail = node_id.split(":", 1)[-1]
    return tail.replace("-", " ").replace("_", " ").replace("=", " ")


def product_text(row: ProductRow) -> str:
    """Title, description, brand/category/attributes (ids made readable), one string."""
    parts = [row.get("title", "")]
    if row.get("brand_id"):
        parts.append(f"Brand: {_readable(row['brand_id'] or '')}.")
    if row.get("category_id"):
        parts.append(f"Category: {_readable(row['category_id'] or '')}.")
    attrs = [_readable(a) for a in row.get("attribute_ids", [])]
    if attrs:
        parts.append("Attributes: " + ", ".join(attrs) + ".")
    if row.get("description"):
        parts.append(row.get("description", ""))
    return " ".join(p for p in parts if p).strip()
