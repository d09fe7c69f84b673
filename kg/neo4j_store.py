"""``GraphStore`` on Neo4j 5 through the official driver.

The Cypher is the same as FalkorDB's (:mod:`kg.queries`); only the schema DDL and the
fulltext/vector procedures differ (:data:`kg.dialect.NEO4J`). Reads are routed as reads
(``RoutingControl.READ``), so a cluster serves them from followers.

Neo4j Community has a single database, so ``graph`` is not a namespace here: pass
``database=`` to choose one (``None``: the server's default).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import neo4j
from neo4j import GraphDatabase, RoutingControl
from neo4j import exceptions as neo4j_errors

from kgrec.errors import ConfigError, DeadlineExceededError, GraphUnavailableError

from . import queries, schema
from ._cypher_store import CypherStore, Params, Row, Written
from .dialect import (
    NEO4J,
    NEO4J_AWAIT_INDEXES,
    NEO4J_DELETE_BATCH,
    NEO4J_LIST_CONSTRAINTS,
    NEO4J_LIST_INDEXES,
    neo4j_drop,
)
from .exceptions import GraphQueryError

logger = logging.getLogger(__name__)

_UNAVAILABLE = (
    neo4j_errors.ServiceUnavailable,
    neo4j_errors.SessionExpired,
    neo4j_errors.TransientError,
    OSError,
)


class Neo4jStore(CypherStore):
    """A Neo4j 5 database.

    Args:
        uri: ``neo4j://``, ``neo4j+s://``, ``bolt://`` ... without credentials.
        user, password: basic auth.
        graph: kept for interface symmetry with FalkorDB; unused (see the module docstring).
        database: the database name, ``None`` for the server default.
        embedding_dim: create a cosine vector index on ``Product.embedding`` of this size.
        read_timeout_ms: transaction timeout of one read; past it the read raises
            ``DeadlineExceededError`` (``None``: the server's default).
        cache_ttl: seconds ``candidates`` may reuse a product's record (not its popularity).
        filter_index: answer candidate queries from an in-process snapshot of the
            products' filter fields, rebuilt every ``cache_ttl`` seconds
            (:mod:`kg._filter_index`); ``False``: in the database every time.
        **driver_opts: passed to ``GraphDatabase.driver`` (e.g. ``max_connection_pool_size``).
    """

    dialect = NEO4J

    def __init__(
        self,
        uri: str,
        *,
        user: str = "neo4j",
        password: str = "",
        graph: str = "kgrec",
        database: str | None = None,
        embedding_dim: int | None = None,
        read_timeout_ms: int | None = 10_000,
        cache_ttl: float = 60.0,
        filter_index: bool = True,
        **driver_opts: Any,
    ) -> None:
        super().__init__(
            embedding_dim=embedding_dim, cache_ttl=cache_ttl, filter_index=filter_index
        )
        self.uri = uri
        self.read_timeout_ms = read_timeout_ms
        self.graph_name = graph
        self.database = database
        # fail within seconds, not the driver's 30 s of retries, when the database is down
        driver_opts.setdefault("max_transaction_retry_time", 5.0)
        driver_opts.setdefault("connection_timeout", 5.0)
        try:
            self._driver = GraphDatabase.driver(uri, auth=(user, password), **driver_opts)
        except (ValueError, neo4j_errors.ConfigurationError) as e:
            raise ConfigError(f"bad Neo4j settings for {uri}: {e}") from e
        self._closed = False

    # -- primitives ---------------------------------------------------------------------------

    def _execute(
        self, query: str, params: Params | None, routing: RoutingControl
    ) -> neo4j.EagerResult:
        timeout = self.read_timeout_ms if routing == RoutingControl.READ else None
        q = neo4j.Query(query, timeout=timeout / 1000 if timeout else None)
        try:
            return self._driver.execute_query(
                q, params or {}, routing_=routing, database_=self.database
            )
        except neo4j_errors.AuthError as e:
            raise GraphUnavailableError(f"Neo4j at {self.uri} refused the credentials: {e}") from e
        except _UNAVAILABLE as e:
            raise GraphUnavailableError(f"Neo4j at {self.uri} is unavailable: {e}") from e
        except neo4j_errors.Neo4jError as e:
            if "TransactionTimedOut" in (e.code or ""):
                raise DeadlineExceededError(f"Neo4j query timed out: {e}") from e
            raise GraphQueryError(f"Neo4j rejected a query: {e}") from e
        except neo4j_errors.DriverError as e:
            raise GraphUnavailableError(f"Neo4j driver error for {self.uri}: {e}") from e

    def _read(self, query: str, params: Params | None = None) -> list[Row]:
        return [list(r.values()) for r in self._execute(query, params, RoutingControl.READ).records]

    def _write(self, query: str, params: Params | None = None) -> Written:
        res = self._execute(query, params, RoutingControl.WRITE)
        counters = res.summary.counters
        return Written(
            rows=[list(r.values()) for r in res.records],
            nodes_created=counters.nodes_created,
            relationships_created=counters.relationships_created,
        )

    def _ddl(self, statement: str, params: Params | None = None) -> None:
        self._execute(statement, params, RoutingControl.WRITE)  # IF NOT EXISTS: idempotent

    def _create_unique_ids(self) -> None:
        for lab in schema.UNIQUE_ID_LABELS:
            for stmt in self.dialect.unique_id(lab):
                self._ddl(stmt)

    def init_schema(self) -> None:
        super().init_schema()
        self._ddl(NEO4J_AWAIT_INDEXES, {"seconds": 300})

    # -- lifecycle ----------------------------------------------------------------------------

    def ping(self) -> None:
        self._read(queries.PING)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with contextlib.suppress(Exception):
                self._driver.close()

    def drop_all(self) -> None:
        """Delete every node (in batches) and every ``kgrec_*`` index and constraint."""
        self._cache.clear()
        while self._write(NEO4J_DELETE_BATCH, {"batch": 10_000}).rows[0][0]:
            pass
        for (name,) in self._read(NEO4J_LIST_CONSTRAINTS):
            self._ddl(neo4j_drop("CONSTRAINT", name))
        for (name,) in self._read(NEO4J_LIST_INDEXES):
            self._ddl(neo4j_drop("INDEX", name))

    def __repr__(self) -> str:
        return f"Neo4jStore(uri={self.uri!r}, database={self.database!r})"


__all__ = ["Neo4jStore"]
