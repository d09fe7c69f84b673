"""The importers against a real embedded FalkorDB, on tiny files written by each test."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

import kg
from kg.importers import ImportOptions, ImportReport, run_import
from kg.importers._cypher import write
from kgrec.errors import ConfigError, InvalidInputError

# ``store`` (a fresh graph per test, on each backend) and ``falkordb_server`` come from
# tests/kg/conftest.py.


def opts(tmp_path: Path, **kw: Any) -> ImportOptions:
    return ImportOptions(state_dir=tmp_path / "state", **kw)


def bad_lines(report: ImportReport) -> dict[int, str]:
    return {b.line: b.reason for b in report.bad_rows}


PRODUCTS_JSONL = [
    {"id": "p1", "title": "Trail runner", "price": 89.5, "category": "Shoes > Running shoes",
     "brand": "Nike", "attributes": {"color": "red", "size": ["9", "10"]}, "aliases": ["tr"]},
    {"id": "p2", "title": "Blue shoe", "price": "cheap", "category": "Shoes"},
    "not json",
    {"title": "no id"},
    {"id": "p3", "title": "Old hat", "category_id": "cat:hats", "brand_id": "brand:acme",
     "attribute_ids": ["attr:size=l"], "description": "A hat.", "image_ref": "img/p3.png"},
    {"id": "p4", "title": "Sandal", "category": "Shoes", "attributes": ["color=blue"]},
]  # fmt: skip


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_products_jsonl_creates_referenced_nodes_and_reports_bad_lines(
    store: kg.GraphStore, tmp_path: Path
) -> None:
    src = write_jsonl(tmp_path / "p.jsonl", PRODUCTS_JSONL)
    report = run_import(store, "products", src, opts(tmp_path, batch_size=2))

    assert (report.read, report.written, report.skipped) == (6, 3, 3)
    bad = bad_lines(report)
    assert set(bad) == {2, 3, 4}
    assert "price" in bad[2] and "JSON" in bad[3] and "missing id" in bad[4]
    assert all(b.path == str(src) for b in report.bad_rows)

    p1, p3, p4 = store.products(["p1", "p3", "p4"])
    assert (p1.category_id, p1.category, p1.brand_id, p1.price) == (
        "cat:running-shoes", "Running shoes", "brand:nike", 89.5,
    )  # fmt: skip
    assert set(p1.attribute_ids) == {"attr:color=red", "attr:size=9", "attr:size=10"}
    assert (p3.category_id, p3.brand_id, p3.attribute_ids) == (
        "cat:hats",
        "brand:acme",
        ("attr:size=l",),
    )
    assert (p3.description, p3.image_ref) == ("A hat.", "img/p3.png")
    assert p4.category_id == "cat:shoes" and p4.attribute_ids == ("attr:color=blue",)
    stats = store.stats()
    assert stats.nodes["Category"] == 3  # shoes, running-shoes, hats
    assert stats.relationships["SUBCATEGORY_OF"] == 1
    assert stats.nodes["Brand"] == 2


def test_nodes_named_only_by_id_keep_an_existing_name(store: kg.GraphStore, tmp_path: Path) -> None:
    store.upsert_categories([{"id": "cat:hats", "name": "Hats & caps"}])
    src = write_jsonl(
        tmp_path / "p.jsonl", [{"id": "p", "title": "Cap", "category_id": "cat:hats"}]
    )
    run_import(store, "products", src, opts(tmp_path))
    assert store.products(["p"])[0].category == "Hats & caps"


def test_products_csv_with_multiline_field_and_bad_rows(
    store: kg.GraphStore, tmp_path: Path
) -> None:
    src = tmp_path / "p.csv"
    src.write_text(
        "id,title,description,price,category,brand,attributes,aliases\n"
        'c1,Kettle,"Two\nlines",25,Kitchen,Acme,color=black;volume=1.7 l,boiler;jug\n'
        "c2,Toaster,,-3,Kitchen,,,\n"
        "c3,,no title,1,Kitchen,,,\n"
        "c4,Mug,,4,Kitchen,Acme,color,\n"
        "c5,Pan,,12,Kitchen,Acme,,\n",
        encoding="utf-8",
    )
    report = run_import(store, "products", src, opts(tmp_path))
    assert report.written == 2
    bad = bad_lines(report)
    assert set(bad) == {4, 5, 6}  # the quoted newline makes c2 start on line 4
    assert ">= 0" in bad[4] and "title" in bad[5] and "name=value" in bad[6]
    c1 = store.products(["c1"])[0]
    assert c1.description == "Two\nlines"
    assert set(c1.attributes) == {("color", "black"), ("volume", "1.7 l")}


def test_triples_tsv(store: kg.GraphStore, tmp_path: Path) -> None:
    store.upsert_products([{"id": "p1", "title": "Film"}])
    src = tmp_path / "t.tsv"
    src.write_text(
        "head\trelation\ttail\n"
        "p1\tfilm.directed_by\tSteven_Spielberg\n"
        "p1\tstarring\tTom_Hanks\n"
        "only two\tfields\n"
        "p1\tIN_CATEGORY\tcat:x\n"
        "p1\t###\tx\n"
        "Tom_Hanks\tacted in\tp1\n",
        encoding="utf-8",
    )
    report = run_import(store, "triples", src, opts(tmp_path))
    assert (report.read, report.written) == (6, 3)
    assert set(bad_lines(report)) == {4, 5, 6}
    stats = store.stats()
    assert stats.nodes["Entity"] == 2  # endpoints that were no node yet
    assert stats.relationships == {"ACTED_IN": 1, "FILM_DIRECTED_BY": 1, "STARRING": 1}
    [hit] = store.fulltext("Spielberg", ["Entity"], k=1)
    assert (hit.entity_id, hit.name) == ("Steven_Spielberg", "Steven Spielberg")


def test_interactions_csv(store: kg.GraphStore, tmp_path: Path) -> None:
    store.upsert_products([{"id": "p1", "title": "A"}, {"id": "p2", "title": "B"}])
    src = tmp_path / "i.csv"
    src.write_text(
        "u1,p1,click,,1700000000\n"  # no header: the columns are positional
        "u1,p2,rating,4.5,2024-01-02T03:04:05Z,ev-7\n"
        "u2,p9,click,,1\n"
        "u2,p1,teleport,,1\n"
        "u2,p1,rating,x,1\n"
        "u2,p1,purchase\n",
        encoding="utf-8",
    )
    report = run_import(store, "interactions", src, opts(tmp_path))
    assert report.written == 3
    bad = bad_lines(report)
    assert set(bad) == {3, 4, 5}
    assert "unknown item_id 'p9'" in bad[3] and "teleport" in bad[4] and "value" in bad[5]
    events = {e.event_id: e for e in store.user_events("u1")}
    assert events["ev-7"].value == 4.5 and events["ev-7"].ts == 1704164645.0
    assert len(events) == 2 and store.user_events("u2")[0].type == "purchase"


def test_reimport_is_idempotent(store: kg.GraphStore, tmp_path: Path) -> None:
    store.upsert_products([{"id": "p1", "title": "A"}])
    products = write_jsonl(tmp_path / "p.jsonl", PRODUCTS_JSONL)
    events = tmp_path / "i.csv"
    events.write_text("user_id,item_id,type,value,ts\nu1,p1,click,,5\nu1,p1,click,,6\n")
    first = [run_import(store, k, p, opts(tmp_path)).to_dict() for k, p in
             (("products", products), ("interactions", events))]  # fmt: skip
    stats = store.stats()
    again = [run_import(store, k, p, opts(tmp_path)).to_dict() for k, p in
             (("products", products), ("interactions", events))]  # fmt: skip
    assert store.stats() == stats
    assert stats.relationships["INTERACTED"] == 2
    for a, b in zip(first, again, strict=True):
        assert (a["read"], a["written"], a["skipped"]) == (b["read"], b["written"], b["skipped"])


def many_products(path: Path, n: int) -> Path:
    rows = [{"id": f"p{i}", "title": f"Product {i}", "category": f"C{i % 3}"} for i in range(n)]
    return write_jsonl(path, rows)


def test_an_interrupted_import_resumes_after_the_last_committed_batch(
    store: kg.GraphStore,
    falkordb_server: kg.EmbeddedFalkorDB,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    src = many_products(tmp_path / "p.jsonl", 10)
    real = store.upsert_products
    calls = {"n": 0}

    def crash_on_third_batch(rows: Any, batch_size: int = 2000) -> int:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the import
        return real(rows, batch_size)

    monkeypatch.setattr(store, "upsert_products", crash_on_third_batch)
    first = run_import(store, "products", src, opts(tmp_path, batch_size=3))
    assert first.interrupted and first.written == 6
    assert store.stats().nodes["Product"] == 6
    assert (tmp_path / "state" / "import-checkpoint.json").exists()

    monkeypatch.setattr(store, "upsert_products", real)
    second = run_import(store, "products", src, opts(tmp_path, batch_size=3))
    assert (second.resumed, second.written, second.interrupted) == (6, 4, False)
    assert not (tmp_path / "state" / "import-checkpoint.json").exists()  # done: forgotten

    clean = kg.open_store(falkordb_server.uri, graph=f"t{uuid.uuid4().hex[:12]}")
    try:
        run_import(clean, "products", src, ImportOptions())
        assert clean.stats() == store.stats()
    finally:
        clean.drop_all()
        clean.close()


def test_a_changed_file_is_imported_afresh(
    store: kg.GraphStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = many_products(tmp_path / "p.jsonl", 6)
    real = store.upsert_products

    def fail_after_first(rows: Any, batch_size: int = 2000) -> int:
        monkeypatch.setattr(store, "upsert_products", failing)
        return real(rows, batch_size)

    def failing(rows: Any, batch_size: int = 2000) -> int:
        raise kg.GraphQueryError("boom")

    monkeypatch.setattr(store, "upsert_products", fail_after_first)
    with pytest.raises(kg.GraphQueryError):
        run_import(store, "products", src, opts(tmp_path, batch_size=2))
    many_products(src, 7)  # rewritten: the checkpoint no longer applies
    monkeypatch.setattr(store, "upsert_products", real)
    report = run_import(store, "products", src, opts(tmp_path, batch_size=2))
    assert (report.resumed, report.written) == (0, 7)


def test_strict_writes_nothing_when_a_row_is_bad(store: kg.GraphStore, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "p.jsonl", PRODUCTS_JSONL)
    report = run_import(store, "products", src, opts(tmp_path, strict=True))
    assert report.dry_run and report.written == 0 and len(report.bad_rows) == 3
    assert store.stats().nodes == {}
    ok = write_jsonl(tmp_path / "ok.jsonl", [PRODUCTS_JSONL[0]])
    assert run_import(store, "products", ok, opts(tmp_path, strict=True)).written == 1
    events = tmp_path / "i.csv"
    events.write_text("u1,p1,click,,1\nu1,nope,click,,1\n")  # parses, but names no product
    report = run_import(store, "interactions", events, opts(tmp_path, strict=True))
    assert report.dry_run and [b.line for b in report.bad_rows] == [2]
    assert "INTERACTED" not in store.stats().relationships


def test_unknown_kind_and_bad_paths_are_clear_errors(store: kg.GraphStore, tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError,
        match="valid: export, inspired, interactions, movielens, products, redial, triples",
    ):
        run_import(store, "videos", tmp_path, ImportOptions())
    with pytest.raises(InvalidInputError, match="does not exist"):
        run_import(store, "products", tmp_path / "nope.jsonl", ImportOptions())
    with pytest.raises(InvalidInputError, match="takes a directory"):
        run_import(store, "movielens", write_jsonl(tmp_path / "x.jsonl", []), ImportOptions())
    with pytest.raises(InvalidInputError, match=r"\.jsonl or \.csv"):
        run_import(store, "products", write_jsonl(tmp_path / "x.txt", []), ImportOptions())


def test_undecodable_lines_are_bad_rows(store: kg.GraphStore, tmp_path: Path) -> None:
    src = tmp_path / "t.tsv"
    src.write_bytes(b"a\trel\tb\nc\trel\t\xff\xfe\n")
    report = run_import(store, "triples", src, opts(tmp_path))
    assert report.written == 1 and "utf-8" in bad_lines(report)[2]


def test_planted_problems_are_found_by_verify(store: kg.GraphStore, tmp_path: Path) -> None:
    from kg.verify import verify_graph

    store.upsert_categories([{"id": "cat:a", "name": "A"}])
    store.upsert_brands(
        [{"id": "b1", "name": "Acme"}, {"id": "b2", "name": "ACME Inc", "aliases": ["acme"]}]
    )
    store.upsert_products(
        [{"id": "p1", "title": "x", "category_id": "cat:a"}, {"id": "p2", "title": "y"}]
    )
    store.upsert_entities([{"id": "e1", "name": "lonely", "aliases": ["l", "L"]}])
    write(
        store, "MATCH (p:Product {id: 'p1'}), (b:Brand {id: 'b1'}) CREATE (p)-[:IN_CATEGORY]->(b)"
    )
    found = {p.check: p for p in verify_graph(store)}
    assert set(found) == {
        "products without category",
        "duplicate aliases Brand",
        "orphan entities",
        "repeated aliases Entity",
        "dangling IN_CATEGORY",
    }
    assert found["products without category"].examples == ("p2",)
    assert found["duplicate aliases Brand"].examples[0][0] == "acme"
    assert found["dangling IN_CATEGORY"].count == 1


def test_export_drop_import_gives_identical_stats(
    store: kg.GraphStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kg import export
    from kg.export import export_graph
    from kg.verify import verify_graph

    monkeypatch.setattr(export, "PAGE", 2)  # many pages, over non-ASCII ids too

    store.upsert_products([{"id": "p0", "title": "Zero"}])
    run_import(store, "products", write_jsonl(tmp_path / "p.jsonl", PRODUCTS_JSONL), opts(tmp_path))
    people = ["hector", "héctor", "Émile", "émile", "zoë", "ángel", "Åke", "ünal", "zed"]
    (tmp_path / "t.tsv").write_text(
        "p1\tsimilar to\tp3\np3\tmade by\tacme_corp\n"
        + "".join(f"p1\tstars\t{p}\n" for p in people),
        encoding="utf-8",
    )
    run_import(store, "triples", tmp_path / "t.tsv", opts(tmp_path))
    (tmp_path / "i.csv").write_text("u1,p1,click,,5\nu1,p1,click,,6\nu2,p3,rating,2,7\n")
    run_import(store, "interactions", tmp_path / "i.csv", opts(tmp_path))
    store.upsert_categories([{"id": "cat:x", "name": "X"}])
    store.upsert_products([{"id": "p0", "title": "Zero", "category_id": "cat:x"}])
    before, records = store.stats(), store.products(["p0", "p1", "p3", "p4"])
    events = store.user_events("u1") + store.user_events("u2")
    assert not verify_graph(store)

    counts = export_graph(store, tmp_path / "out" / "graph.jsonl")
    assert counts.nodes == sum(before.nodes.values())
    assert counts.relationships == sum(before.relationships.values())
    store.drop_all()
    assert store.stats().nodes == {}
    store.init_schema()
    report = run_import(store, "export", counts.path, opts(tmp_path, batch_size=4))
    assert not report.bad_rows
    assert store.stats() == before
    assert store.products(["p0", "p1", "p3", "p4"]) == records
    assert store.user_events("u1") + store.user_events("u2") == events
    assert len(events) == 3
    assert not verify_graph(store)


def test_a_file_that_is_not_an_export_is_refused(store: kg.GraphStore, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "x.jsonl", [{"node": {"label": "Product", "id": "p"}}])
    report = run_import(store, "export", src, opts(tmp_path))
    assert report.written == 0 and "not a kgrec export" in report.bad_rows[0].reason
    src = write_jsonl(
        tmp_path / "y.jsonl",
        [{"kgrec_export": 1}, {"node": {"label": "Robot", "id": "r"}},
         {"rel": {"type": "X", "start_label": "Product", "start": "a"}}],
    )  # fmt: skip
    assert set(bad_lines(run_import(store, "export", src, opts(tmp_path)))) == {2, 3}
