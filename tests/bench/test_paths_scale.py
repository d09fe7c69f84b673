"""bench.paths_scale: its table against a real embedded FalkorDB, and that shoppers never
become a path's node whatever their count."""

from __future__ import annotations

import pytest

from bench.paths_scale import main


def test_prints_a_row_per_count_with_the_same_paths(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--shoppers", "0,30", "--reps", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in out if line.split() and line.split()[1] == "today"]
    assert [r[0] for r in rows] == ["0", "30"]
    assert rows[0][-1] == rows[1][-1] != "0"  # the shoppers add no path
