"""One conversational-recommendation dialogue, normalised across datasets (ReDial, INSPIRED)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from models.dialogue.dialogue_state import conversation_text

SEEKER = "seeker"
RECOMMENDER = "recommender"


@dataclass(frozen=True, slots=True)
class CrsMessage:
    """One utterance.

    Attributes:
        role: ``"seeker"`` or ``"recommender"``.
        text: the utterance with movie mentions already written as titles.
        item_ids: catalog ids of the movies the utterance mentions, in order of appearance.
        targets: for a recommender utterance, the mentioned movies that count as its
            recommendations (ReDial: ``respondentQuestions[id].suggested == 1``); else ``()``.
    """

    role: str
    text: str
    item_ids: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CrsDialogue:
    """A dialogue id and its messages in order."""

    id: str
    messages: tuple[CrsMessage, ...]

    @property
    def item_ids(self) -> tuple[str, ...]:
        """Every movie mentioned anywhere in the dialogue, first mention order."""
        return tuple(dict.fromkeys(i for m in self.messages for i in m.item_ids))

    @property
    def n_eval_turns(self) -> int:
        return sum(1 for m in self.messages if m.targets)


def target_turns(dialogue: CrsDialogue) -> Iterator[tuple[CrsMessage, list[str], str]]:
    """Each message of ``dialogue`` with targets, and its ideal context: every movie mentioned
    before it, and the seeker's non-blank messages before it, stripped, newest first (as the
    server's dialogue state gives them to a scorer; "" before the seeker has said anything)."""
    context: list[str] = []
    text: list[str] = []
    for m in dialogue.messages:
        if m.targets:
            yield m, list(context), conversation_text(text)
        context += m.item_ids
        if m.role == SEEKER and m.text.strip():
            text.append(m.text.strip())


def with_first_mentions(dialogue: CrsDialogue, role: str = SEEKER) -> CrsDialogue:
    """``dialogue`` where each message of ``role`` that has no targets takes as targets the
    movies it mentions that no earlier message did: for fitting, a seeker naming a movie
    after the conversation so far is one more example of what that conversation calls for.
    Messages with targets, and later mentions of a movie, are left as they are."""
    seen: set[str] = set()
    messages = []
    for m in dialogue.messages:
        if m.role == role and not m.targets:
            new = tuple(i for i in dict.fromkeys(m.item_ids) if i not in seen)
            if new:
                m = replace(m, targets=new)
        seen.update(m.item_ids)
        messages.append(m)
    return CrsDialogue(dialogue.id, tuple(messages))


__all__ = [
    "RECOMMENDER",
    "SEEKER",
    "CrsDialogue",
    "CrsMessage",
    "target_turns",
    "with_first_mentions",
]
