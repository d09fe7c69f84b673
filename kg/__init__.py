"""The product knowledge graph: one ``GraphStore`` interface, FalkorDB and Neo4j backends.

``kg.open_store(uri)`` picks the backend from the URI; :class:`EmbeddedFalkorDB` runs the
default database as a child process. All Cypher lives in :mod:`kg.queries` (shared) and
:mod:`kg.dialect` (what differs); names come from :mod:`kg.schema`'s allow-lists.
"""

from typing import TYPE_CHECKING

from .embedded import EmbeddedFalkorDB
from .exceptions import DataDirInUseError, EmbeddedServerError, GraphQueryError, SchemaNameError
from .falkordb_store import FalkorDBStore
from .open import open_store
from .schema import label, relation_type
from .store import DEFAULT_BATCH, GraphStore
from .types import (
    AttributeRow,
    BrandRow,
    Candidate,
    CandidateQuery,
    CategoryRow,
    EntityHit,
    EntityRow,
    GraphStats,
    InteractionRow,
    KgPath,
    LexiconEntry,
    ProductRecord,
    ProductRow,
    SessionRecord,
    StoredEvent,
    TripleRow,
    UserDataCounts,
    UserRow,
)

if TYPE_CHECKING:
    from .neo4j_store import Neo4jStore


def __getattr__(name: str) -> object:
    # the neo4j driver takes ~0.6 s to import; only Neo4j users pay for it
    if name == "Neo4jStore":
        from .neo4j_store import Neo4jStore

        return Neo4jStore
    raise AttributeError(f"module 'kg' has no attribute {name!r}")


__all__ = [
    "DEFAULT_BATCH",
    "AttributeRow",
    "BrandRow",
    "Candidate",
    "CandidateQuery",
    "CategoryRow",
    "DataDirInUseError",
    "EmbeddedFalkorDB",
    "EmbeddedServerError",
    "EntityHit",
    "EntityRow",
    "FalkorDBStore",
    "GraphQueryError",
    "GraphStats",
    "GraphStore",
    "InteractionRow",
    "KgPath",
    "LexiconEntry",
    "Neo4jStore",
    "ProductRecord",
    "ProductRow",
    "SchemaNameError",
    "SessionRecord",
    "StoredEvent",
    "TripleRow",
    "UserDataCounts",
    "UserRow",
    "label",
    "open_store",
    "relation_type",
]
