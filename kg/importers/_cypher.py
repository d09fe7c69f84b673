"""Run the importer/export/verify queries of :mod:`kg.queries` on a store.

The stores implement them on :class:`kg._cypher_store.CypherStore`'s read/write primitives;
a ``GraphStore`` of another kind cannot run raw Cypher and is refused with a clear error.
"""

from __future__ import annotations

from typing import Any

from kgrec.errors import ConfigError

from .._cypher_store import CypherStore, Row
from ..store import GraphStore


def _cypher(store: GraphStore) -> CypherStore:
    if not isinstance(store, CypherStore):
        raise ConfigError(f"{type(store).__name__} cannot run the graph admin queries")
    return store


def read(store: GraphStore, query: str, params: dict[str, Any] | None = None) -> list[Row]:
    """A read-only query (read routing); rows as lists in column order."""
    return _cypher(store)._read(query, params)


def write(store: GraphStore, query: str, params: dict[str, Any] | None = None) -> None:
    """A write query in one transaction."""
    _cypher(store)._write(query, params)
