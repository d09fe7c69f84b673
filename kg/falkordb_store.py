"""``GraphStore`` on FalkorDB (the embedded default, or any FalkorDB server).

Reads go through ``GRAPH.RO_QUERY`` (``Graph.ro_query``), writes through ``GRAPH.QUERY``.
FalkorDB runs the write queries of one graph one at a time, so each write query (e.g. the
check-then-write of ``record_event``) is atomic.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import redis
from falkordb import FalkorDB
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from kgrec.errors import DeadlineExceededError, GraphUnavailableError

from . import queries, schema
from ._cypher_store import CypherStore, Params, Row, Written
from .dialect import FALKORDB, FALKORDB_LIST_CONSTRAINTS, falkordb_unique_constraint
from .exceptions import GraphQueryError

logger = logging.getLogger(__name__)

_UNAVAILABLE = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    OSError,
)


_EMPTY_KEY = "empty key"
_TIMED_OUT = "timed out"


def _retry() -> Retry:
    """Two quick retries (a blip), then GraphUnavailableError: no multi-second back-off."""
    return Retry(ExponentialBackoff(cap=0.1, base=0.01), 2)


#: Internal node ids per page of the filter snapshot's read (:meth:`FalkorDBStore.filter_rows`):
#: a page's read is the longest a write waits behind it (``bench.filter_select
#: --writes-during-read`` measures it).
FILTER_NODE_PAGE = 2_500


class FalkorDBStore(CypherStore):
    """A graph named ``graph`` in a FalkorDB server.

    Args:
        unix_socket_path: the server's unix socket (embedded default), or
        host / port / username / password: a TCP server.
        graph: the graph (key) name; several stores may share one server.
        embedding_dim: create a cosine vector index on ``Product.embedding`` of this size.
        timeout: socket timeout in seconds (bulk writes may take a while).
        read_timeout_ms: server-side limit for one read query; past it the read raises
            ``DeadlineExceededError`` (``None``: no limit).
        max_connections: pool size; more concurrent callers wait up to ``pool_timeout``
            seconds for a connection, then get ``GraphUnavailableError``.
        cache_ttl: seconds ``candidates`` may reuse a product's record (not its popularity).
        filter_index: answer candidate queries from an in-process snapshot of the
            products' filter fields, rebuilt every ``cache_ttl`` seconds
            (:mod:`kg._filter_index`); ``False``: in the database every time.
        uri: the URI to report (credentials stripped).
    """

    dialect = FALKORDB

    def __init__(
        self,
        *,
        unix_socket_path: str | None = None,
        host: str = "localhost",
        port: int = 6379,
        username: str | None = None,
        password: str | None = None,
        graph: str = "kgrec",
        embedding_dim: int | None = None,
        timeout: float = 60.0,
        read_timeout_ms: int | None = 10_000,
        max_connections: int = 32,
        pool_timeout: float = 10.0,
        cache_ttl: float = 60.0,
        filter_index: bool = True,
        uri: str = "",
    ) -> None:
        super().__init__(
            embedding_dim=embedding_dim, cache_ttl=cache_ttl, filter_index=filter_index
        )
        if not graph:
            raise GraphQueryError("graph name must not be empty")
        self.graph_name = graph
        self.read_timeout_ms = read_timeout_ms
        self.uri = uri or (
            f"falkordb+unix://{unix_socket_path}"
            if unix_socket_path
            else f"falkordb://{host}:{port}"
        )
        common: dict[str, Any] = {
            "username": username,
            "password": password,
            "socket_timeout": timeout,
            "socket_connect_timeout": min(timeout, 5.0),
            "retry": _retry(),
            "decode_responses": True,  # what FalkorDB's own pool would set
            "max_connections": max_connections,
            "timeout": pool_timeout,
        }
        if unix_socket_path:
            pool = redis.BlockingConnectionPool(
                connection_class=redis.UnixDomainSocketConnection, path=unix_socket_path, **common
            )
        else:
            pool = redis.BlockingConnectionPool(host=host, port=port, **common)
        try:
            self._db = FalkorDB(connection_pool=pool)
        except _UNAVAILABLE as e:
            pool.disconnect()
            raise GraphUnavailableError(f"cannot connect to FalkorDB at {self.uri}: {e}") from e
        self._pool = pool
        self._graph = self._db.select_graph(graph)
        self._closed = False

    # -- primitives ---------------------------------------------------------------------------

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except redis.exceptions.ResponseError as e:
            if _TIMED_OUT in str(e):
                raise DeadlineExceededError(f"FalkorDB query timed out: {e}") from e
            raise GraphQueryError(f"FalkorDB rejected a query: {e}") from e
        except _UNAVAILABLE as e:
            raise GraphUnavailableError(f"FalkorDB at {self.uri} is unavailable: {e}") from e

    def _read(self, query: str, params: Params | None = None) -> list[Row]:
        try:
            res = self._call(self._graph.ro_query, query, params, timeout=self.read_timeout_ms)
            return res.result_set
        except GraphQueryError as e:
            if _EMPTY_KEY in str(e):
                return []  # the graph does not exist yet: nothing to read
            raise

    def _write(self, query: str, params: Params | None = None) -> Written:
        res = self._call(self._graph.query, query, params)
        return Written(
            rows=res.result_set,
            nodes_created=int(res.nodes_created or 0),
            relationships_created=int(res.relationships_created or 0),
        )

    def filter_rows(self) -> list[Row]:
        """The filter snapshot's rows in pages of :data:`FILTER_NODE_PAGE` internal node ids
        (:data:`kg.queries.FILTER_SNAPSHOT_BY_NODE_ID`). FalkorDB runs a write only between
        reads, so a session save or a Feedback waits for the page being read: large pages of
        products by ``p.id`` held writes for seconds at 100k products, and a smaller page
        costs as much as the sort of every product after it (the whole read grows with the
        square of the catalogue). A page of node ids is a seek, its cost its own."""
        (top,), *_ = self._read(queries.MAX_PRODUCT_NODE_ID) or [[None]]
        rows: list[Row] = []
        for lo in range(0, -1 if top is None else int(top) + 1, FILTER_NODE_PAGE):
            params = {"lo": lo, "hi": lo + FILTER_NODE_PAGE}
            rows += self._read(queries.FILTER_SNAPSHOT_BY_NODE_ID, params)
        return rows

    def _ddl(self, statement: str, params: Params | None = None) -> None:
        try:
            self._call(self._graph.query, statement, params)
        except GraphQueryError as e:
            if not any(s in str(e) for s in self.dialect.already_exists):
                raise

    def _create_unique_ids(self) -> None:
        for lab in schema.UNIQUE_ID_LABELS:
            for stmt in self.dialect.unique_id(lab):
                self._ddl(stmt)  # the range index a unique constraint needs
        existing = {
            (row[1], tuple(row[2]))
            for row in self._read(FALKORDB_LIST_CONSTRAINTS)
            if row[0] == "UNIQUE" and row[3] == "NODE"
        }
        for lab in schema.UNIQUE_ID_LABELS:
            if (lab, ("id",)) in existing:
                continue
            try:
                self._call(
                    self._db.connection.execute_command,
                    *falkordb_unique_constraint(self.graph_name, lab),
                )
            except GraphQueryError as e:
                if "already exists" not in str(e):
                    raise
        self._wait_constraints()

    def _wait_constraints(self, timeout: float = 30.0) -> None:
        """Constraints build asynchronously; wait until none is pending (or one failed)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self._read(FALKORDB_LIST_CONSTRAINTS)
            failed = [r for r in rows if r[4] == "FAILED"]
            if failed:
                raise GraphQueryError(f"unique constraints failed (duplicate ids?): {failed}")
            if all(r[4] == "OPERATIONAL" for r in rows) or time.monotonic() > deadline:
                return
            time.sleep(0.01)

    # -- lifecycle ----------------------------------------------------------------------------

    def ping(self) -> None:
        self._call(self._db.connection.ping)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with contextlib.suppress(Exception):
                self._db.connection.close()
            with contextlib.suppress(Exception):
                self._pool.disconnect()

    def drop_all(self) -> None:
        """Delete the graph key: every node, relationship, index and constraint."""
        self._cache.clear()
        try:
            self._call(self._graph.delete)
        except GraphQueryError as e:
            if _EMPTY_KEY not in str(e):
                raise

    def __repr__(self) -> str:
        return f"FalkorDBStore(uri={self.uri!r}, graph={self.graph_name!r})"


__all__ = ["FalkorDBStore"]
