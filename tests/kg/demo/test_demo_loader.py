"""``load_demo`` against an in-memory recording store: order, batching, counts, manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from demo_recording_store import RecordingStore

from kg.demo import demo_loaded, demo_manifest, generate_demo, load_demo


@pytest.fixture
def loaded(tmp_path: Path) -> tuple[RecordingStore, object, Path]:
    store = RecordingStore()
    summary = load_demo(
        store, tmp_path, seed=11, n_products=150, n_users=40, progress=False, batch_size=100
    )
    return store, summary, tmp_path


def test_loads_in_dependency_order_in_batches(loaded) -> None:
    store, _, _ = loaded
    kinds = [kind for kind, _, _ in store.calls]
    assert kinds[0] == "init_schema"
    order = ["categories", "brands", "attributes", "products", "users", "interactions"]
    first = [kinds.index(k) for k in order]
    last = [len(kinds) - 1 - kinds[::-1].index(k) for k in order]
    assert first == sorted(first)
    assert all(last[i] < first[i + 1] for i in range(len(order) - 1))
    assert all(0 < n <= 100 and bs == 100 for kind, n, bs in store.calls if kind != "init_schema")
    assert kinds.count("interactions") > 1  # really batched


def test_everything_generated_is_loaded_and_counted(loaded) -> None:
    store, summary, _ = loaded
    data = generate_demo(seed=11, n_products=150, n_users=40)
    assert store.nodes["products"] == {p["id"]: dict(p) for p in data.products}
    assert len(store.nodes["categories"]) == len(data.categories)
    assert set(store.events) == {r["event_id"] for r in data.interactions}
    assert summary.counts == {
        "categories": len(data.categories),
        "brands": len(data.brands),
        "attributes": len(data.attributes),
        "products": 150,
        "users": 40,
        "interactions": len(data.interactions),
    }
    assert summary.written == summary.counts
    assert summary.data == data  # the rows it loaded, for a caller that trains on them
    assert summary.images == 150
    assert summary.total_s >= summary.generate_s + summary.images_s - 1e-3


def test_images_exist_for_every_product(loaded) -> None:
    store, _, data_dir = loaded
    for p in store.nodes["products"].values():
        assert (data_dir / p["image_ref"]).stat().st_size > 100


def test_manifest_records_seed_and_sizes(loaded) -> None:
    _, summary, data_dir = loaded
    manifest = demo_manifest(data_dir)
    assert manifest is not None
    assert (manifest["seed"], manifest["n_products"], manifest["n_users"]) == (11, 150, 40)
    assert manifest["counts"] == summary.counts
    assert "data" not in manifest and "DemoData" not in repr(summary)
    assert json.loads((data_dir / "demo.json").read_text())["generator_version"] >= 1


def test_loading_twice_is_idempotent(loaded) -> None:
    store, first, data_dir = loaded
    second = load_demo(
        store, data_dir, seed=11, n_products=150, n_users=40, progress=False, batch_size=100
    )
    assert second.counts == first.counts
    assert second.written["interactions"] == 0  # the store skipped known event ids
    assert len(store.nodes["products"]) == 150


def test_no_manifest_means_not_loaded(tmp_path: Path) -> None:
    assert demo_manifest(tmp_path) is None
    (tmp_path / "demo.json").write_text("{not json")
    assert demo_manifest(tmp_path) is None


def test_demo_loaded_matches_only_the_same_parameters(loaded) -> None:
    _, _, data_dir = loaded
    assert demo_loaded(data_dir, seed=11, n_products=150, n_users=40)
    assert not demo_loaded(data_dir, seed=12, n_products=150, n_users=40)
    assert not demo_loaded(data_dir, seed=11, n_products=6000, n_users=40)
    assert not demo_loaded(data_dir / "elsewhere")
