"""The candidate query answered from the in-process filter snapshot (``kg._filter_index``)
gives the rows the graph gives: hand-made rows for the edge cases, and a seeded catalog in a
real FalkorDB against :func:`kg.queries.candidates` for many random queries."""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kg_catalog import synthetic

import kg
from kg import _cypher_candidates
from kg._filter_index import FilterIndex
from kg.exceptions import GraphQueryError
from kg.types import CandidateQuery
from kgrec.domain import EventType, FeedbackEvent, PriceRange

ROWS = [  # id, category_ids, brand_ids, attribute_ids, price, popularity, linked_ids
    ("a", ["c1", "c0"], ["b1"], ["red", "s"], 10.0, 5, ["c1", "b1", "red", "s"]),
    ("b", ["c2", "c0"], ["b2"], ["red"], 20.0, 5, ["c2", "b2", "red", "x"]),
    ("c", ["c1", "c0"], ["b2"], ["blue", "s"], None, 9, ["c1", "b2", "blue", "s"]),
    ("d", None, None, None, 5.0, 1, ["x"]),
    ("e", ["c2", "c0"], ["b1"], ["blue"], 50.0, None, ["c2", "b1", "blue"]),
]


def ids(index: FilterIndex, query: CandidateQuery) -> list[str]:
    return [i for i, _ in index.select(query)]


def test_order_is_popularity_then_id_with_a_missing_popularity_first() -> None:
    index = FilterIndex(ROWS)
    assert index.select(CandidateQuery(limit=3)) == [("e", None), ("c", 9.0), ("a", 5.0)]
    assert ids(index, CandidateQuery(limit=10)) == ["e", "c", "a", "b", "d"]


def test_filters_follow_the_cypher_semantics() -> None:
    index = FilterIndex(ROWS)
    assert ids(index, CandidateQuery(category_ids=("c1",))) == ["c", "a"]
    assert ids(index, CandidateQuery(category_ids=("c0",), brand_ids=("b2",))) == ["c", "b"]
    assert ids(index, CandidateQuery(required_attribute_ids=("red", "s"))) == ["a"]
    assert ids(index, CandidateQuery(required_attribute_ids=("red", "nope"))) == []
    # a product without the lists fails inclusion filters and passes exclusions
    assert ids(index, CandidateQuery(exclude_category_ids=("c0",))) == ["d"]
    assert ids(index, CandidateQuery(exclude_attribute_ids=("s",), exclude_item_ids=("e",))) == [
        "b",
        "d",
    ]
    # a missing price fails any price bound
    assert ids(index, CandidateQuery(price=PriceRange(max=100))) == ["e", "a", "b", "d"]
    assert ids(index, CandidateQuery(price=PriceRange(10, 20))) == ["a", "b"]
    assert ids(index, CandidateQuery(brand_ids=("unknown",))) == []
    assert ids(index, CandidateQuery(limit=0)) == []


def test_preferred_products_by_matches_then_popularity_then_id() -> None:
    index = FilterIndex(ROWS)
    assert index.preferred(CandidateQuery(preferred_ids=("b2", "red", "b2"))) == [
        ("b", 5.0, ("b2", "red")),
        ("c", 9.0, ("b2",)),
        ("a", 5.0, ("red",)),
    ]
    assert index.preferred(CandidateQuery(preferred_ids=("b1",))) == [
        ("e", None, ("b1",)),
        ("a", 5.0, ("b1",)),
    ]
    # one hop only: c0 is an ancestor category in the filter field, not a linked node
    assert index.preferred(CandidateQuery(preferred_ids=("c0", "nope"))) == []
    # hard filters apply; a bump moves a product at once
    query = CandidateQuery(preferred_ids=("x", "red"), price=PriceRange(max=15))
    assert index.preferred(query) == [("a", 5.0, ("red",)), ("d", 1.0, ("x",))]
    index.bump("d", 10)
    assert [r[0] for r in index.preferred(query)] == ["d", "a"]
    limited = CandidateQuery(preferred_ids=("red", "x"), exclude_item_ids=("a",), limit=1)
    assert index.preferred(limited) == [("b", 5.0, ("red", "x"))]


def test_bumped_popularity_moves_a_product_at_once() -> None:
    index = FilterIndex(ROWS)
    index.bump("d", 10)
    assert index.select(CandidateQuery(limit=3)) == [("e", None), ("d", 11.0), ("c", 9.0)]
    assert ids(index, CandidateQuery(price=PriceRange(max=8))) == ["d"]
    assert ids(index, CandidateQuery(exclude_item_ids=("d",), limit=2)) == ["e", "c"]
    index.bump("unknown", 3)  # not in the snapshot: nothing to move
    assert len(index) == 5


def test_brief_candidates_are_kept_per_product_until_its_popularity_moves() -> None:
    """A turn's brief candidates are built once per product and popularity (a missing
    popularity reads 0, a missing price ``None``); a move builds that product's again, and
    matched ids ride on a copy, never on the kept one."""
    index = FilterIndex(ROWS)
    first = index.candidates(CandidateQuery(limit=3))
    brief = [(c.product.id, c.product.popularity, c.product.price, c.product.brand_id)
             for c in first]  # fmt: skip
    assert brief == [("e", 0.0, 50.0, "b1"), ("c", 9.0, None, "b2"), ("a", 5.0, 10.0, "b1")]
    again = index.candidates(CandidateQuery(limit=3))
    assert all(a is b for a, b in zip(first, again, strict=True))
    index.bump("c", 2)
    moved = index.candidates(CandidateQuery(limit=3))
    assert [(c.product.id, c.product.popularity) for c in moved] == [
        ("e", 0.0), ("c", 11.0), ("a", 5.0)
    ]  # fmt: skip
    assert moved[0] is first[0] and moved[1] is not first[1]
    assert index.briefs([("c", None), ("nope", 1.0)]) == [moved[1].product]
    preferred = index.candidates(CandidateQuery(preferred_ids=("red",), limit=2))
    assert [(c.product.id, c.matched) for c in preferred] == [("a", ("red",)), ("b", ("red",))]
    assert [c.matched for c in index.candidates(CandidateQuery(limit=5))] == [()] * 5
    assert index.candidates(CandidateQuery(limit=0)) == []


def test_many_moved_products_answer_as_a_snapshot_read_after_the_moves() -> None:
    """Bumped and taken-in popularity give the rows a snapshot read afterwards would give,
    for hundreds of moved products; a value taken in unchanged does not count as moved."""
    rng = random.Random(5)
    rows = [
        (f"p{n:04d}", [f"c{n % 7}"], [f"b{n % 5}"], [f"a{n % 3}"], float(n % 50), n % 40,
         [f"c{n % 7}", f"b{n % 5}"])
        for n in range(2000)
    ]  # fmt: skip
    index = FilterIndex(rows)
    popularity = {r[0]: float(r[5]) for r in rows}
    for item in rng.sample(sorted(popularity), 600):
        delta = rng.choice([1, 5, 30])
        index.bump(item, delta)
        popularity[item] += delta
    taken = rng.sample(sorted(popularity), 300)
    index.take_popularity([(i, popularity[i] + 2, 0) for i in taken])
    for i in taken:
        popularity[i] += 2
    before = len(index.moved()[0])
    index.take_popularity([(i, popularity[i], 0) for i in taken[:50]])  # unchanged
    assert len(index.moved()[0]) == before
    fresh = FilterIndex([(*r[:5], popularity[r[0]], r[6]) for r in rows])
    for _ in range(60):
        query = CandidateQuery(
            limit=rng.choice([1, 10, 300]),
            category_ids=tuple(rng.sample([f"c{k}" for k in range(7)], rng.randint(0, 2))),
            exclude_brand_ids=tuple(rng.sample([f"b{k}" for k in range(5)], rng.randint(0, 1))),
            preferred_ids=tuple(rng.sample([f"c{k}" for k in range(7)] + ["b1"], 2)),
            price=PriceRange(None, rng.choice([None, 20.0])),
        )
        assert index.select(query) == fresh.select(query), query
        assert index.preferred(query) == fresh.preferred(query), query


# -- against the graph --------------------------------------------------------------------


@pytest.fixture(scope="module")
def graphs(falkordb_server: kg.EmbeddedFalkorDB) -> Iterator[tuple[kg.GraphStore, kg.GraphStore]]:
    """One seeded catalog, opened twice: with the snapshot and without it (the graph answers)."""
    name = f"fi{uuid.uuid4().hex[:8]}"
    plain = kg.open_store(falkordb_server.uri, graph=name, filter_index=False)
    plain.init_schema()
    cat = synthetic(n_products=1500, n_users=200, n_interactions=4000, seed=3)
    for kind in ("categories", "brands", "attributes", "products", "users", "interactions"):
        method = "add_interactions" if kind == "interactions" else f"upsert_{kind}"
        load = getattr(plain, method)
        load(getattr(cat, kind))
    indexed = kg.open_store(falkordb_server.uri, graph=name)
    try:
        yield indexed, plain
    finally:
        indexed.close()
        plain.drop_all()
        plain.close()


def random_query(rng: random.Random) -> CandidateQuery:
    def some(pool: list[str], most: int) -> tuple[str, ...]:
        return tuple(rng.sample(pool, rng.randint(0, most))) if rng.random() < 0.5 else ()

    cats = [f"cat:{t}" for t in range(6)] + [f"cat:{t}.{m}" for t in range(6) for m in range(4)]
    brands = [f"brand:{b}" for b in range(12)]
    attrs = [f"attr:{k}={v}" for k in ("color", "size", "style", "fit") for v in range(6)]
    lo = rng.choice([None, 20.0, 100.0])
    hi = rng.choice([None, 150.0, 400.0])
    return CandidateQuery(
        price=PriceRange(lo, hi),
        category_ids=some(cats, 2),
        brand_ids=some(brands, 3),
        required_attribute_ids=some(attrs, 2),
        exclude_brand_ids=some(brands, 2),
        exclude_category_ids=some(cats, 1),
        exclude_attribute_ids=some(attrs, 2),
        exclude_item_ids=tuple(f"prod:{rng.randrange(1500):06d}" for _ in range(rng.randint(0, 5))),
        preferred_ids=some([*cats, *brands, *attrs, "nope"], 3),
        limit=rng.choice([1, 10, 300]),
    )


def test_the_snapshot_gives_the_graphs_rows(
    graphs: tuple[kg.GraphStore, kg.GraphStore],
) -> None:
    indexed, plain = graphs
    index = indexed.build_filters()  # type: ignore[attr-defined]
    assert index is not None and len(index) == 1500
    rng = random.Random(11)
    for _ in range(150):
        query = random_query(rng)
        assert indexed.candidates(query) == plain.candidates(query), query


def test_brief_records_carry_what_ranking_reads_and_complete_to_the_graphs(
    graphs: tuple[kg.GraphStore, kg.GraphStore],
) -> None:
    """Brief candidates read no record (empty titles) yet rank as the whole ones would: the
    same ids, matches, prices, brands and popularity; completed, they are the graph's."""
    indexed, plain = graphs
    indexed.build_filters()  # type: ignore[attr-defined]

    def ranked(cands: list[kg.Candidate]) -> list[tuple[object, ...]]:
        return [(c.product.id, c.product.price, c.product.brand_id, c.product.popularity,
                 c.matched) for c in cands]  # fmt: skip

    rng = random.Random(13)
    for _ in range(60):
        query = random_query(rng)
        whole, brief = plain.candidates(query), indexed.brief_candidates(query)
        assert ranked(brief) == ranked(whole), query
        assert not any(c.product.title for c in brief)
        assert indexed.complete([c.product for c in brief]) == [c.product for c in whole]
    some = [f"prod:{n:06d}" for n in rng.sample(range(1500), 40)] + ["prod:nope"]
    brief_products = indexed.brief_products(some)
    assert not any(r.title for r in brief_products)
    assert indexed.complete(brief_products) == plain.products(some)


def test_feedback_and_catalog_writes_keep_the_rows_equal(
    graphs: tuple[kg.GraphStore, kg.GraphStore],
) -> None:
    indexed, plain = graphs
    indexed.build_filters()  # type: ignore[attr-defined]
    ranked = [c.product for c in plain.candidates(CandidateQuery(limit=1500))]
    last, above = ranked[-1], ranked[99]
    for n in range(int(above.popularity - last.popularity) + 1):  # through this process
        event = FeedbackEvent(f"u{n}", "", last.id, EventType.PURCHASE)
        indexed.record_event(event, f"ev{n}", now=1.0)
    assert indexed._cache.filters is not None  # type: ignore[attr-defined]
    query = CandidateQuery(limit=100)
    assert last.id in [c.product.id for c in indexed.candidates(query)]
    assert indexed.candidates(query) == plain.candidates(query)
    rng = random.Random(12)
    for _ in range(30):
        query = random_query(rng)
        assert indexed.candidates(query) == plain.candidates(query), query
    # a catalog write drops the snapshot; the graph answers until it is rebuilt
    indexed.upsert_brands([{"id": "brand:new", "name": "New"}])
    assert indexed._cache.filters is None  # type: ignore[attr-defined]
    assert indexed.candidates(query) == plain.candidates(query)


def test_a_missing_popularity_is_infinite_only_inside() -> None:
    assert math.isinf(FilterIndex(ROWS).popularity[0])


def test_another_process_adding_products_shows_after_a_ttl(
    falkordb_server: kg.EmbeddedFalkorDB,
) -> None:
    """Another process's catalog writes do not reach this one's cache: the look every ``ttl``
    (here 0 s) counts the products and reads them again when the count moved."""
    name = f"fi{uuid.uuid4().hex[:8]}"
    writer = kg.open_store(falkordb_server.uri, graph=name, filter_index=False)
    reader = kg.open_store(falkordb_server.uri, graph=name, cache_ttl=0.0)
    try:
        writer.init_schema()
        cat = synthetic(n_products=50, n_users=5, n_interactions=0, seed=4)
        writer.upsert_categories(cat.categories)
        writer.upsert_products(cat.products[:40])
        assert reader.build_filters() is not None  # type: ignore[attr-defined]
        writer.upsert_products(cat.products[40:])
        everything = CandidateQuery(limit=100)
        reader.candidates(everything)  # looks, finds 50 products where it knew 40
        reader._filters_thread.join(timeout=30)  # type: ignore[attr-defined]
        assert len(reader._cache.filters) == 50  # type: ignore[attr-defined]
        assert reader.candidates(everything) == writer.candidates(everything)
    finally:
        reader.close()
        writer.drop_all()
        writer.close()


def test_another_process_feedback_moves_popularity_after_a_look(
    falkordb_server: kg.EmbeddedFalkorDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's feedback is not in this one's snapshot until the popularity look
    (every ``POPULARITY_POLL_S``; here at once) reads the products whose popularity moved;
    then the rows are the graph's again."""
    from kg import _cypher_candidates

    monkeypatch.setattr(_cypher_candidates, "POPULARITY_POLL_S", 0.0)
    name = f"fi{uuid.uuid4().hex[:8]}"
    writer = kg.open_store(falkordb_server.uri, graph=name, filter_index=False)
    reader = kg.open_store(falkordb_server.uri, graph=name)
    try:
        writer.init_schema()
        cat = synthetic(n_products=300, n_users=50, n_interactions=900, seed=5)
        for kind in ("categories", "brands", "attributes", "products", "users", "interactions"):
            method = "add_interactions" if kind == "interactions" else f"upsert_{kind}"
            getattr(writer, method)(getattr(cat, kind))
        assert reader.build_filters() is not None  # type: ignore[attr-defined]
        top = CandidateQuery(limit=20)
        ranked = [c.product for c in writer.candidates(CandidateQuery(limit=300))]
        last, above = ranked[-1], ranked[10]
        for n in range(int(above.popularity - last.popularity) + 1):
            writer.record_event(
                FeedbackEvent(f"u{n}", "", last.id, EventType.PURCHASE), f"e{n}", 1.0
            )
        assert last.id in [c.product.id for c in writer.candidates(top)]
        assert last.id not in [c.product.id for c in reader.candidates(top)]  # not looked yet
        reader.warm(wait=True)  # the snapshot's own check (the count did not move)
        reader.warm(wait=True)  # the popularity look
        assert reader.candidates(top) == writer.candidates(top)
        rng = random.Random(13)
        for _ in range(20):
            query = random_query(rng)
            assert reader.candidates(query) == writer.candidates(query), query
    finally:
        reader.close()
        writer.drop_all()
        writer.close()


def test_the_snapshot_is_read_in_pages_without_losing_a_product(
    graphs: tuple[kg.GraphStore, kg.GraphStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kg import _cypher_candidates, falkordb_store

    indexed, plain = graphs
    monkeypatch.setattr(_cypher_candidates, "FILTER_PAGE", 7)  # Neo4j's pages: by p.id
    monkeypatch.setattr(falkordb_store, "FILTER_NODE_PAGE", 7)  # FalkorDB's: by node id
    index = indexed.build_filters()  # type: ignore[attr-defined]
    assert index is not None and sorted(index.ids) == sorted(
        c.product.id for c in plain.candidates(CandidateQuery(limit=5000))
    )
    from kg import queries

    def by_id(rows: list[list[object]]) -> dict[object, tuple[object, ...]]:
        return {r[0]: (*r[1:6], sorted(r[6])) for r in rows}  # type: ignore[call-overload]

    whole = indexed._read(queries.FILTER_SNAPSHOT, {"after": "", "limit": 10**6})  # type: ignore[attr-defined]
    paged = indexed.filter_rows()  # type: ignore[attr-defined]
    assert len(paged) == len(whole) and by_id(paged) == by_id(whole)


def test_an_empty_graph_has_no_snapshot_rows(falkordb_server: kg.EmbeddedFalkorDB) -> None:
    store = kg.open_store(falkordb_server.uri, graph=f"fe{uuid.uuid4().hex[:8]}")
    try:
        assert store.filter_rows() == []  # type: ignore[attr-defined]
    finally:
        store.close()


def test_a_slow_snapshot_read_is_repeated_less_often() -> None:
    """Routine re-reads (no count change) after ten ttls, or after twenty times the last
    read's duration when that is longer (a 1M-product read takes minutes)."""
    from kg._cypher_candidates import snapshot_is_young

    assert snapshot_is_young(age=500, ttl=60, read_seconds=3)
    assert not snapshot_is_young(age=700, ttl=60, read_seconds=3)
    assert snapshot_is_young(age=700, ttl=60, read_seconds=90)  # 20 x 90 s = 30 min
    assert not snapshot_is_young(age=1900, ttl=60, read_seconds=90)


def test_a_catalog_write_during_the_snapshot_read_reads_it_again(
    graphs: tuple[kg.GraphStore, kg.GraphStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write of this process while the snapshot is read drops that read (its rows may miss
    the write); the snapshot is read again at once instead of waiting for a turn to ask."""
    indexed, plain = graphs
    store: Any = indexed
    reads = []
    read = type(store).filter_rows

    def written_meanwhile(self: Any) -> Any:
        rows = read(self)
        if len(reads) < 2:  # the first two reads each see a write land
            store.upsert_brands([{"id": f"brand:meanwhile{len(reads)}", "name": "Meanwhile"}])
        reads.append(len(rows))
        return rows

    monkeypatch.setattr(type(store), "filter_rows", written_meanwhile)
    index = store.build_filters()
    assert index is not None and len(reads) == 3 and store._cache.filters is index
    assert len(index) == len(plain.candidates(CandidateQuery(limit=5000)))
    reads.clear()
    monkeypatch.setattr(_cypher_candidates, "FILTER_BUILD_ATTEMPTS", 2)
    assert store.build_filters() is None and len(reads) == 2  # it gives up, a turn asks again


def test_a_failed_snapshot_read_is_read_again_after_a_pause(
    graphs: tuple[kg.GraphStore, kg.GraphStore],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A page past the read timeout while the graph DB is busy (another worker's start-up,
    a big catalogue's linker) failed the only read, and a server with no turn yet stayed
    without a snapshot; the read is tried again after a pause, doubling."""
    indexed, plain = graphs
    store: Any = indexed
    read = type(store).filter_rows
    failures = iter([True, True, False])

    def busy(self: Any) -> Any:
        if next(failures):
            raise GraphQueryError("FalkorDB rejected a query: Query timed out")
        return read(self)

    monkeypatch.setattr(type(store), "filter_rows", busy)
    monkeypatch.setattr(_cypher_candidates, "FILTER_RETRY_S", 0.05)
    started = time.monotonic()
    index = store.build_filters()
    assert time.monotonic() - started >= 0.05 + 0.1  # 0.05 s, then 0.1 s
    assert index is not None and store._cache.filters is index
    assert len(index) == len(plain.candidates(CandidateQuery(limit=5000)))
    assert "(read 1 of 3)" in caplog.text and "(read 2 of 3)" in caplog.text
    failures = iter([True] * 3)
    assert store.build_filters() is None  # the last attempt failed: a turn asks again


def test_snapshot_ids_are_the_scorers_id_objects() -> None:
    """The snapshot interns its ids, as a loaded GNN scorer interns its item ids: a turn's
    candidates then find their scorer rows by identity, not by string compares."""
    import sys

    fresh = [("".join(["it", "em-", str(n)]), *ROWS[0][1:]) for n in range(3)]  # new objects
    index = FilterIndex(fresh)
    assert all(i is sys.intern("item-" + i.removeprefix("item-")) for i in index.ids)
