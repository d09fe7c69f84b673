"""Conversational recommendation on dialogue data (ReDial, INSPIRED): readers and scorers."""

from .comention_config import CoMentionConfig
from .comention_scorer import CoMentionScorer
from .crs_dialogue import CrsDialogue, CrsMessage, target_turns, with_first_mentions
from .reranker import RerankConfig, TermReranker

__all__ = [
    "CoMentionConfig",
    "CoMentionScorer",
    "CrsDialogue",
    "CrsMessage",
    "RerankConfig",
    "TermReranker",
    "target_turns",
    "with_first_mentions",
]
