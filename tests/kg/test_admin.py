"""``kgrec graph`` end to end through :func:`kg.admin.main`.

Most tests talk to the session's embedded FalkorDB by ``--uri`` (a fresh graph each), so no
command pays for starting a server; one test goes through ``--data-dir`` of a live server
(the "already served" path) and a slow one starts and stops its own.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

import kg
from kg.admin import main
from kg.embedded import GRAPH_SUBDIR


@pytest.fixture
def target(falkordb_server: kg.EmbeddedFalkorDB) -> list[str]:
    """``--uri``/``--graph`` options naming a fresh graph; dropped afterwards."""
    graph = f"a{uuid.uuid4().hex[:12]}"
    yield ["--uri", falkordb_server.uri, "--graph", graph]
    store = kg.open_store(falkordb_server.uri, graph=graph)
    store.drop_all()
    store.close()


def products_file(tmp_path: Path, bad: bool = False) -> Path:
    rows = [
        {"id": "p1", "title": "Kettle", "category": "Kitchen", "brand": "Acme"},
        {"id": "p2", "title": "Mug", "category": "Kitchen", "attributes": {"color": "red"}},
    ]
    lines = [json.dumps(r) for r in rows] + (["{broken"] if bad else [])
    path = tmp_path / "products.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(["graph", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def stats_json(capsys: pytest.CaptureFixture[str], target: list[str]) -> dict[str, object]:
    rc, out, _ = run(capsys, "stats", "--json", *target)
    assert rc == 0
    return json.loads(out)


def test_init_import_stats_verify(
    capsys: pytest.CaptureFixture[str], target: list[str], tmp_path: Path
) -> None:
    assert run(capsys, "init", *target)[0] == 0
    src = products_file(tmp_path, bad=True)
    rc, out, _ = run(capsys, "import", "products", str(src), "--state-dir", str(tmp_path), *target)
    assert rc == 0
    assert "import products" in out and f"{src}:3: not JSON" in out
    stats = stats_json(capsys, target)
    assert stats["nodes"] == {"Attribute": 1, "Brand": 1, "Category": 1, "Product": 2}
    assert set(stats["degree"]) == {"min", "mean", "p50", "p99", "max"}
    rc, out, _ = run(capsys, "stats", *target)
    assert "IN_CATEGORY" in out and "product degree" in out
    rc, out, _ = run(capsys, "verify", *target)
    assert rc == 0 and out.startswith("ok:")


def test_strict_import_exits_1_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], target: list[str], tmp_path: Path
) -> None:
    src = products_file(tmp_path, bad=True)
    rc, out, err = run(capsys, "import", "products", str(src), "--strict", *target)
    assert rc == 1 and "nothing was written" in err and ":3:" in out
    assert stats_json(capsys, target)["nodes"] == {}


def test_verify_lists_problems_and_exits_1(
    capsys: pytest.CaptureFixture[str], target: list[str], falkordb_server: kg.EmbeddedFalkorDB
) -> None:
    store = kg.open_store(falkordb_server.uri, graph=target[-1])
    store.upsert_products([{"id": "lost", "title": "No category"}])
    store.close()
    rc, out, err = run(capsys, "verify", *target)
    assert rc == 1
    assert "FAIL products without category: 1 (e.g. lost)" in out and "checks failed" in err


def test_export_drop_import_round_trip(
    capsys: pytest.CaptureFixture[str], target: list[str], tmp_path: Path
) -> None:
    run(capsys, "import", "products", str(products_file(tmp_path)), *target)
    events = tmp_path / "events.csv"
    events.write_text("u1,p1,purchase,1,10\nu2,p2,rating,5,11\n")
    run(capsys, "import", "interactions", str(events), *target)
    before = stats_json(capsys, target)
    out_file = tmp_path / "graph.jsonl"

    rc, out, _ = run(capsys, "export", str(out_file), *target)
    assert before["nodes"] == {"Attribute": 1, "Brand": 1, "Category": 1, "Product": 2, "User": 2}
    assert rc == 0 and "exported 7 nodes and 6 relationships" in out
    rc, _, err = run(capsys, "export", str(out_file), *target)
    assert rc == 2 and "--force" in err  # never overwrites by surprise
    assert run(capsys, "drop", "--yes", *target)[0] == 0
    assert stats_json(capsys, target)["nodes"] == {}
    rc, out, _ = run(capsys, "import", "export", str(out_file), *target)
    assert rc == 0
    assert stats_json(capsys, target) == before


def test_drop_asks_first(
    capsys: pytest.CaptureFixture[str],
    target: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run(capsys, "import", "products", str(products_file(tmp_path)), *target)
    rc, _, err = run(capsys, "drop", *target)  # pytest's stdin is no terminal
    assert rc == 2 and "refusing to drop the graph without --yes" in err
    assert stats_json(capsys, target)["nodes"]

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    rc, out, _ = run(capsys, "drop", *target)
    assert rc == 1 and "not dropped" in out and stats_json(capsys, target)["nodes"]

    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    assert run(capsys, "drop", *target)[0] == 0
    assert stats_json(capsys, target)["nodes"] == {}


def test_drop_forgets_interrupted_imports(
    capsys: pytest.CaptureFixture[str], target: list[str], tmp_path: Path
) -> None:
    checkpoint = tmp_path / "import-checkpoint.json"
    checkpoint.write_text('{"products|products|/x|y": {"position": 3, "fingerprint": "1:2"}}')
    run(capsys, "drop", "--yes", "--state-dir", str(tmp_path), *target)
    assert not checkpoint.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["import", "products", "/no/such/file.jsonl"], "does not exist"),
        (["import", "movielens", __file__], "movielens takes a directory"),
        (["import", "triples", str(Path(__file__).parent)], "triples takes a file"),
        (["import", "products", __file__, "--batch-size", "0"], "--batch-size: must be >= 1"),
        (["export", str(Path(__file__).parent)], "exists"),
    ],
)
def test_bad_arguments_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], target: list[str], argv: list[str], message: str
) -> None:
    rc, out, err = run(capsys, *argv, *target)
    assert rc == 2 and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_unknown_kind_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["graph", "import", "videos", "x"])
    assert exc.value.code == 2
    assert "invalid choice: 'videos'" in capsys.readouterr().err


def test_unreachable_store_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(capsys, "stats", "--uri", "falkordb://127.0.0.1:1")
    assert rc == 2 and err.startswith("kgrec: error:") and "Traceback" not in err


def test_a_served_data_dir_is_used_through_its_server(
    capsys: pytest.CaptureFixture[str], falkordb_server: kg.EmbeddedFalkorDB, tmp_path: Path
) -> None:
    graph = f"d{uuid.uuid4().hex[:12]}"
    assert falkordb_server.data_dir.name == GRAPH_SUBDIR  # laid out like a kgrec data dir
    opts = ["--data-dir", str(falkordb_server.data_dir.parent), "--graph", graph]
    try:
        rc, out, _ = run(capsys, "import", "products", str(products_file(tmp_path)), *opts)
        assert rc == 0
        store = kg.open_store(falkordb_server.uri, graph=graph)
        assert store.stats().nodes["Product"] == 2
    finally:
        store.drop_all()
        store.close()


@pytest.mark.slow
def test_embedded_default_starts_and_stops_its_own_server(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data_dir = tmp_path / "db"
    src = products_file(tmp_path)
    rc, _, _ = run(capsys, "import", "products", str(src), "--data-dir", str(data_dir))
    assert rc == 0
    assert not (data_dir / GRAPH_SUBDIR / "falkordb.pid").exists()  # stopped again
    assert (data_dir / GRAPH_SUBDIR).is_dir()  # where `kgrec serve` looks for it
    rc, out, _ = run(capsys, "stats", "--json", "--data-dir", str(data_dir))
    assert json.loads(out)["nodes"]["Product"] == 2  # persisted across the restart


def test_import_inspired_with_a_movie_list(
    capsys: pytest.CaptureFixture[str], target: list[str], tmp_path: Path
) -> None:
    """``--movie-list``: the list's titles join the dialogues' (one item per title); only the
    inspired kind takes one."""
    tsv = tmp_path / "dialog.tsv"
    tsv.write_text(
        "dialog_id\tutt_id\tspeaker\ttext\tmovies\tmovie_dict\n"
        "d1\t1\tRECOMMENDER\tTry Up\tUp (2009)\t{}\n"
    )
    movies = tmp_path / "movies.csv"
    movies.write_text("movieId,movieName\n1,Up (2009)\n2,Alien  (1979)\n")
    rc, out, _ = run(capsys, "import", "inspired", str(tsv), "--movie-list", str(movies), *target)
    assert rc == 0 and "movie list" in out
    assert stats_json(capsys, target)["nodes"] == {"Product": 2}
    rc, _, err = run(capsys, "import", "products", str(tsv), "--movie-list", str(movies), *target)
    assert rc != 0 and "--movie-list" in err
