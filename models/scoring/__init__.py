"""Serving-time scoring from a trained checkpoint."""

from models.scoring.scorer import Scorer
from models.training.checkpoint import latest_checkpoint

__all__ = ["Scorer", "latest_checkpoint"]
