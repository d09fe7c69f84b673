"""Near-duplicates: which catalog items a dislike or dismissal also hides.

Two items are near-duplicates when they are the same product for the shopper's purpose, so
hiding one while showing the other answers "not this" with "this, again":

* **KG identity** (:func:`same_product_line`): same brand, same category and the same model
  line, the title's model name after the brand without its variant suffix ("Pegasus 3",
  "Pegasus Pro" and "Pegasus" are one line; "Pegasus Trail" is another). In the demo store
  (``kg/demo/generator.py``) every product is ``<brand> <line> [suffix]`` of a category, and
  items of one line differ only in colour, material, style and price: the duplicates a
  catalog shows in a row.
* **the scorer's vectors** (:meth:`models.scoring.ItemScorer.similar_items`): items whose
  final vectors point the same way (cosine at or above a threshold the scorer documents).

Both are lists the caller merges; :func:`near_duplicate_ids` applies them to candidates.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence

from kg.types import ProductRecord

__all__ = [
    "NEAR_DUPLICATE_COSINE",
    "VARIANT_SUFFIXES",
    "near_duplicate_ids",
    "product_line",
    "same_product_line",
]

#: The cosine of two items' scorer vectors at or above which they count as near-duplicates.
#: High on purpose: a trained model puts one line's items close but not together (colour,
#: material and price differ, and so do their shoppers), and unrelated items of a popular
#: region of the catalog come close too; well below 1, whole neighbourhoods would vanish
#: with one dislike. At 0.9 it catches items the model cannot tell apart (re-listed copies,
#: items added without history whose content and KG links coincide); the product line
#: (KG identity) catches the rest.
NEAR_DUPLICATE_COSINE = 0.9

#: Trailing title tokens that name a variant of a model line, not another line (the demo
#: generator's suffixes, and the usual ones of real catalogs).
VARIANT_SUFFIXES = frozenset(
    {"pro", "lite", "plus", "x", "max", "elite", "se", "mini", "ultra", "gtx", "ii", "iii", "iv"}
)
_STOP = re.compile(r"\s[—–:,(]|\s-\s")  # where a title's model name ends


def product_line(product: ProductRecord) -> str:
    """``product``'s model line, lower-cased: the title's words after the brand name, up to
    the first separator or lower-case word, without trailing variant tokens (numbers and
    :data:`VARIANT_SUFFIXES`), keeping at least one word. ``""`` when the title does not
    name the brand (no line can be told)."""
    brand = product.brand.strip()
    title = product.title
    at = title.lower().find(brand.lower()) if brand else -1
    if not brand or at < 0:
        return ""
    rest = title[at + len(brand) :]
    stop = _STOP.search(rest)
    words: list[str] = []
    for word in (rest[: stop.start()] if stop else rest).split():
        if not any(c.isupper() or c.isdigit() for c in word):
            break  # "Pegasus running shoes": the noun is lower-case ("eKO" is a name)
        words.append(word.strip(",.;:").lower())
        if word[-1] in ",.;:":
            break  # "Pegasus 3: red running shoes"
    while len(words) > 1 and (words[-1].isdigit() or words[-1] in VARIANT_SUFFIXES):
        words.pop()
    return " ".join(words)


def same_product_line(a: ProductRecord, b: ProductRecord) -> bool:
    """Whether ``a`` and ``b`` are one brand's one model line in one category."""
    if not a.brand_id or a.brand_id != b.brand_id or a.category_id != b.category_id:
        return False
    line = product_line(a)
    return bool(line) and line == product_line(b)


def near_duplicate_ids(
    rejected: Sequence[ProductRecord],
    candidates: Iterable[ProductRecord],
    similar_ids: Collection[str] = (),
) -> set[str]:
    """Ids among ``candidates`` that are near-duplicates of a ``rejected`` product: the same
    product line (:func:`same_product_line`) or in ``similar_ids`` (the scorer's neighbours
    above its threshold). The rejected items themselves are not included (they are hidden
    on their own)."""
    rejected_ids = {p.id for p in rejected}
    keys = {(p.brand_id, p.category_id, product_line(p)) for p in rejected}
    keys = {k for k in keys if k[0] and k[2]}
    out: set[str] = set()
    for product in candidates:
        if product.id in rejected_ids:
            continue
        key = (product.brand_id, product.category_id, product_line(product))
        if product.id in similar_ids or (key[2] and key in keys):
            out.add(product.id)
    return out
