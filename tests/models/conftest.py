"""Tiny fixture catalogue: 12 products, 6 users, brand/category/attribute edges, PNG images."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kg.types import InteractionRow, ProductRow, TripleRow
from models.config import EncoderConfig, ModelConfig, TrainConfig
from models.data import RecDataset

BRANDS = ["brand:acme", "brand:zeta", "brand:orbit"]
CATEGORIES = ["cat:shoes", "cat:jackets", "cat:bags"]
COLORS = ["attr:color=red", "attr:color=blue"]


def png_bytes(seed: int, size: int = 40) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def make_rows(image_dir: Path) -> tuple[list[ProductRow], list[InteractionRow], list[TripleRow]]:
    products: list[ProductRow] = []
    triples: list[TripleRow] = []
    for i in range(12):
        pid = f"prod:{i:03d}"
        row: ProductRow = {
            "id": pid,
            "title": f"{['Trail', 'City', 'Storm'][i % 3]} {CATEGORIES[i % 3].split(':')[1]} {i}",
            "description": f"A {['light', 'warm', 'roomy'][i % 3]} product number {i}.",
            "price": 10.0 + i,
            "brand_id": BRANDS[i % 3],
            "category_id": CATEGORIES[i % 3],
            "attribute_ids": [COLORS[i % 2]],
        }
        if i % 2 == 0:  # half the catalogue has an image
            path = image_dir / f"{pid.replace(':', '_')}.png"
            path.write_bytes(png_bytes(i))
            row["image_ref"] = path.name
        products.append(row)
        triples.append({"head": pid, "relation": "HAS_BRAND", "tail": BRANDS[i % 3]})
        triples.append({"head": pid, "relation": "IN_CATEGORY", "tail": CATEGORIES[i % 3]})
    interactions: list[InteractionRow] = []
    n = 0
    for u in range(6):
        for j in range(7):
            item = (u * 2 + j * (1 + u % 2)) % 12
            kind = ["click", "purchase", "rating", "like"][j % 4]
            row_i: InteractionRow = {
                "user_id": f"user:{u}",
                "item_id": f"prod:{item:03d}",
                "type": kind,
                "ts": 1_700_000_000.0 + 3600 * n,
                "event_id": f"ev{n}",
            }
            if kind == "rating":
                row_i["value"] = float(3 + (u + j) % 3)
            interactions.append(row_i)
            n += 1
    interactions.append(
        {"user_id": "user:0", "item_id": "prod:011", "type": "dislike", "event_id": "evx"}
    )
    return products, interactions, triples


@pytest.fixture(scope="session")
def rows_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rows")


@pytest.fixture(scope="session")
def tiny_rows(rows_dir: Path) -> tuple[list[ProductRow], list[InteractionRow], list[TripleRow]]:
    return make_rows(rows_dir)


@pytest.fixture(scope="session")
def tiny_dataset(tiny_rows, rows_dir: Path) -> RecDataset:
    products, interactions, triples = tiny_rows
    return RecDataset.from_rows(products, interactions, triples, rows_dir, split=(0.2, 0.0))


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("emb-cache")


def tiny_config(cache_dir: Path, **model: object) -> TrainConfig:
    return TrainConfig(
        model=ModelConfig(dim=8, num_layers=2, min_entity_degree=1, **model),  # type: ignore[arg-type]
        encoder=EncoderConfig(text_max_length=32, image_size=64, cache_dir=str(cache_dir)),
        epochs=2,
        batch_size=16,
        eval_every=1,
        device="cpu",
    )
