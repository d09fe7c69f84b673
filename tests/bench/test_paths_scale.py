"""bench.paths_scale: its table against a real embedded FalkorDB, and that shoppers never
become a path's node whatever their count."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench.paths_scale import main, query_at
from kg import queries

ROOT = Path(__file__).resolve().parents[2]


def test_prints_a_row_per_count_with_the_same_paths(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--shoppers", "0,30", "--reps", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in out if line.split() and line.split()[1] == "today"]
    assert [r[0] for r in rows] == ["0", "30"]
    assert rows[0][-1] == rows[1][-1] != "0"  # the shoppers add no path


@pytest.mark.skipif(
    subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True).returncode != 0,
    reason="not a git checkout: no revisions",
)
def test_before_reads_the_query_from_where_the_revision_kept_it() -> None:
    """Since the path builders moved to ``kg/queries/paths.py``, ``--before`` finds them there
    (``kg/queries/read.py`` at older revisions)."""
    old = query_at("HEAD")
    assert old.__code__.co_filename == "HEAD:kg/queries/paths.py"
    assert old(["cat:1"], ["prod:1"], 2) == queries.paths_one_trip(["cat:1"], ["prod:1"], 2)
