"""Synthetic catalogs for the kg tests: a tiny hand-built one and a seeded large one."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from kg.types import (
    AttributeRow,
    BrandRow,
    CategoryRow,
    EntityRow,
    InteractionRow,
    ProductRow,
    TripleRow,
    UserRow,
)


@dataclass
class Catalog:
    categories: list[CategoryRow] = field(default_factory=list)
    brands: list[BrandRow] = field(default_factory=list)
    attributes: list[AttributeRow] = field(default_factory=list)
    products: list[ProductRow] = field(default_factory=list)
    users: list[UserRow] = field(default_factory=list)
    interactions: list[InteractionRow] = field(default_factory=list)
    entities: list[EntityRow] = field(default_factory=list)
    triples: list[TripleRow] = field(default_factory=list)

    def load(self, store) -> dict[str, int]:  # noqa: ANN001 - any GraphStore
        return {
            "categories": store.upsert_categories(self.categories),
            "brands": store.upsert_brands(self.brands),
            "attributes": store.upsert_attributes(self.attributes),
            "products": store.upsert_products(self.products),
            "users": store.upsert_users(self.users),
            "interactions": store.add_interactions(self.interactions),
            "entities": store.upsert_entities(self.entities),
            "triples": store.add_triples(self.triples),
        }


def tiny() -> Catalog:
    """Shoes: a 3-level category tree, 3 brands, 4 attributes, 6 products, 3 users."""
    c = Catalog()
    c.categories = [
        {"id": "cat:shoes", "name": "Shoes", "parent_id": None},
        {
            "id": "cat:running",
            "name": "Running shoes",
            "parent_id": "cat:shoes",
            "aliases": ["runners"],
        },
        {"id": "cat:trail", "name": "Trail running shoes", "parent_id": "cat:running"},
        {"id": "cat:boots", "name": "Boots", "parent_id": "cat:shoes"},
        {"id": "cat:bags", "name": "Bags"},
    ]
    c.brands = [
        {"id": "brand:nike", "name": "Nike", "aliases": ["nike inc", "swoosh"]},
        {"id": "brand:adidas", "name": "Adidas"},
        {"id": "brand:salomon", "name": "Salomon"},
    ]
    c.attributes = [
        {"id": "attr:color=red", "name": "color", "value": "red", "aliases": ["crimson"]},
        {"id": "attr:color=blue", "name": "color", "value": "blue"},
        {"id": "attr:material=leather", "name": "material", "value": "leather"},
        {
            "id": "attr:waterproof=yes",
            "name": "waterproof",
            "value": "yes",
            "aliases": ["waterproof"],
        },
    ]

    def prod(pid, title, price, cat, brand, attrs):  # noqa: ANN001, ANN202
        return {
            "id": pid,
            "title": title,
            "description": f"{title} description",
            "price": price,
            "currency": "USD",
            "category_id": cat,
            "brand_id": brand,
            "attribute_ids": attrs,
            "image_ref": f"img/{pid}.png",
        }

    c.products = [
        prod("prod:1", "Nike Pegasus", 120.0, "cat:running", "brand:nike", ["attr:color=red"]),
        prod(
            "prod:2", "Adidas Ultraboost", 180.0, "cat:running", "brand:adidas", ["attr:color=blue"]
        ),
        prod(
            "prod:3",
            "Salomon Speedcross",
            140.0,
            "cat:trail",
            "brand:salomon",
            ["attr:color=red", "attr:waterproof=yes"],
        ),  # fmt: skip
        prod(
            "prod:4",
            "Nike Trail Blazer",
            95.0,
            "cat:trail",
            "brand:nike",
            ["attr:color=blue", "attr:waterproof=yes"],
        ),  # fmt: skip
        prod(
            "prod:5",
            "Leather Boot",
            210.0,
            "cat:boots",
            "brand:salomon",
            ["attr:material=leather", "attr:waterproof=yes", "attr:color=red"],
        ),  # fmt: skip
        prod("prod:6", "Gym Bag", 40.0, "cat:bags", "brand:adidas", ["attr:color=blue"]),
    ]
    c.users = [{"id": "user:a"}, {"id": "user:b"}, {"id": "user:c"}]
    c.interactions = [
        {
            "user_id": "user:a",
            "item_id": "prod:1",
            "type": "purchase",
            "value": 1.0,
            "ts": 10.0,
            "event_id": "ev:1",
        },
        {
            "user_id": "user:a",
            "item_id": "prod:3",
            "type": "click",
            "value": 1.0,
            "ts": 11.0,
            "event_id": "ev:2",
        },
        {
            "user_id": "user:b",
            "item_id": "prod:3",
            "type": "rating",
            "value": 5.0,
            "ts": 12.0,
            "event_id": "ev:3",
        },
        {
            "user_id": "user:b",
            "item_id": "prod:2",
            "type": "rating",
            "value": 2.0,
            "ts": 13.0,
            "event_id": "ev:4",
        },
        {
            "user_id": "user:c",
            "item_id": "prod:3",
            "type": "like",
            "value": 1.0,
            "ts": 14.0,
            "event_id": "ev:5",
        },
        {
            "user_id": "user:c",
            "item_id": "prod:4",
            "type": "impression",
            "value": 0.0,
            "ts": 15.0,
            "event_id": "ev:6",
        },
    ]
    c.entities = [
        {"id": "ent:designer", "name": "Ada Designer", "type": "person", "aliases": ["ada"]},
        {"id": "ent:tech", "name": "GoreTex", "type": "technology"},
    ]
    c.triples = [
        {"head": "prod:3", "relation": "product.designed_by", "tail": "ent:designer"},
        {"head": "prod:5", "relation": "product.uses", "tail": "ent:tech"},
        {"head": "ent:designer", "relation": "person.works_with", "tail": "ent:tech"},
    ]
    return c


def synthetic(
    n_products: int = 6000, n_users: int = 1000, n_interactions: int = 30000, seed: int = 0
) -> Catalog:
    """A seeded catalog shaped like the demo store: 3-level categories, brands, attributes."""
    rng = random.Random(seed)
    c = Catalog()
    for top in range(6):
        c.categories.append({"id": f"cat:{top}", "name": f"Department {top}"})
        for mid in range(4):
            c.categories.append(
                {"id": f"cat:{top}.{mid}", "name": f"Group {top}.{mid}", "parent_id": f"cat:{top}"}
            )
            for leaf in range(3):
                c.categories.append(
                    {
                        "id": f"cat:{top}.{mid}.{leaf}",
                        "name": f"Kind {top}.{mid}.{leaf}",
                        "parent_id": f"cat:{top}.{mid}",
                    }
                )
    leaves = [x["id"] for x in c.categories if x["id"].count(".") == 2]
    c.brands = [
        {"id": f"brand:{i}", "name": f"Brand {i}", "aliases": [f"b{i}"]} for i in range(120)
    ]
    names = ["color", "size", "material", "style", "fit", "season", "pattern", "finish"]
    c.attributes = [
        {"id": f"attr:{n}={v}", "name": n, "value": f"{n}{v}"} for n in names for v in range(12)
    ]
    for i in range(n_products):
        attrs = rng.sample(names, 4)
        c.products.append(
            {
                "id": f"prod:{i:06d}",
                "title": f"Product {i} {rng.choice(['red', 'blue', 'light', 'pro', 'classic'])}",
                "description": f"Synthetic product number {i}",
                "price": round(rng.uniform(5, 500), 2),
                "currency": "USD",
                "category_id": rng.choice(leaves),
                "brand_id": f"brand:{rng.randrange(120)}",
                "attribute_ids": [f"attr:{n}={rng.randrange(12)}" for n in attrs],
                "image_ref": f"img/{i}.png",
            }
        )
    c.users = [{"id": f"user:{u}"} for u in range(n_users)]
    types = ["impression", "click", "add_to_cart", "purchase", "rating", "like", "dismiss"]
    weights = [0.4] + [0.1] * 6
    for e in range(n_interactions):
        pid = min(int(rng.paretovariate(1.2)) - 1, n_products - 1)  # long tail
        c.interactions.append(
            {
                "user_id": f"user:{rng.randrange(n_users)}",
                "item_id": f"prod:{(pid * 7919) % n_products:06d}",
                "type": rng.choices(types, weights)[0],
                "value": float(rng.randint(1, 5)),
                "ts": 1_700_000_000.0 + e,
                "event_id": f"ev:{e}",
            }
        )
    return c
