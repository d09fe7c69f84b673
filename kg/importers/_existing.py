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
    if label is None:
        query, params = q.MISSING_TRIPLE_ENDPOINTS, {"ids": list(ids)}
    else:
        query, params = q.missing_ids(label, ids)
    return [str(r[0]) for r in read(store, query, params)]
