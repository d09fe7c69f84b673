"""What a trained model leaves on disk, and reading it back."""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from kgrec.errors import ConfigError
from models.config import TrainConfig

from .checkpoint_dir import META, checkpoints, latest_checkpoint

logger = logging.getLogger(__name__)

__all__ = ["Checkpoint", "checkpoints", "forget_user", "latest_checkpoint"]

IDS = "ids.json"
TENSORS = "embeddings.pt"
MODEL = "model.pt"


@dataclass(slots=True)
class Checkpoint:
    """A trained model: version, config, id maps, precomputed final embeddings, weights.

    Layout of the directory::

        meta.json        version, created (unix s), config, metrics, feature dims, timings
        ids.json         {"users": [...], "items": [...], "entities": [...]}  (row order)
        embeddings.pt    users (U, d), items (I, d), entities (E, d) final vectors;
                         item_popularity (I,); seen (n, 2) train [user, item] pairs;
                         item_entities (m, 2) [item, entity] KG links
        model.pt         the model's state dict (fusion weights embed new items)
    """

    version: str
    config: TrainConfig
    user_ids: list[str]
    item_ids: list[str]
    entity_ids: list[str]
    tensors: dict[str, Tensor]
    state_dict: dict[str, Tensor]
    feature_dims: dict[str, int] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    created: float = field(default_factory=time.time)

    def save(self, directory: Path) -> Path:
        """Write atomically: into ``<dir>.tmp`` then rename, so readers never see half a model."""
        directory = Path(directory)
        tmp = directory.with_name(directory.name + f".tmp{os.getpid()}")
        tmp.mkdir(parents=True, exist_ok=False)
        meta = {
            "version": self.version,
            "created": self.created,
            "config": self.config.to_dict(),
            "feature_dims": self.feature_dims,
            "metrics": self.metrics,
            **self.extra,
        }
        (tmp / META).write_text(json.dumps(meta, indent=2, sort_keys=True))
        ids = {"users": self.user_ids, "items": self.item_ids, "entities": self.entity_ids}
        (tmp / IDS).write_text(json.dumps(ids))
        torch.save({k: v.detach().cpu() for k, v in self.tensors.items()}, tmp / TENSORS)
        torch.save({k: v.detach().cpu() for k, v in self.state_dict.items()}, tmp / MODEL)
        os.replace(tmp, directory)
        logger.info("saved checkpoint %s to %s", self.version, directory)
        return directory

    @classmethod
    def load(cls, directory: Path | str) -> Checkpoint:
        directory = Path(directory)
        try:
            meta = json.loads((directory / META).read_text())
            ids = json.loads((directory / IDS).read_text())
            tensors = torch.load(directory / TENSORS, map_location="cpu", weights_only=True)
            state = torch.load(directory / MODEL, map_location="cpu", weights_only=True)
        except (OSError, ValueError, RuntimeError) as e:
            raise ConfigError(f"cannot read checkpoint {directory}: {e}") from e
        known = {"version", "created", "config", "feature_dims", "metrics"}
        return cls(
            version=meta["version"],
            config=TrainConfig.from_dict(meta["config"]),
            user_ids=ids["users"],
            item_ids=ids["items"],
            entity_ids=ids["entities"],
            tensors=tensors,
            state_dict=state,
            feature_dims=meta.get("feature_dims", {}),
            metrics=meta.get("metrics", {}),
            extra={k: v for k, v in meta.items() if k not in known},
            created=float(meta.get("created", 0.0)),
        )


#: What a forgotten user's id becomes in ``ids.json`` (the row order must not change).
FORGOTTEN_PREFIX = "forgotten:"


def _replace_file(path: Path, write: Any) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)


def forget_user(directory: Path | str, user_id: str) -> int:
    """Remove ``user_id``'s profile from one checkpoint; returns 1 if it held one, else 0.

    The user's vector (final embedding and the learned ``user_emb`` row) is zeroed, their
    training pairs are dropped from ``seen``, and their id in ``ids.json`` becomes
    ``forgotten:<row>`` (row order is the tensors' order, so it stays). Each file is replaced
    atomically. Item vectors still carry what training learned from everyone's interactions
    in aggregate; only retraining without the user's events removes that. A server that has
    this checkpoint loaded keeps its in-memory copy until it is restarted.
    """
    directory = Path(directory)
    try:
        ids = json.loads((directory / IDS).read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read checkpoint {directory}: {e}") from e
    users: list[str] = ids["users"]
    if user_id not in users:
        return 0
    row = users.index(user_id)
    tensors = torch.load(directory / TENSORS, map_location="cpu", weights_only=True)
    tensors["users"][row] = 0
    seen = tensors.get("seen")
    if seen is not None and len(seen):
        tensors["seen"] = seen[seen[:, 0] != row]
    state = torch.load(directory / MODEL, map_location="cpu", weights_only=True)
    for key, value in state.items():
        if key.startswith("user_emb") and value.dim() == 2 and value.shape[0] == len(users):
            value[row] = 0
    users[row] = f"{FORGOTTEN_PREFIX}{row}"
    _replace_file(directory / TENSORS, lambda p: torch.save(tensors, p))
    _replace_file(directory / MODEL, lambda p: torch.save(state, p))
    _replace_file(directory / IDS, lambda p: p.write_text(json.dumps(ids)))
    logger.info("forgot one user's profile in checkpoint %s", directory.name)
    return 1
