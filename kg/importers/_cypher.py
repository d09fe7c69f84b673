"""Run the importer/export/verify queries of :mod:`kg.queries` on a store.

Through :class:`kg._cypher_base.CypherBase`'s public ``run_read`` / ``run_write``; a
``GraphStore`` of another kind cannot run raw Cypher and is refused with a clear error.
"""

from __future__ import annotations

from typing import Any

from .._cypher_base import Row, cypher_store
from ..store import GraphStore


def read(store: GraphStore, query: str, params: dict[str, Any] | None = None) -> list[Row]:
    """A read-only query (read routing); rows as lists in column order."""
    return cypher_store(store).run_read(query, params)


def write(store: GraphStore, query: str, params: dict[str, Any] | None = None) -> None:
    """A write query in one transaction."""
    cypher_store(store).run_write(query, params)
