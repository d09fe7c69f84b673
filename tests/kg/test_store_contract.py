"""The ``GraphStore`` contract on a tiny hand-built catalog, for every backend."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from kg_catalog import Catalog

import kg
from kg.types import CandidateQuery
from kgrec.domain import EventType, FeedbackEvent, PriceRange
from kgrec.errors import (
    ConfigError,
    DeadlineExceededError,
    GraphUnavailableError,
    InvalidInputError,
)


def ids(cands: list[kg.Candidate]) -> list[str]:
    return [c.product.id for c in cands]


# -- schema and loading -----------------------------------------------------------------------


def test_init_schema_is_idempotent(store: kg.GraphStore) -> None:
    store.init_schema()
    store.init_schema()
    store.ping()
    assert store.stats().nodes == {}
    assert not store.has_products()


@pytest.mark.parametrize("label", kg.schema.LABELS)
def test_ids_are_unique(store: kg.GraphStore, label: str) -> None:
    assert isinstance(store, kg.FalkorDBStore | kg.Neo4jStore)
    create = f"CREATE (:`{label}` {{id: $id}})"
    store._write(create, {"id": "x"})
    with pytest.raises(kg.GraphQueryError):
        store._write(create, {"id": "x"})
    assert store.stats().nodes == {label: 1}


def test_loaders_return_rows_and_are_idempotent(store: kg.GraphStore, catalog: Catalog) -> None:
    first = catalog.load(store)
    assert first == {
        "categories": 5,
        "brands": 3,
        "attributes": 4,
        "products": 6,
        "users": 3,
        "interactions": 6,  # new INTERACTED edges
        "entities": 2,
        "triples": 3,  # new typed relations
    }
    stats = store.stats()
    assert store.has_products()
    second = catalog.load(store)
    assert second["interactions"] == 0 and second["triples"] == 0
    assert store.stats() == stats
    assert stats.nodes == {
        "Attribute": 4, "Brand": 3, "Category": 5, "Entity": 2, "Product": 6, "User": 3,
    }  # fmt: skip
    assert stats.relationships == {
        "HAS_ATTRIBUTE": 10,
        "HAS_BRAND": 6,
        "INTERACTED": 6,
        "IN_CATEGORY": 6,
        "PERSON_WORKS_WITH": 1,
        "PRODUCT_DESIGNED_BY": 1,
        "PRODUCT_USES": 1,
        "SUBCATEGORY_OF": 3,
    }
    # prod:3: category, brand, 2 attributes, 3 interactions, 1 triple = 8
    assert stats.degree["max"] == 8.0
    assert stats.degree["min"] == 3.0  # prod:6: category, brand, 1 attribute


def test_reloading_a_product_replaces_its_links(loaded: kg.GraphStore) -> None:
    loaded.upsert_products(
        [{"id": "prod:6", "title": "Gym Bag v2", "brand_id": "brand:nike", "attribute_ids": []}]
    )
    (p,) = loaded.products(["prod:6"])
    assert (p.title, p.brand_id, p.attribute_ids, p.category_id) == (
        "Gym Bag v2", "brand:nike", (), "cat:bags",  # category untouched: key absent
    )  # fmt: skip
    assert ids(loaded.candidates(CandidateQuery(brand_ids=("brand:adidas",)))) == ["prod:2"]


def test_popularity_counts_positive_interactions(loaded_ro: kg.GraphStore) -> None:
    pop = {p.id: p.popularity for p in loaded_ro.products([f"prod:{i}" for i in range(1, 7)])}
    # prod:3: click + rating 5 + like; prod:2: rating 2 (not positive); prod:4: impression
    assert pop == {
        "prod:1": 1.0,
        "prod:2": 0.0,
        "prod:3": 3.0,
        "prod:4": 0.0,
        "prod:5": 0.0,
        "prod:6": 0.0,
    }


# -- reads ------------------------------------------------------------------------------------


def test_products_in_given_order_unknown_left_out(loaded_ro: kg.GraphStore) -> None:
    got = loaded_ro.products(["prod:5", "nope", "prod:1"])
    assert [p.id for p in got] == ["prod:5", "prod:1"]
    boot = got[0]
    assert boot.title == "Leather Boot" and boot.price == 210.0 and boot.currency == "USD"
    assert (boot.brand_id, boot.brand, boot.category_id, boot.category) == (
        "brand:salomon", "Salomon", "cat:boots", "Boots",
    )  # fmt: skip
    assert boot.attribute_ids == ("attr:color=red", "attr:material=leather", "attr:waterproof=yes")
    assert boot.attributes == (("color", "red"), ("material", "leather"), ("waterproof", "yes"))
    assert boot.image_ref == "img/prod:5.png"


def test_products_cached_records_with_live_popularity(loaded: kg.GraphStore) -> None:
    """A second read serves the record from the cache but its popularity from the graph, and
    a catalog write drops the cached record."""
    (first,) = loaded.products(["prod:5"])
    event = {"event_id": "e-live", "user_id": "user:z", "item_id": "prod:5", "type": "purchase"}
    assert loaded.add_interactions([event | {"value": 1.0, "ts": 9.0}]) == 1
    again = loaded.products(["prod:5", "nope", "prod:5"])
    assert [p.id for p in again] == ["prod:5", "prod:5"]
    assert again[0].popularity == first.popularity + 1 and again[0].title == first.title
    loaded.upsert_products([{"id": "prod:5", "title": "Renamed Boot"}])
    assert loaded.products(["prod:5"])[0].title == "Renamed Boot"


def test_a_product_without_popularity_keeps_unfiltered_scans_whole(loaded: kg.GraphStore) -> None:
    """A product without ``popularity`` (not from the loaders) sorts first in a popularity
    scan, so no popularity floor may skip it; an import write drops a learned floor."""
    from kg._cypher_base import cypher_store

    top = CandidateQuery(limit=1)
    priced = CandidateQuery(price=PriceRange(max=1000.0), limit=1)  # the new one has no price
    assert ids(loaded.candidates(top)) == ids(loaded.candidates(priced)) == ["prod:3"]
    cypher_store(loaded).run_write("CREATE (:Product {id: 'prod:nopop', title: 'No pop'})")
    for _ in range(2):  # a floor learned from the priced scan must not hide it
        assert ids(loaded.candidates(priced)) == ["prod:3"]
        assert ids(loaded.candidates(top)) == ["prod:nopop"]


def test_candidates_unfiltered_by_popularity(loaded_ro: kg.GraphStore) -> None:
    got = ids(loaded_ro.candidates(CandidateQuery()))
    assert got[:2] == ["prod:3", "prod:1"]
    assert sorted(got) == [f"prod:{i}" for i in range(1, 7)]
    assert ids(loaded_ro.candidates(CandidateQuery(limit=2))) == ["prod:3", "prod:1"]
    assert loaded_ro.candidates(CandidateQuery(limit=0)) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (CandidateQuery(price=PriceRange(max=120)), {"prod:1", "prod:4", "prod:6"}),
        (CandidateQuery(price=PriceRange(min=120, max=180)), {"prod:1", "prod:2", "prod:3"}),
        # the subtree: running includes trail
        (CandidateQuery(category_ids=("cat:running",)), {"prod:1", "prod:2", "prod:3", "prod:4"}),
        (CandidateQuery(category_ids=("cat:shoes",)), {f"prod:{i}" for i in range(1, 6)}),
        (CandidateQuery(category_ids=("cat:trail", "cat:bags")), {"prod:3", "prod:4", "prod:6"}),
        (CandidateQuery(exclude_category_ids=("cat:running",)), {"prod:5", "prod:6"}),
        (CandidateQuery(brand_ids=("brand:nike",)), {"prod:1", "prod:4"}),
        (
            CandidateQuery(category_ids=("cat:running",), exclude_brand_ids=("brand:nike",)),
            {"prod:2", "prod:3"},
        ),
        (
            CandidateQuery(required_attribute_ids=("attr:color=red", "attr:waterproof=yes")),
            {"prod:3", "prod:5"},
        ),
        (
            CandidateQuery(exclude_attribute_ids=("attr:color=blue",)),
            {"prod:1", "prod:3", "prod:5"},
        ),
        (
            CandidateQuery(exclude_item_ids=("prod:3", "prod:1")),
            {"prod:2", "prod:4", "prod:5", "prod:6"},
        ),
        (
            CandidateQuery(
                price=PriceRange(max=200),
                category_ids=("cat:shoes",),
                exclude_brand_ids=("brand:adidas",),
                required_attribute_ids=("attr:waterproof=yes",),
                exclude_item_ids=("prod:4",),
            ),
            {"prod:3"},
        ),
        (CandidateQuery(category_ids=("cat:unknown",)), set()),
    ],
)
def test_candidate_filters(
    loaded_ro: kg.GraphStore, query: CandidateQuery, expected: set[str]
) -> None:
    got = loaded_ro.candidates(query)
    assert set(ids(got)) == expected
    assert all(query.price.contains(c.product.price) for c in got)


def test_preferred_ids_rank_first_and_are_reported(loaded_ro: kg.GraphStore) -> None:
    got = loaded_ro.candidates(
        CandidateQuery(preferred_ids=("attr:waterproof=yes", "ent:designer", "attr:color=blue"))
    )
    matched = {c.product.id: c.matched for c in got}
    assert ids(got)[:2] == ["prod:3", "prod:4"]  # two matches each; prod:3 more popular
    assert matched["prod:3"] == ("attr:waterproof=yes", "ent:designer")
    assert matched["prod:4"] == ("attr:color=blue", "attr:waterproof=yes")
    assert matched["prod:1"] == ()
    assert len(got) == 6  # soft: the unmatched still come, after


def test_paths_are_real_and_shortest_first(loaded_ro: kg.GraphStore, catalog: Catalog) -> None:
    got = loaded_ro.paths(
        ["brand:salomon", "user:a", "ent:designer", "cat:shoes"], ["prod:3", "prod:6"], 3, 3
    )
    assert "prod:6" not in got or all(len(p.relations) <= 3 for p in got["prod:6"])
    paths3 = got["prod:3"]
    assert len(paths3) == 3
    assert [len(p.relations) for p in paths3] == sorted(len(p.relations) for p in paths3)
    edges = {
        (t["head"], t["relation"].upper().replace(".", "_"), t["tail"]) for t in catalog.triples
    }
    for p in catalog.products:
        edges |= {(p["id"], "IN_CATEGORY", p["category_id"]), (p["id"], "HAS_BRAND", p["brand_id"])}
        edges |= {(p["id"], "HAS_ATTRIBUTE", a) for a in p["attribute_ids"]}
    edges |= {
        (c["id"], "SUBCATEGORY_OF", c["parent_id"])
        for c in catalog.categories
        if c.get("parent_id")
    }
    for item, item_paths in got.items():
        for path in item_paths:
            assert path.nodes[0].id in {"brand:salomon", "ent:designer", "cat:shoes"}
            assert path.nodes[-1].id == item
            assert len(path.forward) == len(path.relations)
            hops = zip(path.nodes, path.relations, path.forward, path.nodes[1:], strict=False)
            for a, rel, forward, b in hops:  # each edge exists, pointing the way it says
                assert ((a.id, rel, b.id) if forward else (b.id, rel, a.id)) in edges
    one_hop = {(p.nodes[0].id, p.relations[0]) for p in paths3 if len(p.relations) == 1}
    assert one_hop == {  # user:a bought it, but a shopper is never a path's node
        ("brand:salomon", "HAS_BRAND"),
        ("ent:designer", "PRODUCT_DESIGNED_BY"),
    }
    assert paths3[0].nodes[-1].name == "Salomon Speedcross"


def test_paths_follow_the_order_of_the_sources(loaded_ro: kg.GraphStore) -> None:
    """Equally short paths come in the order of their sources (what the shopper said first),
    on every backend and whatever order the database walks its edges in."""
    for sources in (["ent:designer", "brand:salomon"], ["brand:salomon", "ent:designer"]):
        for hops in (1, 2, 3):  # one round trip up to 2 hops; hop by hop beyond
            got = loaded_ro.paths(sources, ["prod:3"], max_hops=hops, k=9)["prod:3"]
            for length in range(1, hops + 1):
                starts = [p.nodes[0].id for p in got if len(p.relations) == length]
                assert starts == sorted(starts, key=sources.index), (hops, length)
            assert [p.nodes[0].id for p in got if len(p.relations) == 1] == sources


def test_paths_never_pass_through_shoppers_or_sessions(loaded: kg.GraphStore) -> None:
    """prod:1 and prod:3 were both bought by user:a: that link is private, not a path."""
    loaded.create_session("s-a", "user:a", 1.0)
    got = loaded.paths(["prod:1", "user:a", "s-a"], ["prod:3", "prod:2"], max_hops=4, k=50)
    for item_paths in got.values():
        for path in item_paths:
            assert {n.label for n in path.nodes} <= {
                "Product", "Brand", "Category", "Attribute", "Entity",
            }  # fmt: skip
            assert "INTERACTED" not in path.relations
            assert path.nodes[0].id == "prod:1"
    assert loaded.paths(["user:a"], ["prod:1", "prod:3"], max_hops=2) == {}


def test_paths_enter_an_item_by_an_imported_relation(loaded: kg.GraphStore) -> None:
    """A two-hop path whose last edge points into the item (an imported relation, the only
    kind but a shopper's that can) is found, the cached relation types dropped by the import;
    a shopper's edge into it still never is one."""
    assert "prod:6" not in loaded.paths(["ent:designer"], ["prod:6"], max_hops=2, k=9)
    loaded.add_triples([{"head": "ent:tech", "relation": "tech.featured_in", "tail": "prod:6"}])
    loaded.record_event(FeedbackEvent("user:a", "", "prod:6", EventType.PURCHASE), "e-6", 2.0)
    got = loaded.paths(["ent:designer", "user:a"], ["prod:6"], max_hops=2, k=9)["prod:6"]
    assert [(p.nodes[0].id, p.relations, p.forward) for p in got] == [
        ("ent:designer", ("PERSON_WORKS_WITH", "TECH_FEATURED_IN"), (True, True))
    ]
    assert [n.id for n in got[0].nodes] == ["ent:designer", "ent:tech", "prod:6"]


def test_co_interactions_count_shoppers_without_naming_them(loaded_ro: kg.GraphStore) -> None:
    # prod:3: bought/liked/rated 5 by a, b, c; prod:1 bought by a; prod:2 rated 2 (negative) by b
    got = loaded_ro.co_interactions(["prod:3"], ["prod:1", "prod:2", "prod:3", "prod:4"])
    assert got == {("prod:3", "prod:1"): 1}
    assert loaded_ro.co_interactions(["prod:1"], ["prod:3"]) == {("prod:1", "prod:3"): 1}
    assert loaded_ro.co_interactions([], ["prod:3"]) == {}


def test_paths_bounded_by_max_hops(loaded_ro: kg.GraphStore) -> None:
    # cat:shoes -> cat:running -> cat:trail -> prod:3 is 3 hops
    assert loaded_ro.paths(["cat:shoes"], ["prod:3"], max_hops=2) == {}
    (path,) = loaded_ro.paths(["cat:shoes"], ["prod:3"], max_hops=3, k=1)["prod:3"]
    assert [n.id for n in path.nodes] == ["cat:shoes", "cat:running", "cat:trail", "prod:3"]
    assert path.relations == ("SUBCATEGORY_OF", "SUBCATEGORY_OF", "IN_CATEGORY")
    assert path.forward == (False, False, False)  # every edge walked against its direction
    assert [n.label for n in path.nodes] == ["Category", "Category", "Category", "Product"]


def test_lexicon_has_every_name_and_alias(loaded_ro: kg.GraphStore) -> None:
    lex = loaded_ro.lexicon()
    surfaces = {(e.entity_id, e.surface) for e in lex}
    assert ("brand:nike", "Nike") in surfaces and ("brand:nike", "swoosh") in surfaces
    assert ("cat:running", "runners") in surfaces and ("attr:color=red", "crimson") in surfaces
    assert len(lex) == 3 + 2 + 5 + 1 + 4 + 2  # brands+aliases, categories+alias, attributes+aliases
    assert {e.label for e in lex} == {"Brand", "Category", "Attribute"}
    ents = loaded_ro.lexicon(["Entity"])
    assert {(e.entity_id, e.name, e.surface) for e in ents} == {
        ("ent:designer", "Ada Designer", "Ada Designer"),
        ("ent:designer", "Ada Designer", "ada"),
        ("ent:tech", "GoreTex", "GoreTex"),
    }


def test_fulltext_names_aliases_titles(loaded_ro: kg.GraphStore) -> None:
    hits = loaded_ro.fulltext("swoosh", ["Brand"])
    assert [(h.entity_id, h.label, h.name) for h in hits] == [("brand:nike", "Brand", "Nike")]
    hits = loaded_ro.fulltext("Trail", ["Category", "Product"], k=10)
    assert {h.entity_id for h in hits} == {"cat:trail", "prod:4"}
    assert loaded_ro.fulltext("CRIMSON", ["Attribute"])[0].entity_id == "attr:color=red"
    assert loaded_ro.fulltext("GoreTéx", ["Entity"])[0].entity_id == "ent:tech"  # folded
    assert loaded_ro.fulltext("zzz nothing", ["Brand"]) == []
    assert loaded_ro.fulltext("  ", ["Brand"]) == []


def test_drop_all_empties_the_graph(loaded: kg.GraphStore) -> None:
    loaded.drop_all()
    assert loaded.stats().nodes == {}
    loaded.init_schema()  # usable again


def test_unreachable_database_is_graph_unavailable(tmp_path: Path) -> None:
    with pytest.raises(GraphUnavailableError):
        kg.open_store(f"falkordb+unix://{tmp_path}/no.sock", graph="x")


def test_vector_index_nearest_products(store: kg.GraphStore) -> None:
    assert isinstance(store, kg.FalkorDBStore | kg.Neo4jStore)
    store.embedding_dim = 3
    store.init_schema()
    store.init_schema()
    store.upsert_products([{"id": f"p{i}", "title": f"t{i}"} for i in range(4)])
    vectors = {
        "p0": [1.0, 0.0, 0.0],
        "p1": [0.0, 1.0, 0.0],
        "p2": [1.0, 1.0, 0.0],
        "p3": [-1.0, 0.0, 0.0],
    }
    assert store.set_product_embeddings(vectors.items()) == 4
    got = store.nearest_products([1.0, 0.1, 0.0], k=4)
    assert [i for i, _ in got] == ["p0", "p2", "p1", "p3"]
    dist = dict(got)
    assert dist["p0"] == pytest.approx(1 - 1 / (1.01**0.5), abs=1e-4)  # cosine distance
    assert dist["p3"] == pytest.approx(2 - dist["p0"], abs=1e-4)
    with pytest.raises(InvalidInputError):
        store.set_product_embeddings([("p0", [1.0, 2.0])])


def test_open_store_schemes(falkordb_server: kg.EmbeddedFalkorDB) -> None:
    s = kg.open_store(falkordb_server.uri, graph="schemes")
    assert isinstance(s, kg.FalkorDBStore) and s.uri == falkordb_server.uri
    s.close()
    s.close()  # idempotent
    with pytest.raises(ConfigError, match="valid schemes: bolt://"):
        kg.open_store("mysql://user:secret@host/db")
    with pytest.raises(ConfigError) as err:
        kg.open_store("http://user:secret@host")
    assert "secret" not in str(err.value)
    n = kg.open_store("neo4j://user:secret@127.0.0.1:1", connection_timeout=0.5)
    assert isinstance(n, kg.Neo4jStore) and n.uri == "neo4j://127.0.0.1:1"  # no credentials
    n.close()


def test_unreachable_neo4j_is_graph_unavailable() -> None:
    store = kg.open_store(
        "bolt://127.0.0.1:1", connection_timeout=0.5, max_transaction_retry_time=0
    )
    try:
        with pytest.raises(GraphUnavailableError):
            store.ping()
        with pytest.raises(GraphUnavailableError):
            store.stats()
    finally:
        store.close()


def test_falkordb_read_timeout_and_pool(falkordb_server: kg.EmbeddedFalkorDB) -> None:
    store = kg.open_store(falkordb_server.uri, graph="limits", max_connections=2)
    assert isinstance(store, kg.FalkorDBStore)
    try:
        store.init_schema()  # its reads must not race a 1 ms limit on a loaded CI box
        store.read_timeout_ms = 1
        with pytest.raises(DeadlineExceededError):
            store._read("UNWIND range(1, 300000) AS x WITH x WHERE x % 7 = 0 RETURN count(x)")
        store.read_timeout_ms = None
        store.upsert_brands([{"id": "b", "name": "B"}])
        with ThreadPoolExecutor(16) as pool:  # 16 callers share 2 connections: they wait
            assert set(pool.map(lambda _: len(store.lexicon(["Brand"])), range(64))) == {1}
    finally:
        store.drop_all()
        store.close()


def test_moving_a_category_moves_its_products_in_filters(loaded: kg.GraphStore) -> None:
    def under(cat: str) -> set[str]:
        return set(ids(loaded.candidates(CandidateQuery(category_ids=(cat,)))))

    assert under("cat:running") == {"prod:1", "prod:2", "prod:3", "prod:4"}
    # trail shoes become boots; a new category elsewhere touches nothing else
    loaded.upsert_categories(
        [{"id": "cat:trail", "name": "Trail running shoes", "parent_id": "cat:boots"}]
    )
    loaded.upsert_categories([{"id": "cat:hats", "name": "Hats", "parent_id": None}])
    assert under("cat:running") == {"prod:1", "prod:2"}
    assert under("cat:boots") == {"prod:3", "prod:4", "prod:5"}
    assert under("cat:shoes") == {f"prod:{i}" for i in range(1, 6)}
    (path,) = loaded.paths(["cat:shoes"], ["prod:3"], max_hops=3, k=1)["prod:3"]
    assert [n.id for n in path.nodes] == ["cat:shoes", "cat:boots", "cat:trail", "prod:3"]


def test_bad_rows_are_invalid_input_naming_the_field(store: kg.GraphStore) -> None:
    cases = [
        (store.upsert_products, {"id": "p", "title": "t", "price": "cheap"}, "price"),
        (store.upsert_brands, {"name": "no id"}, "id"),
        (
            store.add_interactions,
            {"user_id": "u", "item_id": "p", "type": "click", "value": "x", "event_id": "e"},
            "value",
        ),
        (store.add_triples, {"head": "a", "relation": "IN_CATEGORY", "tail": "b"}, "relation"),
    ]
    for load, row, field in cases:
        with pytest.raises(InvalidInputError) as err:
            load([row])
        assert err.value.field == field
    assert store.stats().nodes == {}
