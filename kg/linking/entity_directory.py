"""The linkable nodes by id, and the one rule that turns a mention into a linked entity.

The link step of a turn and ``bench.crs_links`` (which audits it) both resolve mentions here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from kgrec.domain import LinkedEntity

from ..types import LexiconEntry

__all__ = ["EntityDirectory", "Linker"]


class Hit(Protocol):
    """What a linker's best guess carries (a ``LinkCandidate``, an ``EntityHit``)."""

    @property
    def entity_id(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def score(self) -> float: ...


class Linker(Protocol):
    def link_best(self, mention: str, label_hint: str | None = None) -> Hit | None: ...


class EntityDirectory:
    """Display names of linkable nodes (``lexicon``) and mention resolution through ``linker``.

    Args:
        threshold: a mention links only to an entity the linker scores at least this.
        wish_threshold: a soft wish ("for winter") links only to a near-exact name; else it
            stays words.
        guess_threshold: a mention nothing marks as a name of some kind (no lexicon match,
            no label hint: a capitalised word the parser only guessed at) links only at this
            score or above, when it is above ``threshold``: "Chat soon" is not "The Cheat",
            "Past ten years" not "The Pest" (weak fuzzy matches score about 0.5).
    """

    def __init__(
        self,
        lexicon: Sequence[LexiconEntry],
        linker: Linker,
        threshold: float = 0.5,
        wish_threshold: float = 0.9,
        guess_threshold: float = 0.6,
    ) -> None:
        self.linker = linker
        self.threshold = threshold
        self.wish_threshold = wish_threshold
        self.guess_threshold = guess_threshold
        self.entries: dict[str, LexiconEntry] = {}
        for entry in lexicon:
            self.entries.setdefault(entry.entity_id, entry)

    def describe(self, entity_id: str) -> tuple[str, str]:
        """(label, display name) of a linkable node; attribute names read as their value."""
        entry = self.entries.get(entity_id)
        if entry is None:
            return "Entity", entity_id
        if entry.label == "Attribute" and "=" in entity_id:
            return entry.label, entity_id.split("=", 1)[1]
        return entry.label, entry.name

    def name(self, entity_id: str) -> str:
        return self.describe(entity_id)[1]

    def resolve(
        self,
        text: str,
        *,
        entity_id: str | None = None,
        label_hint: str | None = None,
        negated: bool = False,
    ) -> LinkedEntity | None:
        """The graph node a mention stands for: the parser's own ``entity_id``, else the
        linker's best entity if it scores at least ``threshold`` (``guess_threshold`` when
        the mention has no ``label_hint`` either); None if neither."""
        if entity_id:
            label, name = self.describe(entity_id)
            return LinkedEntity(text, entity_id, label, name, 1.0, negated)
        best = self.linker.link_best(text, label_hint=label_hint)
        need = self.threshold if label_hint else max(self.threshold, self.guess_threshold)
        if best is None or best.score < need:
            return None
        return LinkedEntity(text, best.entity_id, best.label, best.name, best.score, negated)

    def resolve_wishes(
        self, wishes: Iterable[tuple[str, str, bool]], seen: set[tuple[str, bool]]
    ) -> tuple[LinkedEntity, ...]:
        """Graph nodes for soft wishes ``(text, value, negated)`` ("for winter" -> a warmth
        attribute) when one is named almost exactly, never a product, each ``(entity id,
        negated)`` once and none in ``seen`` (updated); the rest stay words."""
        out: list[LinkedEntity] = []
        for text, value, negated in wishes:
            best = self.linker.link_best(value)
            if best is None or best.score < self.wish_threshold or best.label == "Product":
                continue
            if (best.entity_id, negated) in seen:
                continue
            seen.add((best.entity_id, negated))
            out.append(
                LinkedEntity(text, best.entity_id, best.label, best.name, best.score, negated)
            )
        return tuple(out)
