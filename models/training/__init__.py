"""Training, checkpoints.

Reading a checkpoint needs torch only, finding one (``checkpoint_dir``) not even that;
training and evaluation pull in PyTorch Geometric (1-2 s of imports). So every name is imported
on first use (PEP 562): ``kgrec serve`` loading a trained checkpoint never imports training,
and the parent of ``kgrec serve --workers`` looking for one never imports torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.training.checkpoint import Checkpoint
    from models.training.checkpoint_dir import latest_checkpoint
    from models.training.device import resolve_device
    from models.training.evaluator import evaluate_checkpoint
    from models.training.trainer import TrainResult, train, train_model

#: name -> the module that defines it, imported when the name is first asked for
_LAZY = {
    "Checkpoint": "models.training.checkpoint",
    "latest_checkpoint": "models.training.checkpoint_dir",
    "resolve_device": "models.training.device",
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
