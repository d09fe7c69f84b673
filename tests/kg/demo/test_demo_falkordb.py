"""Load a small demo into the real embedded FalkorDB and query it back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import kg
from kg.demo import DemoData, generate_demo, load_demo
from kg.types import CandidateQuery
from kgrec.domain import PriceRange

if not (hasattr(kg, "open_store") and hasattr(kg, "EmbeddedFalkorDB")):  # pragma: no cover
    pytest.skip("kg.open_store / kg.EmbeddedFalkorDB not available", allow_module_level=True)

SEED, N_PRODUCTS, N_USERS = 7, 400, 40


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo-data")


@pytest.fixture(scope="module")
def data() -> DemoData:
    return generate_demo(seed=SEED, n_products=N_PRODUCTS, n_users=N_USERS)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[kg.GraphStore]:
    with kg.EmbeddedFalkorDB(tmp_path_factory.mktemp("demo-db")) as db:
        s = kg.open_store(db.uri)
        try:
            load_demo(s, data_dir, seed=SEED, n_products=N_PRODUCTS, n_users=N_USERS,
                      progress=False, batch_size=500)  # fmt: skip
            yield s
        finally:
            s.close()


def test_every_row_is_in_the_graph(store: kg.GraphStore, data: DemoData) -> None:
    stats = store.stats()
    assert stats.nodes["Product"] == N_PRODUCTS
    assert stats.nodes["User"] == N_USERS
    assert stats.nodes["Category"] == len(data.categories)
    assert stats.nodes["Brand"] == len(data.brands)
    assert stats.nodes["Attribute"] == len(data.attributes)
    assert stats.relationships["INTERACTED"] == len(data.interactions)
    assert stats.relationships["HAS_ATTRIBUTE"] == sum(
        len(p["attribute_ids"]) for p in data.products
    )


def test_products_come_back_with_their_links(store: kg.GraphStore, data: DemoData) -> None:
    want = data.products[:5]
    got = store.products([p["id"] for p in want])
    assert [r.id for r in got] == [p["id"] for p in want]
    for row, rec in zip(want, got, strict=True):
        assert rec.title == row["title"] and rec.price == row["price"]
        assert rec.brand_id == row["brand_id"] and rec.category_id == row["category_id"]
        assert set(rec.attribute_ids) == set(row["attribute_ids"])
        assert rec.image_ref == row["image_ref"]


def test_acceptance_query_finds_exactly_the_matching_demo_products(
    store: kg.GraphStore, data: DemoData
) -> None:
    """ "red running shoes under 100, not Nike", filtered in the database."""
    shoes = {c["id"] for c in data.categories if c.get("parent_id") == "cat:shoes"}
    expected = {
        p["id"]
        for p in data.products
        if p["category_id"] in shoes
        and "attr:color=red" in p["attribute_ids"]
        and p["price"] <= 100
        and p["brand_id"] != "brand:nike"
    }
    assert len(expected) >= 5  # the small demo still has some
    query = CandidateQuery(
        price=PriceRange(max=100.0),
        category_ids=("cat:shoes",),  # the root: its subtree includes running shoes
        required_attribute_ids=("attr:color=red",),
        exclude_brand_ids=("brand:nike",),
        limit=500,
    )
    assert {c.product.id for c in store.candidates(query)} == expected


def test_reloading_is_idempotent(store: kg.GraphStore, data_dir: Path) -> None:
    before = store.stats()
    load_demo(store, data_dir, seed=SEED, n_products=N_PRODUCTS, n_users=N_USERS, progress=False)
    after = store.stats()
    assert after.nodes == before.nodes
    assert after.relationships == before.relationships
