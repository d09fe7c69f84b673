"""Which of a batch's ids already are nodes (one indexed look-up per batch)."""

from __future__ import annotations

from collections.abc import Sequence

from .. import queries as q
from ..store import GraphStore
from ._cypher import read


def missing(store: GraphStore, label: str | None, ids: Sequence[str]) -> list[str]:
    """The ids that are not nodes with ``label``; ``label=None``: neither Product nor Entity."""
    if not ids:
        return []
    query = q.MISSING_TRIPLE_ENDPOINTS if label is None else q.missing_ids(label)
    return [str(r[0]) for r in read(store, query, {"ids": list(ids)})]
