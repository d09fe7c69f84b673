"""A tiny GNN checkpoint whose users are bob and alice, for the forget-user tests."""

from __future__ import annotations

from pathlib import Path

import torch

from models.config import TrainConfig
from models.training.checkpoint import Checkpoint


def save_tiny_checkpoint(directory: Path) -> None:
    Checkpoint(
        version="tiny",
        config=TrainConfig(),
        user_ids=["bob", "alice"],
        item_ids=["p0", "p1"],
        entity_ids=[],
        tensors={
            "users": torch.ones(2, 4),
            "items": torch.ones(2, 4),
            "entities": torch.zeros(0, 4),
            "item_popularity": torch.ones(2),
            "seen": torch.tensor([[0, 0], [1, 0], [1, 1]]),
            "item_entities": torch.zeros(0, 2, dtype=torch.long),
        },
        state_dict={"user_emb.weight": torch.ones(2, 4), "item_emb.weight": torch.ones(2, 4)},
    ).save(directory)
