"""Candidate filters on the in-process snapshot against the graph's query, on a real catalog.

    python -m bench.filter_select --data-dir DIR [--queries 200] [--seed 7] [--moved 2000]
                                  [--writes-during-read]

``DIR`` is a data dir a ``kgrec serve`` (or ``bench.load --data-dir``) left behind; only
read (the embedded graph DB is started on it, so no server may be running there). It prints
the snapshot's build time and size, then, for a seeded set of candidate queries shaped like a
turn's (one or two categories, a brand, a required or excluded attribute, a price bound,
``limit`` 300), the time of :meth:`kg._filter_index.FilterIndex.select` and of the graph's
query (:func:`kg.queries.candidates`, a store opened with ``filter_index=False``) per query
(p50 / p95 / max; the graph's time is its filter query alone, as the snapshot's, not the
product records), and checks the two give the same ids in the same order. The same for a
seeded set of soft preferences (one to three preferred categories, brands or attributes, with
or without a hard filter): :meth:`~kg._filter_index.FilterIndex.preferred` against the graph's
:func:`kg.queries.preferred_candidates`, ids and matched ids.

``--writes-during-read``: then the snapshot's rows are read again twice, as the served store
reads them (FalkorDB: pages of internal node ids) and in pages of 50,000 products by ``p.id``
(the keyset pages FalkorDB's store read before, Neo4j's still), while a second client writes
one small node every 20 ms (a session save's size; the node is deleted after): each read's
seconds and the writes' median, p99 and max milliseconds, i.e. how long a session save or a
Feedback waits while a snapshot is read (FalkorDB runs a write only between reads).

``--moved N``: then N seeded products' popularity moves in the snapshot (as feedback moves it
between two reads of the snapshot), and both query sets are timed again and checked against
a snapshot built from rows that already hold the moved popularity.
"""

from __future__ import annotations

import argparse
import functools
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.load_report import percentile
from kg import EmbeddedFalkorDB, open_store
from kg import queries as cypher
from kg._cypher_candidates import CypherCandidates
from kg._filter_index import FilterIndex
from kg.embedded import GRAPH_SUBDIR
from kg.types import CANDIDATE_COLUMNS, CandidateQuery
from kgrec.domain import PriceRange


def queries(index: FilterIndex, n: int, seed: int) -> list[CandidateQuery]:
    rng = random.Random(seed)
    cats, brands, attrs = (sorted(f) for f in (index._categories, index._brands, index._attributes))
    out = []
    for _ in range(n):
        kind = rng.choice(["category", "category+brand", "attribute", "price", "everything"])
        some_cats = tuple(rng.sample(cats, rng.randint(1, 2)))
        under = PriceRange(max=rng.choice([20.0, 50.0, 100.0, 200.0]))
        out.append(
            {
                "category": CandidateQuery(category_ids=some_cats, limit=300),
                "category+brand": CandidateQuery(
                    category_ids=some_cats, brand_ids=(rng.choice(brands),), limit=300
                ),
                "attribute": CandidateQuery(required_attribute_ids=(rng.choice(attrs),), limit=300),
                "price": CandidateQuery(price=under, limit=300),
                "everything": CandidateQuery(
                    category_ids=some_cats,
                    price=under,
                    exclude_brand_ids=(rng.choice(brands),),
                    exclude_attribute_ids=(rng.choice(attrs),),
                    limit=300,
                ),
            }[kind]
        )
    return out


def preferred_queries(index: FilterIndex, n: int, seed: int) -> list[CandidateQuery]:
    """Soft preferences shaped like a turn's: the category, brand or attributes of a product
    the shopper named, sometimes under a hard filter."""
    rng = random.Random(seed)
    cats, brands, attrs = (sorted(f) for f in (index._categories, index._brands, index._attributes))
    out = []
    for _ in range(n):
        preferred = tuple(rng.sample([*cats, *brands, *attrs], rng.randint(1, 3)))
        hard = rng.choice(
            [
                {},
                {"category_ids": (rng.choice(cats),)},
                {"required_attribute_ids": (rng.choice(attrs),)},
                {"exclude_brand_ids": (rng.choice(brands),), "price": PriceRange(max=100.0)},
            ]
        )
        out.append(CandidateQuery(preferred_ids=preferred, limit=300, **hard))
    return out


def ms(times: list[float]) -> str:
    times = sorted(times)
    p95 = times[int(0.95 * (len(times) - 1))]
    return f"p50 {statistics.median(times):6.2f}  p95 {p95:6.2f}  max {times[-1]:6.2f} ms"


def moved_check(store: object, index: FilterIndex, args: argparse.Namespace) -> int:
    """Time select and preferred with ``args.moved`` moved products; count the queries whose
    rows differ from a snapshot read after the moves."""
    rows = store.filter_rows()  # type: ignore[attr-defined]
    rng = random.Random(args.seed)
    popularity = {str(r[0]): r[5] for r in rows}
    for item in rng.sample(sorted(popularity), min(args.moved, len(popularity))):
        delta = rng.randint(1, 30)
        index.bump(item, delta)
        popularity[item] = (popularity[item] or 0) + delta
    fresh = FilterIndex([(*r[:5], popularity[str(r[0])], *r[6:]) for r in rows])
    both = queries(index, args.queries, args.seed) + preferred_queries(
        index, args.queries, args.seed
    )
    times, differ = [], 0
    for q in both:
        t0 = time.perf_counter()
        got = (index.preferred(q) if q.preferred_ids else [], index.select(q))
        times.append((time.perf_counter() - t0) * 1000)
        differ += got != (fresh.preferred(q) if q.preferred_ids else [], fresh.select(q))
    print(f"{len(both)} queries with {len(index.moved()[0]):,} moved products:")
    print(f"  snapshot select + preferred {ms(times)}")
    print(f"  queries whose rows differ from a snapshot read after the moves: {differ}")
    return differ


_SCRATCH = "MERGE (n:BenchFilterSelectScratch {id: 'writes'}) SET n.count = $count"


def writes_during_read(uri: str, read: Callable[[], list[Any]], label: str) -> None:
    """Read the rows with ``read`` while a client of ``uri`` writes every 20 ms; print both."""
    writer = open_store(uri)
    waits: list[float] = []
    done = threading.Event()

    def write() -> None:
        while True:  # once at least, however short the read
            started = time.perf_counter()
            writer._write(_SCRATCH, {"count": len(waits)})  # type: ignore[attr-defined]
            waits.append((time.perf_counter() - started) * 1000)
            if done.wait(0.02):
                return

    thread = threading.Thread(target=write)
    thread.start()
    started = time.perf_counter()
    rows = read()
    took = time.perf_counter() - started
    done.set()
    thread.join()
    writer._write("MATCH (n:BenchFilterSelectScratch) DELETE n")  # type: ignore[attr-defined]
    writer.close()
    p99 = percentile(waits, 0.99)
    print(
        f"  {label:<34} {len(rows):,} rows in {took:.2f} s; {len(waits)} writes meanwhile: "
        f"median {statistics.median(waits):.1f} ms, p99 {p99:.1f} ms, max {max(waits):.1f} ms"
    )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--moved", type=int, default=0, help="products whose popularity moves")
    ap.add_argument(
        "--writes-during-read", action="store_true", help="time writes during snapshot reads"
    )
    args = ap.parse_args(argv)
    if not (args.data_dir / GRAPH_SUBDIR).is_dir():
        ap.error(f"{args.data_dir} has no {GRAPH_SUBDIR}/: not a kgrec data dir")
    with EmbeddedFalkorDB(args.data_dir / GRAPH_SUBDIR) as db:
        indexed = open_store(db.uri)
        plain = open_store(db.uri, filter_index=False)
        started = time.perf_counter()
        index = indexed.build_filters()  # type: ignore[attr-defined]
        if index is None:
            print("could not build the snapshot", file=sys.stderr)
            return 1
        print(f"snapshot: {len(index):,} products built in {time.perf_counter() - started:.2f} s")
        snap, graph, differ = [], [], 0
        for q in queries(index, args.queries, args.seed):
            t0 = time.perf_counter()
            got = [i for i, _ in index.select(q)]
            t1 = time.perf_counter()
            want = [r["id"] for r in plain._rest(q)]  # type: ignore[attr-defined]
            t2 = time.perf_counter()
            snap.append((t1 - t0) * 1000)
            graph.append((t2 - t1) * 1000)
            differ += got != want
        print(f"{args.queries} queries (limit 300), seed {args.seed}:")
        print(f"  snapshot select  {ms(snap)}")
        print(f"  graph query      {ms(graph)}")
        print(f"  queries whose ids differ: {differ}")
        snap, graph, differ_pref = [], [], 0
        for q in preferred_queries(index, args.queries, args.seed):
            t0 = time.perf_counter()
            got_rows = [(i, tuple(sorted(m))) for i, _, m in index.preferred(q)]
            t1 = time.perf_counter()
            rows = plain._named_rows(CANDIDATE_COLUMNS, *cypher.preferred_candidates(q))  # type: ignore[attr-defined]
            want_rows = [(r["id"], tuple(sorted(set(r["matched"])))) for r in rows]
            t2 = time.perf_counter()
            snap.append((t1 - t0) * 1000)
            graph.append((t2 - t1) * 1000)
            differ_pref += got_rows != want_rows
        print(f"{args.queries} preferred queries (limit 300), seed {args.seed}:")
        print(f"  snapshot preferred {ms(snap)}")
        print(f"  graph query        {ms(graph)}")
        print(f"  queries whose ids or matched ids differ: {differ_pref}")
        differ += differ_pref
        if args.moved:
            differ += moved_check(indexed, index, args)
        if args.writes_during_read:
            print("the snapshot's rows read again while another client writes:")
            served = indexed.filter_rows  # type: ignore[attr-defined]
            writes_during_read(db.uri, served, "as served")
            keyset = functools.partial(CypherCandidates.filter_rows, indexed)
            writes_during_read(db.uri, keyset, "50,000-product pages by p.id")
        indexed.close()
        plain.close()
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
