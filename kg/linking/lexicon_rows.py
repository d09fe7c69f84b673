"""A linking lexicon straight from importer/generator rows, without a database.

``GraphStore.lexicon(labels)`` is the production source; this builds the same entries from
the rows an importer would write, for benchmarks, tests and offline tools.
"""

from __future__ import annotations

from collections.abc import Iterable

from kg.types import AttributeRow, BrandRow, CategoryRow, EntityRow, LexiconEntry, ProductRow


def lexicon_from_rows(
    *,
    categories: Iterable[CategoryRow] = (),
    brands: Iterable[BrandRow] = (),
    attributes: Iterable[AttributeRow] = (),
    products: Iterable[ProductRow] = (),
    entities: Iterable[EntityRow] = (),
) -> list[LexiconEntry]:
    """One entry per name and alias. Attributes are named by their value (``red``); products
    by their title."""
    out: list[LexiconEntry] = []

    def add(entity_id: str, label: str, name: str, aliases: Iterable[str]) -> None:
        seen = {name}
        out.append(LexiconEntry(entity_id, label, name, name))
        for alias in aliases:
            if alias and alias not in seen:
                seen.add(alias)
                out.append(LexiconEntry(entity_id, label, name, alias))

    for c in categories:
        add(c["id"], "Category", c["name"], c.get("aliases", ()))
    for b in brands:
        add(b["id"], "Brand", b["name"], b.get("aliases", ()))
    for a in attributes:
        add(a["id"], "Attribute", a["value"], a.get("aliases", ()))
    for p in products:
        add(p["id"], "Product", p["title"], p.get("aliases", ()))
    for e in entities:
        add(e["id"], "Entity", e["name"], e.get("aliases", ()))
    return out
