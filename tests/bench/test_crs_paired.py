"""``bench.crs_bench --ranks-out / --paired-with``: two runs' rows compared sample by sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.crs_paired import paired_lines, paired_recall, save_ranks
from server.replay import Tally


def _tally(ranks: list[int | None], per_dialogue: list[int]) -> Tally:
    t = Tally()
    for r in ranks:
        t.add_sample(r, False)
    t.per_dialogue = per_dialogue
    return t


def test_the_difference_is_the_recall_difference_and_its_interval_holds_it(
    tmp_path: Path,
) -> None:
    before = _tally([3, 20, 60, None, 8, 70], [2, 2, 2])
    after = _tally([3, 5, 40, 12, 8, 9], [2, 2, 2])
    path = tmp_path / "ranks.json"
    save_ranks(path, "redial", {"offline": before})
    saved = json.loads(path.read_text())["redial"]["offline"]
    d, low, high = paired_recall(after, saved, 10)
    assert d == pytest.approx(after.recall(10) - before.recall(10)) == pytest.approx(2 / 6)
    assert low <= d <= high
    assert paired_recall(before, saved, 50) == (0.0, 0.0, 0.0)  # a run against itself


def test_lines_name_shared_rows_and_other_samples_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "ranks.json"
    save_ranks(path, "redial", {"offline": _tally([1, 2], [2])})
    save_ranks(path, "inspired", {"offline": _tally([1], [1])})  # both datasets kept
    lines = paired_lines(path, "redial", {"offline": _tally([1, 30], [2]), "new": _tally([], [])})
    assert len(lines) == 2 and lines[1].split()[0] == "offline" and "R@10 -0.5000" in lines[1]
    assert "R@50 +0.0000" in lines[1]
    assert "no row" in paired_lines(path, "redial", {"other": _tally([1], [1])})[0]
    with pytest.raises(ValueError, match="same samples"):
        paired_lines(path, "inspired", {"offline": _tally([1, 2], [2])})
