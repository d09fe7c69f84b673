"""``bench.crs_gap --read AFTER --paired-with BEFORE``: served recall differences, paired."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import crs_gap

MISS = 1_000_000_000


def _write(path: Path, served_ranks: list[int]) -> Path:
    rows = [
        {"target": f"m{i}", "repeat": False, "ranks": [r] * len(crs_gap.STAGES), "causes": []}
        for i, r in enumerate(served_ranks)
    ]
    path.write_text(json.dumps(rows))
    return path


def test_paired_difference_counts_samples_moving_in_and_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _write(tmp_path / "before.json", [3, 20, 60, MISS])
    after = _write(tmp_path / "after.json", [3, 5, 40, 12])
    assert crs_gap.main(["--read", str(after), "--paired-with", str(before)]) == 0
    out = capsys.readouterr().out
    assert "served R@10: 0.2500 -> 0.5000, +0.2500 [" in out and "(1 up, 0 down)" in out
    assert "served R@50: 0.5000 -> 1.0000, +0.5000 [" in out and "(2 up, 0 down)" in out


def test_paired_refuses_different_samples(tmp_path: Path) -> None:
    before = _write(tmp_path / "before.json", [3, 20])
    after = _write(tmp_path / "after.json", [3])
    with pytest.raises(SystemExit, match="different samples"):
        crs_gap.main(["--read", str(after), "--paired-with", str(before)])
