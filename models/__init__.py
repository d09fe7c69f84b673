"""Everything learned: item encoders, graph recommenders, training, evaluation, scoring.

The names below are imported lazily, so ``import models.intent`` does not pay for torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Checkpoint",
    "EncoderConfig",
    "ModelConfig",
    "RecDataset",
    "Scorer",
    "TrainConfig",
    "latest_checkpoint",
    "train",
]

_WHERE = {
    "Checkpoint": "models.training",
    "EncoderConfig": "models.config",
    "ModelConfig": "models.config",
    "RecDataset": "models.data",
    "Scorer": "models.scoring",
    "TrainConfig": "models.config",
    "latest_checkpoint": "models.scoring",
    "train": "models.training",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'models' has no attribute {name!r}")
