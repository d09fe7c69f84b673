"""Serving-time scoring: one contract (:class:`ItemScorer`), its scorers, their registry."""

from models.scoring.comention_config import CoMentionConfig
from models.scoring.comention_scorer import CoMentionScorer, words
from models.scoring.gnn_scorer import GnnScorer, Scorer
from models.scoring.item_scorer import ItemScorer, NewItem, ScoringContext
from models.scoring.registry import SCORERS, load_scorer, scorer_class
from models.training.checkpoint import latest_checkpoint

__all__ = [
    "SCORERS",
    "CoMentionConfig",
    "CoMentionScorer",
    "GnnScorer",
    "ItemScorer",
    "NewItem",
    "Scorer",
    "ScoringContext",
    "latest_checkpoint",
    "load_scorer",
    "scorer_class",
    "words",
]
