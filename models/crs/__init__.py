"""Conversational recommendation on dialogue data (ReDial, INSPIRED): readers and scorers."""

from .comention_scorer import CoMentionConfig, CoMentionScorer
from .crs_dialogue import CrsDialogue, CrsMessage

__all__ = ["CoMentionConfig", "CoMentionScorer", "CrsDialogue", "CrsMessage"]
