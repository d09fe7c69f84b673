"""The explanation's path query against the popularity of the items it explains.

    python -m bench.paths_scale [--shoppers 0,1000,10000] [--before REV] [--reps 30]

A scratch embedded FalkorDB holds a small catalog: 200 products, each in one of 4 categories,
with one of 10 brands and two of 20 attributes; each of the 10 products a turn explains has
``--shoppers`` shoppers who bought it (added step by step, so one graph serves every row).
For each count it times the one-trip paths query (:func:`kg.queries.paths_one_trip`, two
hops, 3 sources: a category, a brand, an attribute) for the 10 items, one round trip per
call, ``--reps`` calls, and prints the median and p90 milliseconds and the rows. With
``--before REV`` the query as ``REV`` built it (``kg/queries/paths.py``, or
``kg/queries/read.py`` before the builders moved there) runs beside it on the same graph,
its rows checked against today's (the same set, or the run says so).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import kg
from bench.turn_ab import module_at
from kg import queries
from kg.embedded import GRAPH_SUBDIR
from kg.types import PATH_TRIP_COLUMNS

ITEMS = 10
SOURCES = ["cat:1", "brand:3", "attr:a=7"]


def build(store: Any) -> list[str]:
    """The catalog of the module docstring; returns the explained items' ids."""
    store.init_schema()
    store.upsert_categories([{"id": f"cat:{c}", "name": f"Category {c}"} for c in range(4)])
    store.upsert_brands([{"id": f"brand:{b}", "name": f"Brand {b}"} for b in range(10)])
    store.upsert_attributes(
        [{"id": f"attr:a={v}", "name": "a", "value": f"v{v}"} for v in range(20)]
    )
    store.upsert_products(
        {
            "id": f"prod:{p:04d}",
            "title": f"Product {p}",
            "price": 10.0 + p,
            "category_id": f"cat:{p % 4}",
            "brand_id": f"brand:{p % 10}",
            "attribute_ids": [f"attr:a={p % 20}", f"attr:a={(p * 7 + 3) % 20}"],
        }
        for p in range(200)
    )
    return [f"prod:{p:04d}" for p in range(ITEMS)]


def add_shoppers(store: Any, items: list[str], start: int, stop: int) -> None:
    """Shoppers ``start..stop-1`` each buy every explained item."""
    store.add_interactions(
        {
            "user_id": f"user:{u}",
            "item_id": item,
            "type": "purchase",
            "value": 1.0,
            "ts": 1_700_000_000.0 + u,
            "event_id": f"ev:{u}:{item}",
        }
        for u in range(start, stop)
        for item in items
    )


def timed(store: Any, query: tuple[str, dict[str, Any]], reps: int) -> Any:
    """Median and p90 ms of ``reps`` runs of ``query``, and its rows (as a sorted list)."""
    cypher, params = query
    rows: list[dict[str, Any]] = []
    ms = []
    for _ in range(reps):
        started = time.perf_counter()
        rows = store._named_rows(PATH_TRIP_COLUMNS, cypher, params)
        ms.append((time.perf_counter() - started) * 1000)
    ms.sort()
    return statistics.median(ms), ms[int(0.9 * (len(ms) - 1))], sorted(map(repr, rows))


def run(store: Any, counts: list[int], before: Any, rev: str, reps: int) -> bool:
    """Print the table of the module docstring; whether the two queries' rows agreed."""
    items = build(store)
    print(f"{ITEMS} items explained from {len(SOURCES)} sources, two hops, {reps} runs each")
    print(f"{'shoppers/item':>13} {'query':>8} {'p50 ms':>8} {'p90 ms':>8} {'rows':>5}")
    have, same = 0, True
    for n in counts:
        add_shoppers(store, items, have, n)
        have = n
        arms = [("today", queries.paths_one_trip(SOURCES, items, 2, store._into_item_types()))]
        if before is not None:
            arms.append((rev[:8], before(SOURCES, items, 2)))
        found = []
        for name, query in arms:
            p50, p90, rows = timed(store, query, reps)
            found.append(rows)
            print(f"{n:>13} {name:>8} {p50:>8.2f} {p90:>8.2f} {len(rows):>5}")
        same = same and all(rows == found[0] for rows in found)
    return same


def query_at(rev: str) -> Any:
    """``paths_one_trip`` as it was at ``rev``, from the module that held it then."""
    try:
        return module_at("kg.queries.paths", rev).paths_one_trip
    except subprocess.CalledProcessError:  # no kg/queries/paths.py at rev: still in read.py
        return module_at("kg.queries.read", rev).paths_one_trip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shoppers", default="0,1000,10000", help="shoppers per explained item")
    ap.add_argument("--before", help="also time the query as it was at this revision")
    ap.add_argument("--reps", type=int, default=30)
    args = ap.parse_args(argv)
    counts = sorted({int(x) for x in args.shoppers.split(",")})
    before = query_at(args.before) if args.before else None
    with (
        tempfile.TemporaryDirectory(prefix="kgrec-paths-scale-") as tmp,
        kg.EmbeddedFalkorDB(Path(tmp) / GRAPH_SUBDIR) as server,
    ):
        store: Any = kg.open_store(server.uri, graph=f"p{uuid.uuid4().hex[:8]}", filter_index=False)
        try:
            same = run(store, counts, before, args.before or "", args.reps)
        finally:
            store.close()
    if before is not None:
        print("the same rows from both queries" if same else "ROWS DIFFER between the queries")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
