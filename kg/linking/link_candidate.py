"""One ranked answer of :meth:`kg.linking.EntityLinker.link`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LinkCandidate:
    """A graph node a mention may refer to.

    ``score`` is in ``[0, 1]`` (see :class:`kg.linking.LinkerConfig`); ``method`` names the
    signal that gave it: ``exact``, ``alias``, ``normalized``, ``fuzzy``, ``acronym``,
    ``prefix``, ``surname``, ``fulltext`` or ``embedding``. The pipeline maps it to
    :class:`kgrec.domain.LinkedEntity`.
    """

    entity_id: str
    label: str
    name: str
    score: float
    method: str
