"""Fixtures the benchmark tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import kg
from kg.store import GraphStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GraphStore]:
    """A fresh embedded FalkorDB with the schema."""
    with kg.EmbeddedFalkorDB(tmp_path / "graph") as server:
        s = kg.open_store(server.uri, graph="crs_test")
        s.init_schema()
        try:
            yield s
        finally:
            s.close()
