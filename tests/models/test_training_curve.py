"""The trainer records a valid curve: epoch, cumulative optimizer steps and training seconds,
valid NDCG@10 at every validation (the cost of reaching a valid NDCG is read from it)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.config import EncoderConfig, ModelConfig, TrainConfig
from models.data import RecDataset
from models.training import Checkpoint, train_model
from models.training.trainer import valid_curve

USERS, ITEMS = 12, 10


def _dataset() -> RecDataset:
    """Random interactions, no KG and no item content (so no encoder runs)."""
    rng = np.random.default_rng(0)
    pairs = np.array(
        sorted({(int(u), int(i)) for u, i in rng.integers(0, [USERS, ITEMS], (90, 2))})
    )
    valid_rows = rng.random(len(pairs)) < 0.2
    empty = np.zeros((0, 3), np.int64)
    return RecDataset(
        name="synthetic",
        user_ids=[f"u{u}" for u in range(USERS)],
        item_ids=[f"i{i}" for i in range(ITEMS)],
        entity_ids=[],
        relations=[],
        train=pairs[~valid_rows],
        valid=pairs[valid_rows],
        test=np.zeros((0, 2), np.int64),
        item_entity=empty,
        entity_entity=empty,
        item_texts=[""] * ITEMS,
        item_images=[None] * ITEMS,
        rating_rows=(np.zeros(0, np.int64), np.zeros(0), np.zeros(0)),
    )


def _config(**changes: object) -> TrainConfig:
    return TrainConfig(
        model=ModelConfig(dim=4, num_layers=1, use_kg=False),
        encoder=EncoderConfig(use_text=False, use_image=False, use_rating=False),
        batch_size=16,
        eval_every=2,
        epochs=5,
        patience=100,
        device="cpu",
    ).with_changes(**changes)


def test_curve_counts_steps_and_seconds_at_each_validation(tmp_path: Path) -> None:
    dataset = _dataset()
    result = train_model(dataset, _config(), tmp_path, progress=False)
    per_epoch = -(-len(dataset.train) // 16)
    curve = result.valid_curve
    # validations at eval_every and at the last epoch
    assert [p["epoch"] for p in curve] == [2, 4, 5]
    assert [p["steps"] for p in curve] == [2 * per_epoch, 4 * per_epoch, 5 * per_epoch]
    assert [h["steps"] for h in result.history] == [k * per_epoch for k in range(1, 6)]
    seconds = [h["train_seconds"] for h in result.history]
    assert seconds == pytest.approx(np.cumsum([h["seconds"] for h in result.history]).tolist())
    assert [p["train_seconds"] for p in curve] == [seconds[1], seconds[3], seconds[4]]
    ndcg = {h["epoch"]: h["valid_ndcg@10"] for h in result.history if "valid_ndcg@10" in h}
    assert [p["valid_ndcg@10"] for p in curve] == [ndcg[2], ndcg[4], ndcg[5]]
    assert result.feature_seconds >= 0.0
    # the checkpoint keeps the curve and the feature seconds beside the history
    meta = json.loads((result.checkpoint_dir / "meta.json").read_text())
    extra = Checkpoint.load(result.checkpoint_dir).extra
    assert extra["valid_curve"] == curve
    assert extra["feature_seconds"] == pytest.approx(result.feature_seconds)
    assert "valid_curve" in json.dumps(meta)


def test_resumed_run_keeps_counting_steps(tmp_path: Path) -> None:
    dataset = _dataset()
    first = train_model(dataset, _config(max_seconds=0.0), tmp_path, progress=False)
    assert [h["epoch"] for h in first.history] == [1]
    resumed = train_model(dataset, _config(), tmp_path, resume=True, progress=False)
    whole = train_model(dataset, _config(), tmp_path / "whole", progress=False)
    assert [h["steps"] for h in resumed.history] == [h["steps"] for h in whole.history]
    assert resumed.valid_curve[0]["epoch"] == 1  # the cut-short epoch was validated


def test_history_without_steps_gives_no_points() -> None:
    old = [{"epoch": 1, "loss": 1.0, "seconds": 0.1, "valid_ndcg@10": 0.1}]
    assert valid_curve(old) == []
