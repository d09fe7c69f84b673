"""Training, checkpoints."""

from models.training.checkpoint import Checkpoint, latest_checkpoint
from models.training.evaluator import evaluate_checkpoint
from models.training.trainer import TrainResult, resolve_device, train, train_model

__all__ = [
    "Checkpoint",
    "TrainResult",
    "evaluate_checkpoint",
    "latest_checkpoint",
    "resolve_device",
    "train",
    "train_model",
]
