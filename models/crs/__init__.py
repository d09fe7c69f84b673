"""Conversational recommendation on dialogue data (ReDial, INSPIRED): dialogues, readers and the
tree re-ranker. The conversational scorer itself is :class:`models.scoring.CoMentionScorer`."""

from .crs_dialogue import CrsDialogue, CrsMessage, target_turns, with_first_mentions
from .reranker import RerankConfig, TermReranker

__all__ = [
    "CrsDialogue",
    "CrsMessage",
    "RerankConfig",
    "TermReranker",
    "target_turns",
    "with_first_mentions",
]
