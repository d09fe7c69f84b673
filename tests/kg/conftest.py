"""Fixtures for the graph store tests: one real embedded FalkorDB per session, a fresh graph
per test, and the same tests against Neo4j when ``NEO4J_URI`` is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from kg_catalog import Catalog, tiny

import kg

BACKENDS = ["falkordb", "neo4j"]


@pytest.fixture(scope="session")
def falkordb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[kg.EmbeddedFalkorDB]:
    """One embedded FalkorDB for the whole session (each test uses its own graph key)."""
    with kg.EmbeddedFalkorDB(tmp_path_factory.mktemp("falkordb")) as server:
        yield server


def _open(backend: str, request: pytest.FixtureRequest) -> kg.GraphStore:
    if backend == "neo4j":
        uri = os.environ.get("NEO4J_URI")
        if not uri:
            pytest.skip("NEO4J_URI not set")
        store = kg.open_store(
            uri,
            user=os.environ.get("NEO4J_USER", "neo4j"),
            password=os.environ.get("NEO4J_PASSWORD", ""),
            database=os.environ.get("NEO4J_DATABASE") or None,
        )
        store.drop_all()  # one database: start from empty
        return store
    server: kg.EmbeddedFalkorDB = request.getfixturevalue("falkordb_server")
    return kg.open_store(server.uri, graph=f"t{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[kg.GraphStore]:
    """A fresh, schema-initialised, empty graph on each backend."""
    s = _open(request.param, request)
    s.init_schema()
    try:
        yield s
    finally:
        s.drop_all()
        s.close()


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
def loaded_ro(request: pytest.FixtureRequest) -> Iterator[kg.GraphStore]:
    """The tiny catalog for tests that only read: loaded once per module on FalkorDB (Neo4j
    has one database, which the other tests empty, so it is loaded per test there)."""
    if request.param == "falkordb":
        yield request.getfixturevalue("_falkordb_catalog_module")
        return
    s = _open("neo4j", request)
    s.init_schema()
    tiny().load(s)
    try:
        yield s
    finally:
        s.drop_all()
        s.close()
