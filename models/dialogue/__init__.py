"""Per-session dialogue state: what has been asked, shown and said so far."""

from .dialogue_state import DialogueState, ShownItem, conversation_text
from .dialogue_tracker import DialogueTracker, TurnUpdate
from .session_rules import apply_feedback, candidate_query, echo_constraints

__all__ = [
    "DialogueState",
    "DialogueTracker",
    "ShownItem",
    "TurnUpdate",
    "apply_feedback",
    "candidate_query",
    "conversation_text",
    "echo_constraints",
]
