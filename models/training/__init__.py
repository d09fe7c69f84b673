"""Training, checkpoints.

Reading a checkpoint needs torch only; training and evaluation pull in PyTorch Geometric
(1-2 s of imports), so their names are imported on first use (PEP 562): ``kgrec serve``
loading a trained checkpoint never imports them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from models.training.checkpoint import Checkpoint, latest_checkpoint
from models.training.device import resolve_device

if TYPE_CHECKING:
    from models.training.evaluator import evaluate_checkpoint
    from models.training.trainer import TrainResult, train, train_model

#: name -> the module that defines it, imported when the name is first asked for
_LAZY = {
    "TrainResult": "models.training.trainer",
    "evaluate_checkpoint": "models.training.evaluator",
    "train": "models.training.trainer",
    "train_model": "models.training.trainer",
}

__all__ = [
    "Checkpoint",
    "TrainResult",
    "evaluate_checkpoint",
    "latest_checkpoint",
    "resolve_device",
    "train",
    "train_model",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once imported, a plain attribute
    return value
