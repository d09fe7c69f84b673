"""The MovieLens importer: a tiny hand-written copy of the file layout, and the real data."""

from __future__ import annotations

from pathlib import Path

import pytest

import kg
from kg.importers import ImportOptions, run_import
from kg.importers._movielens_rows import title_aliases
from kg.verify import verify_graph

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()
GENRES = ["unknown", "Action", "Comedy", "Drama"]


# ``store`` (a fresh graph per test, on each backend) and ``falkordb_server`` come from
# tests/kg/conftest.py.


def _item(i: int, title: str, genres: set[str]) -> str:
    flags = "|".join("1" if g in genres else "0" for g in GENRES)
    return f"{i}|{title}|01-Jan-1995||http://x|{flags}"


def tiny_movielens(root: Path) -> Path:
    """Three films, two users, the KG/link/names/IMDb/poster files, and bad rows."""
    ml, kgd, side = (
        root / "movielens-100k",
        root / "movielens-100k-kg",
        root / "movielens-100k-side",
    )
    rec, kb = kgd / "recbole_ml-100k", kgd / "kb4rec_ml-100k_freebase_subgraph"
    for d in (ml, rec, kb, side / "imdb_details", side / "posters_ml1m_ids"):
        d.mkdir(parents=True)
    (ml / "u.genre").write_text("".join(f"{g}|{i}\n" for i, g in enumerate(GENRES)) + "\n")
    items = [
        _item(1, "Toy Story (1995)", {"Comedy"}),
        _item(2, "Postino, Il (1994)", {"Comedy", "Drama"}),
        "3|broken line",
        _item(4, "Heat (1995)", {"Action", "Drama"}),
    ]
    (ml / "u.item").write_bytes(("\n".join(items) + "\n").encode("latin-1"))
    (ml / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|94043\n")
    (ml / "u.data").write_text(
        "1\t1\t5\t881250949\n2\t1\t3\t881250950\n1\t4\t9\t1\n2\t4\t4\t881250951\n"
    )
    (rec / "ml-100k.link").write_text("item_id:token\tentity_id:token\n1\tm.toy\n4\tm.heat\n")
    (rec / "ml-100k.kg").write_text(
        "head_id:token\trelation_id:token\ttail_id:token\n"
        "m.toy\tfilm.film.directed_by\tm.lasseter\n"
        "m.heat\tfilm.film.directed_by\tm.mann\n"
        "m.heat\tfilm.film.actor\tm.pacino\n"
        "m.pacino\tfilm.actor.film\tm.heat\n"
        "m.heat\tfilm.film.sequel\tm.heat2\n"
        "m.heat\tnot a relation!\n"
    )
    (kb / "ml-100k__easy-fbkg__e_names_fb.tsv").write_text(
        "m.lasseter\t约翰·拉塞特\nm.pacino\tAl Pacino\n"
    )
    (kb / "ml-100k__easy-fbkg__e_types_fb.tsv").write_text(
        "m.lasseter\tdirector\nm.pacino\tactor\n"
    )
    (side / "imdb_details" / "movielens100k_details.csv").write_text(
        "movie_id,description,director,writer,cast\n"
        "1,A cowboy doll is threatened.,['John Lasseter'],\"['John Lasseter', 'Pete Docter']\","
        "\"['Tom Hanks', 'Tim Allen']\"\n"
        "4,A heist.,\"['Michael Mann']\",[],\"['Al Pacino', 'Robert De Niro']\"\n"
        "x,bad id,[],[],[]\n"
    )
    (side / "posters_ml1m_ids" / "1.jpg").write_bytes(b"\xff\xd8fake")
    (side / "ml100k_to_ml1m_map.tsv").write_text(
        "ml100k_item_id\tml100k_title\tml1m_movie_id\tmatch\tposter_file\n"
        "1\tToy Story (1995)\t1\texact\tposters_ml1m_ids/1.jpg\n"
        "2\tPostino, Il (1994)\t\t\t\n"
        "4\tHeat (1995)\t6\texact\tposters_ml1m_ids/6.jpg\n"  # the file is missing
    )
    return root


def test_title_aliases() -> None:
    assert title_aliases("Postino, Il (1994)") == ["Postino, Il", "Il Postino"]
    assert title_aliases("Graduate, The (1967)") == ["Graduate, The", "The Graduate"]
    assert title_aliases("Heat") == []


def test_tiny_movielens(store: kg.GraphStore, tmp_path: Path) -> None:
    root = tiny_movielens(tmp_path / "data")
    report = run_import(store, "movielens", root, ImportOptions(batch_size=2))
    bad = {(Path(b.path).name, b.line) for b in report.bad_rows}
    assert bad == {
        ("u.item", 3), ("u.data", 3), ("ml-100k.kg", 7), ("movielens100k_details.csv", 4)
    }  # fmt: skip

    stats = store.stats()
    assert stats.nodes["Product"] == 3 and stats.nodes["User"] == 2
    assert stats.relationships["INTERACTED"] == 3
    assert stats.nodes["Category"] == 1 + len(GENRES)
    toy, postino, heat = store.products(["movie:1", "movie:2", "movie:4"])
    assert toy.description == "A cowboy doll is threatened."
    assert toy.image_ref == str((root / "movielens-100k-side/posters_ml1m_ids/1.jpg").resolve())
    assert heat.image_ref == "" and postino.description == ""
    assert toy.attribute_ids == ("attr:year=1995",)
    assert toy.popularity == 1.0  # one rating >= 4
    # every genre is a category: Heat is in Action and in Drama
    for cat in ("cat:action", "cat:drama"):
        found = store.candidates(kg.CandidateQuery(category_ids=(cat,)))
        assert "movie:4" in {c.product.id for c in found}
    assert {h.entity_id for h in store.fulltext("Il Postino", ["Product"])} == {"movie:2"}

    # the KG: linked mids are the products; the rest are entities
    rels = stats.relationships
    assert rels["FILM_FILM_DIRECTED_BY"] == 2 and rels["FILM_FILM_SEQUEL"] == 1
    assert rels["FILM_FILM_ACTOR"] == 1 and rels["FILM_ACTOR_FILM"] == 1
    paths = store.paths(["fb:m.pacino"], ["movie:4"], max_hops=1)
    assert paths["movie:4"][0].nodes[0].name == "Al Pacino"
    # a single Freebase director = the single IMDb director: one node, IMDb name, FB alias
    [lasseter] = store.fulltext("Lasseter", ["Entity"], k=5)
    assert (lasseter.entity_id, lasseter.name) == ("fb:m.lasseter", "John Lasseter")
    assert "约翰·拉塞特" in {
        e.surface for e in store.lexicon(["Entity"]) if e.entity_id == "fb:m.lasseter"
    }
    # IMDb people not in Freebase are person: entities; what Freebase says is not doubled
    assert "DIRECTED_BY" not in rels  # both directors are Freebase's
    assert rels["HAS_ACTOR"] == 3  # Hanks, Allen, De Niro (Pacino acts in Heat in Freebase)
    assert rels["WRITTEN_BY"] == 2  # Lasseter (the Freebase node) and Docter
    assert stats.nodes["Entity"] == 4 + 4  # lasseter mann pacino heat2; docter hanks allen de niro
    [mann] = store.fulltext("Michael Mann", ["Entity"], k=5)
    assert mann.entity_id == "fb:m.mann"
    assert not verify_graph(store)

    again = run_import(store, "movielens", root, ImportOptions(batch_size=2))
    assert store.stats() == stats
    assert (again.read, again.written) == (report.read, report.written)


def test_missing_side_files_are_optional(store: kg.GraphStore, tmp_path: Path) -> None:
    root = tiny_movielens(tmp_path / "data")
    report = run_import(store, "movielens", root / "movielens-100k", ImportOptions())
    assert report.sources["kg-triples"].written == 5
    import shutil

    shutil.rmtree(root / "movielens-100k-kg")
    shutil.rmtree(root / "movielens-100k-side")
    store.drop_all()
    store.init_schema()
    report = run_import(store, "movielens", root, ImportOptions())
    assert set(report.sources) == {"genres", "items", "users", "ratings"}
    assert store.stats().nodes.get("Entity") is None


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_DATA / "movielens-100k" / "u.data").is_file(),
                    reason=f"MovieLens-100K not found under {SHARED_DATA}")  # fmt: skip
def test_real_movielens(store: kg.GraphStore) -> None:
    report = run_import(store, "movielens", SHARED_DATA, ImportOptions(batch_size=25_000))
    assert not report.bad_rows
    stats = store.stats()
    assert stats.nodes["Product"] == 1682
    assert stats.nodes["User"] == 943
    assert stats.relationships["INTERACTED"] == 100_000
    kg_rels = sum(n for t, n in stats.relationships.items() if t.startswith("FILM_"))
    assert kg_rels >= 90_000
    assert not verify_graph(store)
