"""The cold-start benchmark's new-item vectors are the ones the served scorer makes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `bench` is not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from bench.cold_vectors import add_item_vectors  # noqa: E402
from bench.coldstart import item_cold_split  # noqa: E402
from models.config import EncoderConfig, ModelConfig, TrainConfig  # noqa: E402
from models.data import RecDataset  # noqa: E402
from models.scoring import GnnScorer, NewItem  # noqa: E402
from models.training import Checkpoint, train_model  # noqa: E402
from tests.bench.tiny_split import random_split  # noqa: E402


def _dataset(num_users: int = 24, num_items: int = 30) -> RecDataset:
    rng = np.random.default_rng(3)
    train, valid, test = random_split(rng, num_users, num_items, 400)
    links = [(i, 0, i % 4) for i in range(num_items)] + [(i, 0, 4) for i in range(0, num_items, 3)]
    return RecDataset(
        name="tiny-cold",
        user_ids=[f"u{k}" for k in range(num_users)],
        item_ids=[f"i{k}" for k in range(num_items)],
        entity_ids=[f"e{k}" for k in range(5)],
        relations=["r"],
        train=train,
        valid=valid,
        test=test,
        item_entity=np.array(sorted(links), dtype=np.int64),
        entity_entity=np.zeros((0, 3), np.int64),
        item_texts=[""] * num_items,
        item_images=[None] * num_items,
        rating_rows=(
            train[:, 1],
            rng.integers(1, 6, len(train)).astype(float),
            np.zeros(len(train)),
        ),
    )


def test_add_item_vectors_match_the_served_scorers_add_item(tmp_path: Path) -> None:
    cold, cold_idx = item_cold_split(_dataset(), 0.2, seed=1)
    config = TrainConfig(
        model=ModelConfig(dim=8, num_layers=2),
        encoder=EncoderConfig(use_text=False, use_image=False, use_rating=True),
        epochs=2,
        eval_every=1,
        device="cpu",
        threads=1,
    )
    ckpt = train_model(cold, config, tmp_path / "model", progress=False).checkpoint
    features = cold.item_features(config.encoder).tensors()
    vectors = add_item_vectors(ckpt, features, cold_idx)
    warm = np.setdiff1d(np.arange(cold.num_items), cold_idx)
    assert torch.equal(vectors[warm], ckpt.tensors["items"].float()[warm])
    assert not torch.allclose(vectors[cold_idx], ckpt.tensors["items"].float()[cold_idx])

    scorer = GnnScorer(ckpt, device="cpu")
    for item in cold_idx.tolist():
        linked = cold.item_entity[cold.item_entity[:, 0] == item, 2]
        row = {"id": cold.item_ids[item], "title": "", "attribute_ids": [f"e{e}" for e in linked]}
        scorer.add_item(NewItem(row=row))
    served = Checkpoint.load(scorer.save(tmp_path / "served")).tensors["items"].float()
    assert torch.allclose(vectors, served, atol=1e-5)


def test_add_item_vectors_use_the_checkpoints_cold_map(tmp_path: Path) -> None:
    """A checkpoint with a ridge map (``TrainConfig.cold_item_map``) embeds new items with
    text by the map, as ``GnnScorer.add_item`` then does; items without text keep the recipe."""
    from models.training.cold_items import cold_item_vectors

    cold, cold_idx = item_cold_split(_dataset(), 0.2, seed=1)
    config = TrainConfig(
        model=ModelConfig(dim=8, num_layers=2),
        encoder=EncoderConfig(use_text=False, use_image=False, use_rating=True),
        epochs=1,
        device="cpu",
        threads=1,
        cold_item_map=True,
        cold_item_scale=0.5,
    )
    ckpt = train_model(cold, config, tmp_path / "model", progress=False).checkpoint
    assert "cold_map" not in ckpt.tensors  # no text features: nothing to map from
    features = cold.item_features(config.encoder).tensors()
    plain = add_item_vectors(ckpt, features, cold_idx)
    gen = torch.Generator().manual_seed(0)
    weight, mu = torch.randn(5, 8, generator=gen), torch.randn(5, generator=gen)
    ckpt.tensors.update(cold_map=weight, cold_map_mean=mu)
    x = torch.randn(cold.num_items, 5, generator=gen)
    has_text = torch.ones(cold.num_items, dtype=torch.bool)
    has_text[cold_idx[0]] = False
    vectors = add_item_vectors(ckpt, {**features, "text": (x, has_text)}, cold_idx)
    mapped = torch.from_numpy(cold_idx[1:])
    assert torch.allclose(vectors[mapped], cold_item_vectors(x[mapped], weight, mu, 0.5))
    assert torch.allclose(vectors[cold_idx[0]], plain[cold_idx[0]])
    warm = np.setdiff1d(np.arange(cold.num_items), cold_idx)
    assert torch.equal(vectors[warm], ckpt.tensors["items"].float()[warm])
