"""bench.score_batching on a small random checkpoint: every arm prints, and the batched arm
answers what scoring each turn alone answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.score_batching import main, random_checkpoint


def test_every_arm_prints_and_batched_turns_answer_as_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = random_checkpoint(tmp_path, 300, n_users=20, dim=8)
    argv = ["--data-dir", str(data_dir), "--threads", "1,4", "--turns", "40"]
    assert main([*argv, "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "300 items, 40 turns per arm" in out and "score batching off" in out
    rows = re.findall(r"^ +(\d+) +(\w+) +(\d+) +([\d.]+) +([\d.]+) +([\d.]+) +(\S+)$", out, re.M)
    assert [(r[0], r[1]) for r in rows] == [
        (t, arm) for t in ("1", "4") for arm in ("exact", "index", "batched")
    ]
    for threads, arm, rate, _, mean, overlap, diff in rows:
        assert int(rate) > 0 and float(overlap) == 1.0 and float(diff) < 1e-4, (arm, threads)
        # one thread: every batch holds its one turn; arms without a batcher print 1 too
        if threads == "1" or arm != "batched":
            assert float(mean) == 1.0, (arm, threads)


def test_bad_arguments_and_a_data_dir_without_a_model_are_refused(tmp_path: Path) -> None:
    for argv in (["--random-items", "1"], [], ["--data-dir", "d", "--threads", "0"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
    assert main(["--data-dir", str(tmp_path)]) == 2


def test_a_random_catalogue_needs_no_data_dir(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--random-items", "500", "--threads", "2", "--turns", "8", "--device", "cpu"]) == 0
    assert "500 items, 8 turns per arm" in capsys.readouterr().out
