"""``ProductCache.refresh``: a candidate query whose snapshot popularity moved keeps the updated
record for the next turn, and never puts back a record that a write dropped or replaced."""

from __future__ import annotations

from dataclasses import replace

from kg._product_cache import ProductCache
from kg.types import ProductRecord


def test_refresh_replaces_only_the_very_record_it_was_given() -> None:
    cache = ProductCache()
    a, b = ProductRecord("a", "A", popularity=1.0), ProductRecord("b", "B", popularity=1.0)
    cache.put_many([a, b])
    reread_b = ProductRecord("b", "B renamed", popularity=1.0)
    cache.put_many([reread_b])  # b was read again meanwhile (e.g. after a catalog write)
    cache.refresh([(a, replace(a, popularity=5.0)), (b, replace(b, popularity=5.0))])
    got = cache.get_many(["a", "b"])
    assert got["a"].popularity == 5.0
    assert got["b"] is reread_b  # not overwritten with the stale title


def test_refresh_does_not_bring_back_a_dropped_entry() -> None:
    cache = ProductCache()
    a = ProductRecord("a", "A")
    cache.put_many([a])
    cache.clear()
    cache.refresh([(a, replace(a, popularity=2.0))])
    assert cache.get_many(["a"]) == {}
