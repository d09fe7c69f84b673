"""A small in-process cache of catalog facts: product records for ``candidates`` and
``products``, the popularity floor of unfiltered candidate queries, the snapshot of the
products' filter fields candidate queries are answered from (:mod:`kg._filter_index`), and
the KG paths explanations show (:meth:`kg.store.GraphStore.paths`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence

from ._filter_index import FilterIndex
from .types import KgPath, ProductRecord

#: A path query's shape: (sources in their order, max hops, paths per item).
PathKey = tuple[tuple[str, ...], int, int]


class ProductCache:
    """Product records by id for ``candidates`` (which take popularity from the snapshot)
    and ``products`` (which reads it live).

    Entries live ``ttl`` seconds; this process's product/brand/category/attribute writes
    drop them at once, other processes' writes show after at most ``ttl``.

    ``popularity_floor``: a popularity that the ``limit`` most popular products of recent
    unfiltered candidate queries reached (``None``: not known). Only a hint: a query that
    finds fewer than ``limit`` products above it runs unbounded. Dropped with the records.

    ``filters``: the :class:`~kg._filter_index.FilterIndex` snapshot (``None``: none yet),
    built at ``filters_at`` in ``filters_read_s`` seconds and last checked at
    ``filters_checked`` (monotonic seconds);
    dropped with the records. ``generation``
    counts the drops, so a snapshot read before a write is never installed after it.

    ``paths``: each item's paths from a list of sources (paths walk only catalog nodes, so
    feedback does not move them); they live ``ttl`` seconds and go with the records.

    ``into_item_types``: the relationship types a path may enter a product by
    (:func:`kg.queries.into_item_types`) and until when (monotonic seconds) they hold; they
    live ``ttl`` seconds and go with the records (an import of new relations drops them).
    """

    def __init__(self, ttl: float = 60.0, max_size: int = 200_000) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self._items: dict[str, tuple[float, ProductRecord]] = {}
        self._paths: dict[tuple[PathKey, str], tuple[float, tuple[KgPath, ...]]] = {}
        self._lock = threading.Lock()
        self.popularity_floor: float | None = None
        self.filters: FilterIndex | None = None
        self.filters_at = 0.0
        self.filters_read_s = 0.0
        self.filters_checked = 0.0
        self.into_item_types: tuple[tuple[str, ...], float] | None = None
        self.generation = 0

    def install_filters(
        self, index: FilterIndex, generation: int, built_at: float, read_s: float
    ) -> bool:
        """Keep ``index`` unless the cache was dropped since its rows were read."""
        with self._lock:
            if generation != self.generation:
                return False
            self.filters, self.filters_at, self.filters_read_s = index, built_at, read_s
            return True

    def bump_popularity(self, item_id: str, delta: float) -> None:
        """This process wrote ``delta`` more popularity for ``item_id``."""
        index = self.filters
        if index is not None:
            index.bump(item_id, delta)

    def get_many(self, ids: Iterable[str]) -> dict[str, ProductRecord]:
        now = time.monotonic()
        with self._lock:
            got = {i: self._items.get(i) for i in ids}
        return {i: e[1] for i, e in got.items() if e is not None and e[0] > now}

    def put_many(self, records: Iterable[ProductRecord]) -> None:
        expires = time.monotonic() + self.ttl
        with self._lock:
            if len(self._items) > self.max_size:
                self._items.clear()
            for r in records:
                self._items[r.id] = (expires, r)

    def refresh(self, records: Iterable[tuple[ProductRecord, ProductRecord]]) -> None:
        """Put each ``(cached, updated)`` pair's updated record (the same product, its
        popularity moved) in place of the cached one, keeping its expiry: only where the
        entry still holds that very record, so nothing dropped or re-read meanwhile is
        overwritten."""
        with self._lock:
            for old, new in records:
                entry = self._items.get(old.id)
                if entry is not None and entry[1] is old:
                    self._items[old.id] = (entry[0], new)

    def get_paths(self, key: PathKey, items: Sequence[str]) -> dict[str, tuple[KgPath, ...]]:
        """The cached paths (maybe none) of each of ``items`` that has an entry for ``key``."""
        now = time.monotonic()
        with self._lock:
            got = {i: self._paths.get((key, i)) for i in items}
        return {i: e[1] for i, e in got.items() if e is not None and e[0] > now}

    def put_paths(
        self, key: PathKey, found: Mapping[str, Sequence[KgPath]], generation: int
    ) -> None:
        """Keep ``found`` unless the cache was dropped since ``generation`` (read before)."""
        expires = time.monotonic() + self.ttl
        with self._lock:
            if generation != self.generation:
                return
            if len(self._paths) > self.max_size:
                self._paths.clear()
            for item, paths in found.items():
                self._paths[(key, item)] = (expires, tuple(paths))

    def get_into_item_types(self) -> tuple[str, ...] | None:
        """The cached types paths may enter a product by, ``None`` when expired or unread."""
        entry = self.into_item_types
        return entry[0] if entry is not None and entry[1] > time.monotonic() else None

    def put_into_item_types(self, types: tuple[str, ...], generation: int) -> None:
        """Keep ``types`` unless the cache was dropped since ``generation`` (read before)."""
        with self._lock:
            if generation == self.generation:
                self.into_item_types = (types, time.monotonic() + self.ttl)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._paths.clear()
            self.into_item_types = None
            self.popularity_floor = None
            self.filters = None
            self.generation += 1


__all__ = ["ProductCache"]
