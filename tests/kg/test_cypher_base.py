"""The Cypher store's ground floor: public query methods, and rows read by named columns."""

from __future__ import annotations

from unittest import mock

import pytest

import kg
from kg import queries
from kg._cypher_base import cypher_store, named, product_record, session_record, stored_event
from kg.types import PRODUCT_COLUMNS, SESSION_COLUMNS, STORED_EVENT_COLUMNS
from kgrec.errors import ConfigError


def test_run_read_and_run_write_are_the_public_way_to_run_a_query(store: kg.GraphStore) -> None:
    cypher = cypher_store(store)
    written = cypher.run_write(*queries.import_nodes("Entity", [{"id": "e1", "props": {}}]))
    assert written.nodes_created == 1
    query, params = queries.missing_ids("Entity", ["e1", "e2"])
    assert cypher.run_read(query, params) == [["e2"]]


def test_a_store_that_cannot_run_cypher_is_refused() -> None:
    other = mock.Mock(spec=kg.GraphStore)  # a GraphStore, but not a Cypher one
    with pytest.raises(ConfigError, match="cannot run the graph admin queries"):
        cypher_store(other)


def test_rows_are_read_by_the_columns_of_their_record() -> None:
    row = ["p1", "Shoe", "", 9.5, None, "", 3, ["b1", "Acme"], [None, None], [[None] * 3]]
    record = product_record(row)
    assert (record.id, record.brand, record.category_id, record.price) == ("p1", "Acme", "", 9.5)
    assert record.currency == "USD" and record.attributes == () and record.popularity == 3.0
    assert session_record(["s1", "u1", 1, 2, "{}", None]).version == 0
    assert stored_event(["e1", "u1", "p1", "click", None, 5]).ts == 5.0


@pytest.mark.parametrize("columns", [PRODUCT_COLUMNS, SESSION_COLUMNS, STORED_EVENT_COLUMNS])
def test_a_row_of_another_width_is_a_mismatch_not_a_silent_shift(columns: tuple[str, ...]) -> None:
    assert named(columns, list(range(len(columns)))) == {c: i for i, c in enumerate(columns)}
    with pytest.raises(ValueError):
        named(columns, list(range(len(columns) + 1)))
    with pytest.raises(ValueError):
        named(columns, list(range(len(columns) - 1)))
