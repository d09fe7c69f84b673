"""bench.filter_select on a small demo catalog: the snapshot agrees with the graph, and the
writes-during-read check prints both pagings and leaves nothing behind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import kg
from bench.filter_select import main
from kg.demo import load_demo
from kg.embedded import GRAPH_SUBDIR


@pytest.mark.slow
def test_snapshot_queries_agree_and_writes_are_timed_during_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with kg.EmbeddedFalkorDB(tmp_path / GRAPH_SUBDIR) as db:
        store = kg.open_store(db.uri)
        store.init_schema()
        load_demo(store, tmp_path, seed=3, n_products=150, n_users=30, progress=False)
        store.close()
    assert main(["--data-dir", str(tmp_path), "--queries", "20", "--writes-during-read"]) == 0
    out = capsys.readouterr().out
    assert "queries whose ids differ: 0" in out
    for label in ("as served", "50,000-product pages by p.id"):
        assert re.search(
            rf"^  {re.escape(label)} +150 rows in [\d.]+ s; \d+ writes meanwhile: median", out, re.M
        ), out
    with kg.EmbeddedFalkorDB(tmp_path / GRAPH_SUBDIR) as db:
        store = kg.open_store(db.uri)
        assert store._read("MATCH (n:BenchFilterSelectScratch) RETURN n") == []  # type: ignore[attr-defined]
        store.close()
