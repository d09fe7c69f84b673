"""Products from JSONL or CSV, with the categories, brands and attributes they name.

One product per JSONL line (or CSV row). Fields follow :class:`kg.types.ProductRow`:

=================  ============================================================================
``id``, ``title``  required
``description``    text
``price``          number >= 0, or empty
``currency``       e.g. ``USD``
``image_ref``      path relative to the data dir, or a URL
``aliases``        JSON list, or ``;``-separated in CSV
``category``       a name, or a path ``"Shoes > Running shoes"`` (creates the chain of parents)
``category_id``    an id (``cat:...``); with ``category`` it names the leaf's id
``brand``          a name; ``brand_id`` an id (both may be given)
``attributes``     JSON ``{"color": "red", "size": ["9", "10"]}`` or ``["color=red"]``;
                   CSV ``color=red;size=10``
``attribute_ids``  ids (``attr:color=red``), JSON list or ``;``-separated
=================  ============================================================================

Nodes named by name get ids built from the name: ``cat:<slug>``, ``brand:<slug>``,
``attr:<name-slug>=<value-slug>``. Nodes named only by id are created with a name derived from
the id unless they exist already (then they are left as they are).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kgrec.errors import InvalidInputError

from ..schema import ATTRIBUTE, BRAND, CATEGORY
from ..types import AttributeRow, BrandRow, CategoryRow, ProductRow
from . import _existing
from ._fields import (
    FieldError,
    name_from_id,
    optional_str,
    parse_float,
    read_csv,
    required,
    slug,
    split_list,
)
from ._loader import ImportContext, Skip, count_lines, load_source, numbered_lines


@dataclass(slots=True)
class ProductBundle:
    """A product row and the nodes it refers to (created before the product)."""

    product: ProductRow
    categories: list[CategoryRow] = field(default_factory=list)  # root first
    brand: BrandRow | None = None
    attributes: list[AttributeRow] = field(default_factory=list)
    #: (label, id) of nodes named only by id: created only if missing.
    id_only: list[tuple[str, str]] = field(default_factory=list)


def category_chain(path: str, leaf_id: str | None = None) -> list[CategoryRow]:
    """``"Shoes > Running shoes"`` -> the two category rows, root first, linked by parent."""
    names = [p.strip() for p in path.split(">")]
    if any(not n for n in names):
        raise FieldError(f"category {path!r} has an empty level")
    rows: list[CategoryRow] = []
    parent: str | None = None
    for i, name in enumerate(names):
        cid = leaf_id if (leaf_id and i == len(names) - 1) else f"cat:{slug(name)}"
        row: CategoryRow = {"id": cid, "name": name}
        if parent is not None:
            row["parent_id"] = parent
        rows.append(row)
        parent = cid
    return rows


def attribute_row(name: str, value: str) -> AttributeRow:
    name, value = name.strip(), value.strip()
    if not name or not value:
        raise FieldError(f"attribute {name!r}={value!r} needs a name and a value")
    return {"id": f"attr:{slug(name)}={slug(value)}", "name": name, "value": value}


def _attributes(value: object) -> list[AttributeRow]:
    if value is None or value == "":
        return []
    if isinstance(value, dict):
        out = []
        for name, v in value.items():
            values = v if isinstance(v, list) else [v]
            for item in values:
                if not isinstance(item, str | int | float) or isinstance(item, bool):
                    raise FieldError(f"attribute {name!r} has a non-scalar value {item!r}")
                out.append(attribute_row(str(name), str(item)))
        return out
    pairs = split_list(value, "attributes")
    out = []
    for pair in pairs:
        name, sep, v = pair.partition("=")
        if not sep:
            raise FieldError(f"attribute {pair!r} is not name=value")
        out.append(attribute_row(name, v))
    return out


def bundle_from_fields(row: dict[str, object]) -> ProductBundle:
    """Validate one parsed JSON object / CSV row; raises ``FieldError`` naming the field."""
    product: ProductRow = {"id": required(row, "id"), "title": required(row, "title")}
    b = ProductBundle(product)
    for key in ("description", "currency", "image_ref"):
        text = optional_str(row, key)
        if text is not None:
            product[key] = text  # type: ignore[literal-required]
    price = parse_float(row.get("price"), "price", minimum=0)
    if price is not None:
        product["price"] = price
    aliases = split_list(row.get("aliases"), "aliases")
    if aliases:
        product["aliases"] = aliases

    cat_name, cat_id = optional_str(row, "category"), optional_str(row, "category_id")
    if cat_name:
        b.categories = category_chain(cat_name, cat_id)
        product["category_id"] = b.categories[-1]["id"]
    elif cat_id:
        product["category_id"] = cat_id
        b.id_only.append(("Category", cat_id))

    brand_name, brand_id = optional_str(row, "brand"), optional_str(row, "brand_id")
    if brand_name:
        b.brand = {"id": brand_id or f"brand:{slug(brand_name)}", "name": brand_name}
        product["brand_id"] = b.brand["id"]
    elif brand_id:
        product["brand_id"] = brand_id
        b.id_only.append(("Brand", brand_id))

    b.attributes = _attributes(row.get("attributes"))
    attr_ids = [a["id"] for a in b.attributes]
    for aid in split_list(row.get("attribute_ids"), "attribute_ids"):
        if aid not in attr_ids:
            attr_ids.append(aid)
            b.id_only.append(("Attribute", aid))
    if attr_ids:
        product["attribute_ids"] = attr_ids
    return b


def parse_jsonl(path: Path) -> Iterator[tuple[int, ProductBundle] | Skip]:
    for item in numbered_lines(path):
        if isinstance(item, Skip):
            yield item
            continue
        line, text = item
        try:
            obj = json.loads(text)
        except ValueError as e:
            yield Skip(line, f"not JSON: {e}")
            continue
        if not isinstance(obj, dict):
            yield Skip(line, f"expected a JSON object, got {type(obj).__name__}")
            continue
        try:
            yield line, bundle_from_fields(obj)
        except FieldError as e:
            yield Skip(line, str(e))


def parse_csv(path: Path) -> Iterator[tuple[int, ProductBundle] | Skip]:
    for item in read_csv(path):
        if isinstance(item, Skip):
            yield item
            continue
        line, fields = item
        try:
            yield line, bundle_from_fields(dict(fields))
        except FieldError as e:
            yield Skip(line, str(e))


def write_bundles(ctx: ImportContext[ProductBundle], pairs: list[tuple[int, ProductBundle]]) -> int:
    """Referenced nodes first (each written once per import), then the products.

    Categories go to the store in one call per batch (it links parents after writing all
    nodes, and re-derives every product's filter properties, so calls are kept rare).
    """
    batch = [b for _, b in pairs]
    store, size = ctx.store, ctx.options.batch_size
    categories: dict[str, CategoryRow] = {}
    brands: dict[str, BrandRow] = {}
    attributes: dict[str, AttributeRow] = {}
    id_only: dict[tuple[str, str], None] = {}
    for b in batch:
        categories.update((c["id"], c) for c in b.categories)
        if b.brand is not None:
            brands[b.brand["id"]] = b.brand
        attributes.update((a["id"], a) for a in b.attributes)
        id_only.update(dict.fromkeys(b.id_only))
    refs = [k for k in id_only if k[1] not in brands and k[1] not in attributes]
    if new_categories := ctx.unwritten(CATEGORY, categories.values()):
        store.upsert_categories(new_categories, size)
    if new_brands := ctx.unwritten(BRAND, brands.values()):
        store.upsert_brands(new_brands, size)
    if new_attributes := ctx.unwritten(ATTRIBUTE, attributes.values()):
        store.upsert_attributes(new_attributes, size)
    _create_missing(ctx, [k for k in refs if k not in ctx.written])
    return store.upsert_products([b.product for b in batch], size)


def _create_missing(ctx: ImportContext[ProductBundle], refs: list[tuple[str, str]]) -> None:
    if not refs:
        return
    size = ctx.options.batch_size
    for label in (CATEGORY, BRAND, ATTRIBUTE):
        ids = [i for lab, i in refs if lab == label]
        missing = _existing.missing(ctx.store, label, ids) if ids else []
        ctx.written.update(((label, i), "exists") for i in ids)  # checked once per import
        if label == "Category" and missing:
            ctx.store.upsert_categories([{"id": i, "name": name_from_id(i)} for i in missing], size)
        elif label == "Brand" and missing:
            ctx.store.upsert_brands([{"id": i, "name": name_from_id(i)} for i in missing], size)
        elif label == "Attribute" and missing:
            rows: list[AttributeRow] = []
            for i in missing:
                name, _, value = name_from_id(i).partition("=")
                rows.append({"id": i, "name": name or i, "value": value or name or i})
            ctx.store.upsert_attributes(rows, size)


def import_products(ctx: ImportContext[ProductBundle], path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        records = parse_jsonl(path)
    elif suffix == ".csv":
        records = parse_csv(path)
    else:
        raise InvalidInputError("path", f"{path}: products must be .jsonl or .csv")
    load_source(
        ctx,
        "products",
        path,
        records,
        lambda batch: write_bundles(ctx, batch),
        total=count_lines(path),
    )
