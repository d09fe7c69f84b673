"""Evaluating a saved checkpoint on a dataset split."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from kgrec.errors import ConfigError
from models.data.rec_dataset import RecDataset
from models.metrics import DEFAULT_KS, rating_errors, scored_metrics
from models.training.checkpoint import Checkpoint
from models.training.item_item import ItemItem, blended_scores

logger = logging.getLogger(__name__)

__all__ = ["evaluate_checkpoint"]


def _calibrated_rating_errors(
    users: torch.Tensor, items: torch.Tensor, dataset: RecDataset, split: str
) -> dict[str, float] | None:
    """RMSE/MAE of ``a * score + b`` fitted by least squares on the training ratings.

    The recommenders are trained on implicit feedback; this linear calibration is the
    simplest honest way to read a rating off their scores. ``None`` without ratings.
    """
    train_r = dataset.pair_ratings.get("train")
    eval_r = dataset.pair_ratings.get(split)
    if train_r is None or eval_r is None:
        return None
    pairs = {"train": dataset.train, "valid": dataset.valid, "test": dataset.test}

    def scores(p: np.ndarray) -> np.ndarray:
        u = users[torch.from_numpy(p[:, 0])]
        i = items[torch.from_numpy(p[:, 1])]
        return (u * i).sum(-1).numpy().astype(np.float64)

    ok_train = ~np.isnan(train_r)
    ok_eval = ~np.isnan(eval_r)
    if ok_train.sum() < 2 or ok_eval.sum() == 0:
        return None
    x = scores(pairs["train"][ok_train])
    design = np.stack([x, np.ones_like(x)], 1)
    (a, b), *_ = np.linalg.lstsq(design, train_r[ok_train], rcond=None)
    predicted = np.clip(a * scores(pairs[split][ok_eval]) + b, 1.0, 5.0)
    return rating_errors(predicted, eval_r[ok_eval])


def evaluate_checkpoint(
    checkpoint: Checkpoint, dataset: RecDataset, split: str = "test", ks=DEFAULT_KS
) -> dict[str, Any]:
    """Full-ranking metrics of the checkpoint's precomputed embeddings (and item-item term,
    ``models.training.item_item``) on ``split``, as the served scorer ranks for these users.

    Items seen before the split are excluded (train; plus valid for ``test``), as the split
    README specifies. Ids are matched by name, so the dataset must be the one trained on.
    """
    if split not in ("valid", "test"):
        raise ConfigError(f"unknown split {split!r}; valid: test, valid")
    if checkpoint.user_ids != dataset.user_ids or checkpoint.item_ids != dataset.item_ids:
        raise ConfigError("the checkpoint was trained on different users/items than this dataset")
    users = checkpoint.tensors["users"].float()
    items = checkpoint.tensors["items"].float()
    eval_pairs = dataset.valid if split == "valid" else dataset.test
    seen = [dataset.train] if split == "valid" else [dataset.train, dataset.valid]
    term = ItemItem.from_tensors(checkpoint.tensors, checkpoint.extra)
    scores_of = blended_scores(users, items, term, dataset.train)  # as served to these users
    result: dict[str, Any] = dict(
        scored_metrics(scores_of, dataset.num_users, dataset.num_items, eval_pairs, seen, ks)
    )
    errors = _calibrated_rating_errors(users, items, dataset, split)
    if errors is not None:
        result.update(errors)
    return result
