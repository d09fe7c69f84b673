"""Frozen per-item inputs of the fusion: one ``(x, mask)`` pair per modality."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

__all__ = ["ItemFeatures"]


@dataclass(slots=True)
class ItemFeatures:
    """Per-modality feature matrices for ``N`` items.

    ``modalities[name] = (x, mask)`` with ``x`` float32 ``(N, d_name)`` and ``mask`` bool
    ``(N,)``: ``mask[i]`` is False when item ``i`` has no such input (no image, no text,
    never rated). Rows with ``mask = False`` are ignored by the fusion, never read as data.
    """

    num_items: int
    modalities: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def add(self, name: str, x: np.ndarray, mask: np.ndarray) -> None:
        if x.shape[0] != self.num_items or mask.shape != (self.num_items,):
            raise ValueError(f"{name}: expected {self.num_items} rows, got {x.shape}/{mask.shape}")
        self.modalities[name] = (np.asarray(x, dtype=np.float32), np.asarray(mask, dtype=bool))

    @property
    def dims(self) -> dict[str, int]:
        return {name: int(x.shape[1]) for name, (x, _) in self.modalities.items()}

    def coverage(self) -> dict[str, float]:
        """Fraction of items that have each modality."""
        return {
            name: float(m.mean()) if len(m) else 0.0 for name, (_, m) in self.modalities.items()
        }

    def tensors(self, device: torch.device | str = "cpu") -> dict[str, tuple[Tensor, Tensor]]:
        return {
            name: (torch.from_numpy(x).to(device), torch.from_numpy(m).to(device))
            for name, (x, m) in self.modalities.items()
        }
