"""A tiny GNN checkpoint whose users are bob and alice, for the forget-user and model reload
tests (``version``, ``created`` and which item bob prefers tell two of them apart)."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from models.config import TrainConfig
from models.training.checkpoint import Checkpoint


def save_tiny_checkpoint(
    directory: Path, version: str = "tiny", *, created: float | None = None, favourite: int = 0
) -> Path:
    """Save it to ``directory``; bob's vector points at item ``p<favourite>`` (0 or 1)."""
    items = torch.ones(2, 4)
    items[favourite, 0] = 3.0
    return Checkpoint(
        version=version,
        config=TrainConfig(),
        user_ids=["bob", "alice"],
        item_ids=["p0", "p1"],
        entity_ids=[],
        tensors={
            "users": torch.ones(2, 4),
            "items": items,
            "entities": torch.zeros(0, 4),
            "item_popularity": torch.ones(2),
            "seen": torch.tensor([[0, 0], [1, 0], [1, 1]]),
            "item_entities": torch.zeros(0, 2, dtype=torch.long),
        },
        state_dict={"user_emb.weight": torch.ones(2, 4), "item_emb.weight": torch.ones(2, 4)},
        created=time.time() if created is None else created,
    ).save(directory)
