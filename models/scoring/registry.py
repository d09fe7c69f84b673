"""Scorers by name, and loading whichever kind a saved model directory holds."""

from __future__ import annotations

import json
from pathlib import Path

from kgrec.errors import ConfigError

from .comention_scorer import CoMentionScorer
from .gnn_scorer import GnnScorer
from .item_scorer import ItemScorer

__all__ = ["SCORERS", "load_scorer", "scorer_class"]

#: Every registered scorer, by the ``kind`` its saved models carry.
SCORERS: dict[str, type[ItemScorer]] = {
    GnnScorer.kind: GnnScorer,
    CoMentionScorer.kind: CoMentionScorer,
}


def scorer_class(kind: str) -> type[ItemScorer]:
    """The scorer registered as ``kind``; an unknown name lists the valid ones."""
    try:
        return SCORERS[kind]
    except KeyError:
        raise ConfigError(f"unknown scorer {kind!r}; valid: {', '.join(sorted(SCORERS))}") from None


def load_scorer(directory: Path | str) -> ItemScorer:
    """The scorer saved in ``directory``, of the kind its ``meta.json`` names (models saved
    before scorers had kinds are GNN checkpoints)."""
    directory = Path(directory)
    try:
        meta = json.loads((directory / "meta.json").read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read model {directory}: {e}") from e
    return scorer_class(str(meta.get("kind", GnnScorer.kind))).load(directory)
