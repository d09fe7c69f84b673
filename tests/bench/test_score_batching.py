"""bench.score_batching on a small random checkpoint: every arm prints, and the batched arm
answers what scoring each turn alone answers."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import torch

from bench.score_batching import main
from models.config import TrainConfig
from models.training.checkpoint import Checkpoint


def _data_dir(root: Path, n_users: int = 20, n_items: int = 300) -> Path:
    g = torch.Generator().manual_seed(0)
    seen = torch.stack(
        [torch.arange(n_users).repeat(8), torch.randint(0, n_items, (8 * n_users,), generator=g)], 1
    )
    Checkpoint(
        version="random",
        config=TrainConfig(),
        user_ids=[f"u{i}" for i in range(n_users)],
        item_ids=[f"p{i}" for i in range(n_items)],
        entity_ids=[],
        tensors={
            "users": torch.randn(n_users, 8, generator=g),
            "items": torch.randn(n_items, 8, generator=g),
            "entities": torch.zeros(0, 8),
            "item_popularity": torch.rand(n_items, generator=g),
            "seen": seen,
            "item_entities": torch.zeros(0, 2, dtype=torch.long),
        },
        state_dict={},
        created=time.time(),
    ).save(root / "models" / "ck")
    return root


def test_every_arm_prints_and_batched_turns_answer_as_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--data-dir", str(_data_dir(tmp_path)), "--threads", "1,4", "--turns", "40"]
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


def test_a_data_dir_without_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--data-dir", str(tmp_path)])
    assert exc.value.code == 2
