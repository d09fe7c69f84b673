"""Candidate filtering in the server's memory: a snapshot of every product's filter fields.

A turn's candidate query (:class:`kg.types.CandidateQuery`: price, categories, brands,
required and excluded attributes, excluded items; ordered by popularity, then id) read every
product of a named category or attribute in the graph DB, so its cost grew with the catalog
(``bench/RESULTS.md``, the 100k load rows). :class:`FilterIndex` answers the same query from
numpy arrays: the products in the query's order (popularity descending, a missing popularity
first as the database sorts it, then id), one posting list of positions per category, brand
and attribute id (the denormalised ``category_ids`` / ``brand_ids`` / ``attribute_ids`` the
Cypher filters read, :data:`kg.queries.load.REFRESH_FILTER_PROPS`), and each product's price.
A soft preference (:attr:`CandidateQuery.preferred_ids`, :meth:`FilterIndex.preferred`) reads
one more posting list per named node: the products one hop from it, which the graph query
found by walking every edge of a category or brand node.
A query walks the positions of its most selective inclusion filter (or of every product) in
order, in growing chunks, until ``limit`` pass: its cost follows how far it has to look, not
the catalog's size.

The rows are those of :func:`kg.queries.read.candidates` on the snapshot. Freshness
(:class:`kg._product_cache.ProductCache` holds the snapshot): this process's catalog writes
drop it at once (the store reads the graph until a new one is built); the popularity this
process's feedback adds is applied to the snapshot as it is written (:meth:`bump`), so its own
order stays exact; the popularity other processes write (another worker, ``kgrec graph
import`` while serving) is taken in about once a second (:meth:`take_popularity`, the products
whose ``popularity_at`` moved); their other catalog writes show when the snapshot is rebuilt,
at most ``ttl`` seconds later for a change in the number of products.
"""

from __future__ import annotations

import math
import sys
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from .types import Candidate, CandidateQuery, ProductRecord

#: The columns of a snapshot row, in order (those :data:`kg.queries.FILTER_SNAPSHOT` returns).
SNAPSHOT_COLUMNS = (
    "id",
    "category_ids",
    "brand_ids",
    "attribute_ids",
    "price",
    "popularity",
    "linked_ids",
)

#: Positions (the snapshot's most popular products) whose brief candidate is kept between
#: turns (:meth:`FilterIndex._brief`): at most this many small records per worker.
BRIEF_CACHE_POSITIONS = 50_000

_EMPTY = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0, dtype=np.float64)


class FilterIndex:
    """The candidate query over a snapshot of the catalog (``rows``: :data:`SNAPSHOT_COLUMNS`).

    Thread-safe: queries read immutable arrays; :meth:`bump` changes a small overlay under a
    lock."""

    def __init__(self, rows: Iterable[Sequence[Any]]) -> None:
        # interned: the scorer interns its item ids too, so a candidate's id finds its row by
        # identity (a turn looks up hundreds, each otherwise a string compare in cold memory)
        by_id = {sys.intern(str(r[0])): r for r in rows if r[0] is not None}
        ids = list(by_id)
        # a missing popularity sorts first in the database's descending order
        pop = np.array([_popularity(by_id[i][5]) for i in ids], dtype=np.float64)
        order = np.lexsort((np.array(ids, dtype=str), -pop)) if ids else _EMPTY
        self.ids: list[str] = [ids[i] for i in order]
        self.popularity = pop[order]
        self.price = np.array([_number(by_id[i][4]) for i in self.ids], dtype=np.float64)
        self.position = {i: n for n, i in enumerate(self.ids)}
        # each position's brand: the first of its brand ids (a product has one brand)
        self.brand = [str(next(iter(by_id[i][2] or ()), "")) for i in self.ids]
        # each position's rank in id order: the tie-break of a preferred query's order
        self._id_rank = np.empty(len(self.ids), dtype=np.int64)
        self._id_rank[np.argsort(np.array(self.ids, dtype=str), kind="stable")] = np.arange(
            len(self.ids)
        )
        postings: tuple[dict[str, list[int]], ...] = tuple(defaultdict(list) for _ in range(4))
        for n, i in enumerate(self.ids):
            row = by_id[i]
            for field, values in zip(postings, (*row[1:4], row[6]), strict=True):
                for v in values or ():
                    field[str(v)].append(n)
        self._categories, self._brands, self._attributes, self._linked = (
            {k: np.unique(np.array(v, dtype=np.int64)) for k, v in f.items()} for f in postings
        )
        self._briefs: list[Candidate | None] = [None] * min(len(ids), BRIEF_CACHE_POSITIONS)
        self._live: dict[int, float] = {}  # position -> popularity after this process's bumps
        self._moved: tuple[np.ndarray, np.ndarray] | None = (_EMPTY, _EMPTY_F)  # of _live
        self._lock = threading.Lock()
        #: the graph DB's clock (ms) when this snapshot's read began: popularity written since
        #: is read again (:meth:`take_popularity`); ``None``: not known, nothing taken in
        self.popularity_since: float | None = None
        self.popularity_polled = 0.0  # monotonic seconds of the last look

    def __len__(self) -> int:
        return len(self.ids)

    def bump(self, item_id: str, delta: float) -> None:
        """Add ``delta`` to a product's popularity (this process's feedback, as written)."""
        n = self.position.get(item_id)
        if n is None or not delta:
            return
        with self._lock:
            self._live[n] = self._live.get(n, float(self.popularity[n])) + float(delta)
            self._moved = None

    def take_popularity(self, rows: Iterable[Sequence[Any]]) -> None:
        """Set the popularity of the ``(id, popularity, at)`` rows read from the graph (any
        process's writes, this one's included: the graph's value is the whole count)."""
        with self._lock:
            for item_id, value, _ in rows:
                n = self.position.get(str(item_id))
                if n is None:
                    continue
                new = _popularity(value)
                if new != self._live.get(n, self.popularity[n]):  # unmoved: left out
                    self._live[n] = new
                    self._moved = None

    def moved(self) -> tuple[np.ndarray, np.ndarray]:
        """The positions whose popularity moved since the snapshot (sorted) and their
        popularity now: built once per change, not per query (feedback moves thousands)."""
        with self._lock:
            if self._moved is None:
                at = np.array(sorted(self._live), dtype=np.int64)
                values = np.array([self._live[n] for n in at.tolist()], dtype=np.float64)
                self._moved = (at, values)
            return self._moved

    def briefs(self, items: Sequence[tuple[str, float | None]]) -> list[ProductRecord]:
        """What ranking reads of each ``(id, popularity)`` product in the snapshot (id, price,
        brand id, popularity; the rest of the record empty), in their order; ids not in it
        are left out. A ``None`` popularity: the live one (this process's bumps, other
        processes' taken in)."""
        position = self.position
        found = [(position[i], p) for i, p in items if i in position]
        live: list[float] = []
        if any(p is None for _, p in found):
            with self._lock:
                live = [self._live.get(n, float(self.popularity[n])) for n, _ in found]
        brief = self._brief
        return [brief(n, live[k] if p is None else p).product for k, (n, p) in enumerate(found)]

    def candidates(self, query: CandidateQuery) -> list[Candidate]:
        """The rows of :func:`kg.queries.preferred_candidates` (:meth:`preferred`) then of
        :func:`kg.queries.candidates` for the rest (:meth:`select`), the first
        ``query.limit``, as candidates with brief records (:meth:`briefs`)."""
        limit = int(query.limit)
        if limit <= 0:
            return []
        out: list[Candidate] = []
        taken: set[int] = set()
        if query.preferred_ids:
            picked, values, matched = self._preferred(query)
            taken = set(positions := picked.tolist())
            for n, v, m in zip(positions, values.tolist(), matched, strict=True):
                c = self._brief(n, v)
                out.append(Candidate(c.product, tuple(sorted(set(m)))) if m else c)
        picked, values = self._select(replace(query, limit=limit + len(out)))
        rest = zip(picked.tolist(), values.tolist(), strict=True)
        out += [self._brief(n, v) for n, v in rest if n not in taken]
        return out[:limit]

    def _brief(self, n: int, popularity: float) -> Candidate:
        """Position ``n``'s candidate (no matched ids) with a brief record at ``popularity``
        (a missing one: 0). Kept per position for the snapshot's most popular
        :data:`BRIEF_CACHE_POSITIONS`, until its popularity moves: a turn's pool is mostly
        the same head, and a record costs ~2 us to build (frozen dataclass), a hit ~0.1."""
        if math.isinf(popularity):
            popularity = 0.0
        kept = self._briefs
        c = kept[n] if n < len(kept) else None
        if c is not None and c.product.popularity == popularity:
            return c
        price = float(self.price[n])
        # positional (a keyword call costs twice as much): id, title, description, price,
        # currency, image_ref, brand_id, brand, category_id, category, attributes,
        # attribute_ids, popularity
        price_or_none = None if math.isnan(price) else price
        record = ProductRecord(self.ids[n], "", "", price_or_none, "USD", "", self.brand[n],
                               "", "", "", (), (), popularity)  # fmt: skip
        c = Candidate(record)
        if n < len(kept):
            kept[n] = c  # one list store: atomic, and any kept value is a right one
        return c

    def select(self, query: CandidateQuery) -> list[tuple[str, float | None]]:
        """``(id, popularity)`` of the first ``query.limit`` products that pass its hard filters,
        most popular first, ties by id (``query.preferred_ids`` are not looked at here:
        :meth:`preferred`)."""
        picked, values = self._select(query)
        ids = self.ids
        return [
            (ids[n], None if math.isinf(p) else p)
            for n, p in zip(picked.tolist(), values.tolist(), strict=True)
        ]

    def _select(self, query: CandidateQuery) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`select`'s positions and popularity (``inf``: missing)."""
        limit = int(query.limit)
        if limit <= 0 or not self.ids:
            return _EMPTY, _EMPTY_F
        moved, moved_popularity = self.moved()
        includes = self._includes(query)
        if includes is not None and not len(includes[0]):
            return _EMPTY, _EMPTY_F
        banned = self._banned(query)
        driver, filters = (includes[0], includes[1:]) if includes is not None else (None, [])
        # moved products leave the snapshot's order and come back by their live value
        picked = self._walk(driver, filters, [*banned, moved], query, limit)
        values = self.popularity[picked]
        if len(moved):
            keep = self._keep(moved, includes or [], banned, query)
            at, value = moved[keep], moved_popularity[keep]
            best = np.lexsort((self._id_rank[at], -value))[:limit]  # only these can make it
            picked = np.concatenate([picked, at[best]])
            values = np.concatenate([values, value[best]])
            order = np.lexsort((self._id_rank[picked], -values))[:limit]
            picked, values = picked[order], values[order]
        return picked, values

    def preferred(self, query: CandidateQuery) -> list[tuple[str, float | None, tuple[str, ...]]]:
        """``(id, popularity, matched)`` of :func:`kg.queries.preferred_candidates`: the first
        ``query.limit`` products one hop from a node of ``query.preferred_ids`` (``matched``:
        those ids) that pass the hard filters, most matches first, then most popular, then
        by id. Its cost follows the preferred nodes' degrees, as the graph query's does, but
        in numpy: no product record is read."""
        picked, popularity, matched = self._preferred(query)
        ids, values = self.ids, popularity.tolist()  # Python values: no numpy scalar per row
        return [
            (ids[n], None if math.isinf(v) else v, m)
            for n, v, m in zip(picked.tolist(), values, matched, strict=True)
        ]

    def _preferred(
        self, query: CandidateQuery
    ) -> tuple[np.ndarray, np.ndarray, list[tuple[str, ...]]]:
        """:meth:`preferred`'s positions, popularity (``inf``: missing) and matched ids."""
        limit = int(query.limit)
        found = [
            (p, self._linked[p]) for p in dict.fromkeys(query.preferred_ids) if p in self._linked
        ]
        if limit <= 0 or not found:
            return _EMPTY, _EMPTY_F, []
        positions, counts = np.unique(np.concatenate([p for _, p in found]), return_counts=True)
        keep = self._keep(positions, self._includes(query) or [], self._banned(query), query)
        positions, counts = positions[keep], counts[keep]
        popularity = self.popularity[positions].copy()
        moved, moved_popularity = self.moved()
        hit = _member(moved, positions)
        popularity[np.searchsorted(positions, moved[hit])] = moved_popularity[hit]
        order = np.lexsort((self._id_rank[positions], -popularity, -counts))[:limit]
        picked, popularity = positions[order], popularity[order]
        matched: list[tuple[str, ...]]
        if len(found) == 1:  # every position came from its one posting list
            matched = [(found[0][0],)] * len(picked)
        else:
            links = [(p, _member(picked, linked).tolist()) for p, linked in found]
            matched = [tuple(p for p, hit in links if hit[j]) for j in range(len(picked))]
        return picked, popularity, matched

    def _banned(self, query: CandidateQuery) -> list[np.ndarray]:
        """The positions each exclusion filter bans."""
        return [
            self._union(self._categories, query.exclude_category_ids),
            self._union(self._brands, query.exclude_brand_ids),
            self._union(self._attributes, query.exclude_attribute_ids),
            _positions(self.position[i] for i in query.exclude_item_ids if i in self.position),
        ]

    def _includes(self, query: CandidateQuery) -> list[np.ndarray] | None:
        """The positions each inclusion filter allows, smallest first (``None``: none)."""
        any_of = ((self._categories, query.category_ids), (self._brands, query.brand_ids))
        sets = [self._union(field, ids) for field, ids in any_of if ids]
        required = dict.fromkeys(query.required_attribute_ids)
        sets += [self._attributes.get(a, _EMPTY) for a in required]
        return sorted(sets, key=len) if sets else None

    @staticmethod
    def _union(field: dict[str, np.ndarray], ids: Sequence[str]) -> np.ndarray:
        found = [field[i] for i in dict.fromkeys(ids) if i in field]
        if len(found) <= 1:
            return found[0] if found else _EMPTY
        return np.unique(np.concatenate(found))

    def _walk(
        self,
        driver: np.ndarray | None,
        filters: list[np.ndarray],
        excludes: list[np.ndarray],
        query: CandidateQuery,
        limit: int,
    ) -> np.ndarray:
        """The first ``limit`` positions of ``driver`` (every product when ``None``) that pass,
        read in chunks that double until enough pass."""
        total = len(self.ids) if driver is None else len(driver)
        out: list[np.ndarray] = []
        found, start, step = 0, 0, max(2 * limit, 256)
        while start < total and found < limit:
            stop = min(start + step, total)
            chunk = np.arange(start, stop) if driver is None else driver[start:stop]
            out.append(self._pass(chunk, filters, excludes, query)[: limit - found])
            found += len(out[-1])
            start, step = stop, step * 2
        return np.concatenate([_EMPTY, *out])

    def _pass(
        self,
        chunk: np.ndarray,
        filters: list[np.ndarray],
        excludes: list[np.ndarray],
        query: CandidateQuery,
    ) -> np.ndarray:
        return chunk[self._keep(chunk, filters, excludes, query)]

    def _keep(
        self,
        chunk: np.ndarray,
        filters: list[np.ndarray],
        excludes: list[np.ndarray],
        query: CandidateQuery,
    ) -> np.ndarray:
        """Which positions of ``chunk`` pass (a mask)."""
        keep = np.ones(len(chunk), dtype=bool)
        for allowed in filters:
            keep &= _member(chunk, allowed)
        for banned in excludes:
            if len(banned):
                keep &= ~_member(chunk, banned)
        price = self.price[chunk]
        if query.price.min is not None:  # a missing price (NaN) fails any price bound
            keep &= price >= float(query.price.min)
        if query.price.max is not None:
            keep &= price <= float(query.price.max)
        return keep


def _member(chunk: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``np.isin(chunk, sorted_set)`` for a sorted ``sorted_set``, by binary search:
    a chunk is a few hundred positions, a posting list can hold most of the catalog."""
    if not len(sorted_set):
        return np.zeros(len(chunk), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, chunk), len(sorted_set) - 1)
    return sorted_set[at] == chunk


def _positions(values: Iterable[int]) -> np.ndarray:
    return np.array(sorted(set(values)), dtype=np.int64)


def _popularity(value: Any) -> float:
    return math.inf if value is None else float(value)


def _number(value: Any) -> float:
    try:
        return math.nan if value is None else float(value)
    except (TypeError, ValueError):
        return math.nan


__all__ = ["SNAPSHOT_COLUMNS", "FilterIndex"]
