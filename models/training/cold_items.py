"""Vectors for items with no training interaction: a ridge map from text to the CF space.

An item nobody interacted with in training is only ever a softmax negative, so training
leaves it far from every user (and ``GnnScorer.add_item``'s content vector is not in the
region of the warm items either). With ``TrainConfig.cold_item_map`` the trainer fits, on the
items that do have training interactions, a ridge regression from the item's text embedding
``x`` (the frozen MiniLM vector the model was trained with) to its final trained vector
``h``,

.. math::
    W = \\arg\\min_W \\lVert (X - \\mu) W - H \\rVert^2 + \\lambda \\lVert W \\rVert^2
      = \\big((X-\\mu)^\\top (X-\\mu) + \\lambda I\\big)^{-1} (X-\\mu)^\\top H,

and serves a cold item (no training interaction, or added later through ``add_item``) as
``c * normalize((x - mu) W)``: the direction in which warm items with similar text lie, scaled
by ``c = TrainConfig.cold_item_scale`` so that a new item's score against a user is below a warm
item's of the same direction (``c`` trades new items' reach against warm ranking quality).
``W`` and ``mu`` are saved in the checkpoint (``cold_map``, ``cold_map_mean``) so the served
scorer embeds new items the same way.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["cold_item_vectors", "fit_cold_map"]


def fit_cold_map(x: Tensor, h: Tensor, ridge: float) -> tuple[Tensor, Tensor]:
    """``(W (F, d), mu (F,))`` of the module docstring from warm items' text ``x (n, F)`` and
    final vectors ``h (n, d)``; ``ridge`` is ``lambda``."""
    if len(x) == 0:
        raise ValueError("no warm item with text to fit the cold-item map on")
    x, h = x.double(), h.double()
    mu = x.mean(0)
    xc = x - mu
    gram = xc.T @ xc + ridge * torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
    weight = torch.linalg.solve(gram, xc.T @ h)
    return weight.float(), mu.float()


def cold_item_vectors(x: Tensor, weight: Tensor, mu: Tensor, scale: float) -> Tensor:
    """``scale * normalize((x - mu) W)`` for text embeddings ``x (n, F)``: ``(n, d)``."""
    return scale * nn.functional.normalize((x.float() - mu) @ weight, dim=-1)
