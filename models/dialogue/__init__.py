"""Per-session dialogue state: what has been asked, shown and said so far."""

from .dialogue_state import DialogueState, ShownItem, conversation_text
from .dialogue_tracker import DialogueTracker, TurnUpdate

__all__ = ["DialogueState", "DialogueTracker", "ShownItem", "TurnUpdate", "conversation_text"]
