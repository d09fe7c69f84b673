"""Fixtures for the graph store tests: one real embedded FalkorDB per session, a fresh graph
per test, and the same tests against Neo4j when ``NEO4J_URI`` is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from kg_catalog import Catalog, tiny

import kg
from kg.embedded import GRAPH_SUBDIR

BACKENDS = ["falkordb", "neo4j"]


@pytest.fixture(scope="session")
def falkordb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[kg.EmbeddedFalkorDB]:
    """One embedded FalkorDB for the whole session (each test uses its own graph key)."""
    # <data dir>/graph: the layout `kgrec serve` and `kgrec graph --data-dir` use
    with kg.EmbeddedFalkorDB(tmp_path_factory.mktemp("falkordb") / GRAPH_SUBDIR) as server:
        yield server


@pytest.fixture
def falkordb_store(falkordb_server: kg.EmbeddedFalkorDB) -> Iterator[kg.GraphStore]:
    """A fresh, schema-initialised graph key in the session's embedded FalkorDB."""
    s = kg.open_store(falkordb_server.uri, graph=f"t{uuid.uuid4().hex[:12]}")
    s.init_schema()
    try:
        yield s
    finally:
        s.drop_all()
        s.close()


@pytest.fixture
def neo4j_store() -> Iterator[kg.GraphStore]:
    """The Neo4j database at ``NEO4J_URI``, emptied before and after (it has one database)."""
    uri = os.environ.get("NEO4J_URI")
    if not uri:
        pytest.skip("NEO4J_URI not set")
    s = kg.open_store(
        uri,
        user=os.environ.get("NEO4J_USER", "neo4j"),
        password=os.environ.get("NEO4J_PASSWORD", ""),
        database=os.environ.get("NEO4J_DATABASE") or None,
    )
    s.drop_all()
    s.init_schema()
    try:
        yield s
    finally:
        s.drop_all()
        s.close()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> kg.GraphStore:
    """A fresh, schema-initialised, empty graph on each backend."""
    return request.getfixturevalue(f"{request.param}_store")


@pytest.fixture
def catalog() -> Catalog:
    return tiny()


@pytest.fixture
def loaded(store: kg.GraphStore, catalog: Catalog) -> kg.GraphStore:
    """``store`` with the tiny catalog loaded."""
    catalog.load(store)
    return store


@pytest.fixture(scope="module")
def _falkordb_catalog_module(falkordb_server: kg.EmbeddedFalkorDB) -> Iterator[kg.GraphStore]:
    s = kg.open_store(falkordb_server.uri, graph=f"ro{uuid.uuid4().hex[:12]}")
    s.init_schema()
    tiny().load(s)
    try:
        yield s
    finally:
        s.drop_all()
        s.close()


@pytest.fixture(params=BACKENDS)
def loaded_ro(request: pytest.FixtureRequest) -> kg.GraphStore:
    """The tiny catalog for tests that only read: loaded once per module on FalkorDB (Neo4j
    has one database, which the other tests empty, so it is loaded per test there)."""
    if request.param == "falkordb":
        return request.getfixturevalue("_falkordb_catalog_module")
    s = request.getfixturevalue("neo4j_store")
    tiny().load(s)
    return s
