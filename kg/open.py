"""``open_store(uri)``: pick the backend from the URI scheme.

==========================================  ===================================================
URI                                         backend
==========================================  ===================================================
``falkordb+unix:///abs/path/falkordb.sock``  :class:`kg.FalkorDBStore` over a unix socket
                                             (what :attr:`kg.EmbeddedFalkorDB.uri` gives)
``falkordb://[user:password@]host:port``     :class:`kg.FalkorDBStore` over TCP
``neo4j://``, ``neo4j+s://``, ``bolt://``,   :class:`kg.Neo4jStore` (official driver); user and
``bolt+s://`` (and ``+ssc``)                 password from ``opts``, else ``NEO4J_USER`` /
                                             ``NEO4J_PASSWORD`` in the environment
==========================================  ===================================================
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from kgrec.errors import ConfigError

from .store import GraphStore


def _falkordb_unix(uri: str, graph: str, opts: dict[str, Any]) -> GraphStore:
    from .falkordb_store import FalkorDBStore

    path = unquote(uri[len("falkordb+unix://") :].split("?", 1)[0])
    if not path.startswith("/"):
        raise ConfigError(f"falkordb+unix URI needs an absolute socket path: {uri!r}")
    return FalkorDBStore(unix_socket_path=path, graph=graph, uri=f"falkordb+unix://{path}", **opts)


def _falkordb_tcp(uri: str, graph: str, opts: dict[str, Any]) -> GraphStore:
    from .falkordb_store import FalkorDBStore

    parts = urlsplit(uri)
    opts = dict(opts)
    if parts.username and "username" not in opts:
        opts["username"] = unquote(parts.username)
    if parts.password and "password" not in opts:
        opts["password"] = unquote(parts.password)
    host, port = parts.hostname or "localhost", parts.port or 6379
    return FalkorDBStore(host=host, port=port, graph=graph, uri=f"falkordb://{host}:{port}", **opts)


def _neo4j(uri: str, graph: str, opts: dict[str, Any]) -> GraphStore:
    from .neo4j_store import Neo4jStore

    parts = urlsplit(uri)
    opts = dict(opts)
    user = opts.pop("user", None) or (unquote(parts.username) if parts.username else None)
    password = opts.pop("password", None) or (unquote(parts.password) if parts.password else None)
    user = user or os.environ.get("NEO4J_USER", "neo4j")
    password = password if password is not None else os.environ.get("NEO4J_PASSWORD", "")
    netloc = parts.hostname or "localhost"
    if parts.port:
        netloc += f":{parts.port}"
    clean = f"{parts.scheme}://{netloc}"
    return Neo4jStore(clean, user=user, password=password, graph=graph, **opts)


#: URI scheme -> backend factory.
SCHEMES: dict[str, Callable[[str, str, dict[str, Any]], GraphStore]] = {
    "bolt": _neo4j,
    "bolt+s": _neo4j,
    "bolt+ssc": _neo4j,
    "falkordb": _falkordb_tcp,
    "falkordb+unix": _falkordb_unix,
    "neo4j": _neo4j,
    "neo4j+s": _neo4j,
    "neo4j+ssc": _neo4j,
}


def open_store(uri: str, graph: str = "kgrec", **opts: Any) -> GraphStore:
    """Open the graph store at ``uri``; ``opts`` go to the backend's constructor.

    Raises:
        ConfigError: unknown scheme (the message lists the valid ones).
        GraphUnavailableError: the database cannot be reached.
    """
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
    factory = SCHEMES.get(scheme)
    if factory is None:
        raise ConfigError(
            f"unsupported graph store URI {uri.split('@')[-1]!r}; "
            f"valid schemes: {', '.join(s + '://' for s in sorted(SCHEMES))}"
        )
    return factory(uri, graph, opts)


__all__ = ["SCHEMES", "open_store"]
