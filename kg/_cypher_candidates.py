"""Candidate products and product records, above "run this Cypher" (part of
:class:`kg._cypher_store.CypherStore`): the graph's candidate queries, the in-process filter
snapshot that answers them (:mod:`kg._filter_index`) and the product record cache."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from . import queries
from ._cypher_base import Params, Row, named, product_record
from ._cypher_sessions import CypherSessions
from ._filter_index import FilterIndex
from .types import CANDIDATE_COLUMNS, Candidate, CandidateQuery, ProductRecord

logger = logging.getLogger(__name__)

#: Products read per query while the filter snapshot is built.
FILTER_PAGE = 50_000

#: The filter snapshot is read again after this many cache ttls even when the number of
#: products did not move (another process's edits of existing products show by then)...
FILTER_MAX_AGE = 10

#: ...or after this many times its last read's duration, when that is longer: reading a big
#: catalogue's snapshot keeps one graph DB thread busy for minutes (1M products), and these
#: routine re-reads may take at most 1/20 of it.
FILTER_READ_SHARE = 20

#: Reads of the filter snapshot in a row when each one sees a catalog write land meanwhile,
#: or fails (a page past the read timeout while the graph DB is busy, the graph DB gone).
FILTER_BUILD_ATTEMPTS = 3

#: Seconds before reading the snapshot again after a failed read; doubles after each.
FILTER_RETRY_S = 5.0

#: Seconds between two looks at the popularity other processes wrote (one indexed read, in
#: a thread no turn waits for: :meth:`CypherCandidates._take_popularity`).
POPULARITY_POLL_S = 1.0

#: Popularity written this many ms before the last look is read again: a write's
#: ``timestamp()`` is taken before it commits, so one may land a little in the past.
POPULARITY_OVERLAP_MS = 2000.0


def snapshot_is_young(age: float, ttl: float, read_seconds: float) -> bool:
    """Whether a snapshot ``age`` seconds old, whose read took ``read_seconds``, is kept
    without a re-read when the number of products has not moved."""
    return age < max(FILTER_MAX_AGE * ttl, FILTER_READ_SHARE * read_seconds)


class CypherCandidates(CypherSessions):
    """Candidates and product records of a Cypher store."""

    def candidates(self, query: CandidateQuery) -> list[Candidate]:
        """Products linked to preferred ids first (most matches first), then the rest of the
        filtered products, each group by popularity."""
        if query.limit <= 0:
            return []
        index = self._filters()
        if index is not None:
            rows = self._snapshot_rows(index, query)
        else:
            named: list[dict[str, Any]] = []
            if query.preferred_ids:
                named = self._named_rows(CANDIDATE_COLUMNS, *queries.preferred_candidates(query))
            if len(named) < query.limit:
                seen = {r["id"] for r in named}
                rest = self._rest(replace(query, limit=query.limit + len(named)))
                named += [r for r in rest if r["id"] not in seen]
            rows = [(r["id"], r["popularity"], r["matched"]) for r in named]
        rows = rows[: query.limit]
        records = self._records([r[0] for r in rows])
        out, moved = [], []
        for item_id, popularity, matched in rows:
            record = records.get(item_id)
            if record is None:
                continue
            updated = _with_popularity(record, float(popularity or 0.0))
            if updated is not record:
                moved.append((record, updated))
            out.append(Candidate(updated, _matched(matched)))
        self._cache.refresh(moved)  # the next turn finds them at this popularity
        return out

    def brief_candidates(self, query: CandidateQuery) -> list[Candidate]:
        """:meth:`candidates` from the filter snapshot with brief records (no record read;
        :meth:`complete` reads those a turn keeps); whole records without a snapshot."""
        index = self._filters() if query.limit > 0 else None
        if index is None:
            return self.candidates(query)
        return index.candidates(query)

    def brief_products(self, ids: Sequence[str]) -> list[ProductRecord]:
        """:meth:`products`, brief from the snapshot for the ids it holds (popularity as it
        has it: this process's writes at once, others' within :data:`POPULARITY_POLL_S`)."""
        index = self._filters()
        if index is None:
            return self.products(ids)
        found = {r.id: r for r in index.briefs([(i, None) for i in dict.fromkeys(ids)])}
        found |= {r.id: r for r in self.products([i for i in ids if i not in found])}
        return [found[i] for i in ids if i in found]

    def complete(self, records: Sequence[ProductRecord]) -> list[ProductRecord | None]:
        """Whole records (cached, else read) at the popularity ``records`` carry."""
        found = self._records([r.id for r in records])
        return [
            _with_popularity(found[r.id], r.popularity) if r.id in found else None for r in records
        ]

    def _snapshot_rows(
        self, index: FilterIndex, query: CandidateQuery
    ) -> list[tuple[str, float | None, tuple[str, ...]]]:
        """The ``(id, popularity, matched)`` rows of the graph's two candidate queries
        (:func:`kg.queries.preferred_candidates`, then :func:`kg.queries.candidates` for the
        rest) from the in-process snapshot (:mod:`kg._filter_index`), popularity included:
        this process's writes at once, other processes' within about
        :data:`POPULARITY_POLL_S` (no round trip per turn; a product another process deleted
        goes when the snapshot's count check sees it, or when its record, not cached, is not
        found)."""
        preferred = index.preferred(query) if query.preferred_ids else []
        matched = {i for i, _, _ in preferred}
        rest = index.select(replace(query, limit=query.limit + len(preferred)))
        return preferred + [(i, p, ()) for i, p in rest if i not in matched]

    def _rest(self, query: CandidateQuery) -> list[dict[str, Any]]:
        """Rows of :func:`kg.queries.candidates` from the graph, where a scan first reads only
        the products above the popularity floor (the same rows if they fill ``limit``; else
        it scans and learns)."""
        from_index, floor = self.dialect.indexes_list_elements, self._cache.popularity_floor
        scans = queries.scans_products(query, from_index)
        if scans and floor is not None:
            cypher, params = queries.candidates(query, from_index, floor)
            rows = self._named_rows(CANDIDATE_COLUMNS, cypher, params)
            if len(rows) >= query.limit:
                return rows
        rows = self._named_rows(CANDIDATE_COLUMNS, *queries.candidates(query, from_index))
        last = rows[-1]["popularity"] if scans and len(rows) >= query.limit else None
        if last and (floor is None or last < floor):  # a floor of 0 would read everything
            (n,), *_ = self._read(queries.COUNT_PRODUCTS_WITHOUT_POPULARITY)
            self._cache.popularity_floor = None if n else float(last)
        return rows

    def snapshot_size(self) -> int:
        index = self._cache.filters
        return len(index) if index is not None else 0

    def warm(self, wait: bool = False) -> None:
        self._filters()
        thread = self._filters_thread
        if wait and thread is not None:
            thread.join()

    def _filters(self) -> FilterIndex | None:
        """The filter snapshot, if one is built. When there is none, or the last look is
        older than the cache's ``ttl``, a thread (no turn waits for it) builds one or checks
        the one there (:meth:`_refresh_filters`)."""
        if not self.filter_index:
            return None
        cache, now = self._cache, time.monotonic()
        index = cache.filters
        if index is None or now - cache.filters_checked > cache.ttl:
            self._in_thread(self._refresh_filters, None, now)
        elif now - index.popularity_polled > POPULARITY_POLL_S:
            self._in_thread(lambda: self._take_popularity(index), index, now)
        return index

    def _in_thread(self, work: Callable[[], None], polled: FilterIndex | None, now: float) -> None:
        """Run ``work`` (a snapshot check, or a look at ``polled``'s popularity) in a thread,
        unless the last one is still running (one at a time)."""
        with self._filters_lock:
            if self._filters_thread is not None and self._filters_thread.is_alive():
                return
            if polled is None:
                self._cache.filters_checked = now
            else:
                polled.popularity_polled = now
            self._filters_thread = threading.Thread(
                target=work, name="kgrec-filter-index", daemon=True
            )
            self._filters_thread.start()

    def _take_popularity(self, index: FilterIndex) -> None:
        """Take into ``index`` the popularity any process wrote since its last look."""
        since = index.popularity_since
        if since is None:
            return
        params = {"since": since - POPULARITY_OVERLAP_MS}
        try:
            rows = self._read(queries.POPULARITY_CHANGES, params)
        except Exception:  # the graph DB went away: the next look tries again
            logger.warning("could not read the products' popularity", exc_info=True)
            return
        index.take_popularity(rows)
        index.popularity_since = max([since, *(float(r[2]) for r in rows if r[2] is not None)])

    def _refresh_filters(self) -> None:
        """Rebuild the snapshot when there is none, it is old (:func:`snapshot_is_young`), or
        the number of products moved (another process imported or deleted products; reading
        every product's fields costs seconds at 100k products, counting them does not)."""
        cache, index = self._cache, self._cache.filters
        age = time.monotonic() - cache.filters_at
        young = snapshot_is_young(age, cache.ttl, cache.filters_read_s)
        try:
            if index is not None and young:
                (n,), *_ = self._read(queries.COUNT_PRODUCTS)
                if int(n) == len(index):
                    return
        except Exception:  # the graph DB went away: the next look tries again
            logger.warning("could not count the products", exc_info=True)
            return
        self.build_filters()

    def build_filters(self) -> FilterIndex | None:
        """Read every product's filter fields (pages of :data:`FILTER_PAGE`) into a new
        snapshot and keep it; if this process wrote to the catalog meanwhile, read again, and
        if the read failed, read again after :data:`FILTER_RETRY_S` (doubling): at most
        :data:`FILTER_BUILD_ATTEMPTS` reads. A start-up whose graph DB is busy (another
        worker's start-up, a big catalogue's linker) must not leave the server without a
        snapshot until a turn asks for one; past the last attempt, the next turn does."""
        cache, pause = self._cache, FILTER_RETRY_S
        for attempt in range(1, FILTER_BUILD_ATTEMPTS + 1):
            generation, started = cache.generation, time.monotonic()
            try:
                (db_now,), *_ = self._read(queries.DB_CLOCK)
                # no paused_gc here: a re-read while serving takes minutes at 1M products,
                # too long to leave the turns' cyclic garbage (start-up pauses it for all)
                index = FilterIndex(self.filter_rows())
                index.popularity_since = float(db_now)
            except Exception:  # the graph DB went away, a query timed out: the graph answers
                logger.warning(
                    "could not build the candidate filter snapshot (read %d of %d)",
                    attempt, FILTER_BUILD_ATTEMPTS, exc_info=True,
                )  # fmt: skip
                if attempt < FILTER_BUILD_ATTEMPTS:
                    time.sleep(pause)
                    pause *= 2
                continue
            if cache.install_filters(index, generation, started, time.monotonic() - started):
                logger.debug("candidate filter snapshot: %d products", len(index))
                return index
            logger.info("the catalog was written while its snapshot was read: reading it again")
        return None

    def filter_rows(self) -> list[Row]:
        """Every product's filter fields (:data:`kg.queries.FILTER_SNAPSHOT`), in pages of
        :data:`FILTER_PAGE`: the rows a snapshot is built from."""
        rows: list[Row] = []
        while True:
            after = str(rows[-1][0]) if rows else ""
            page = self._read(queries.FILTER_SNAPSHOT, {"after": after, "limit": FILTER_PAGE})
            rows += page
            if len(page) < FILTER_PAGE:
                return rows

    def _named_rows(
        self, columns: Sequence[str], query: str, params: Params
    ) -> list[dict[str, Any]]:
        return [named(columns, row) for row in self._read(query, params)]

    def _records(self, ids: list[str]) -> dict[str, ProductRecord]:
        found = self._cache.get_many(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            fresh = [product_record(r) for r in self._read(queries.PRODUCTS, {"ids": missing})]
            self._cache.put_many(fresh)
            found.update((r.id, r) for r in fresh)
        return found

    def products(self, ids: Sequence[str]) -> list[ProductRecord]:
        """Records of ``ids`` that exist, in their order: cached records (dropped on this
        process's catalog writes, see :class:`kg._product_cache.ProductCache`) with their
        popularity read live, the rest read whole and cached."""
        if not ids:
            return []
        unique = list(dict.fromkeys(ids))
        cached = self._cache.get_many(unique)
        by_id: dict[str, ProductRecord] = {}
        if cached:  # popularity moves with every event; a deleted product has no row
            rows = self._read(queries.PRODUCT_POPULARITY, {"ids": list(cached)})
            by_id = {i: _with_popularity(cached[i], float(n or 0.0)) for i, n in rows}
        missing = [i for i in unique if i not in cached]
        if missing:
            fresh = [product_record(r) for r in self._read(queries.PRODUCTS, {"ids": missing})]
            self._cache.put_many(fresh)
            by_id.update((r.id, r) for r in fresh)
        return [by_id[i] for i in ids if i in by_id]


def _matched(ids: Sequence[str] | None) -> tuple[str, ...]:
    """A candidate row's preferred ids as :attr:`Candidate.matched` holds them: sorted, once."""
    return tuple(sorted(set(ids))) if ids else ()


def _with_popularity(record: ProductRecord, popularity: float) -> ProductRecord:
    """``record`` with its popularity read live (a copy only when it moved: a turn builds
    hundreds of candidates, and ``dataclasses.replace`` costs microseconds each)."""
    return record if record.popularity == popularity else replace(record, popularity=popularity)
