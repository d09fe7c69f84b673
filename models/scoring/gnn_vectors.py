"""Vectors the GNN scorer builds from rows of its item and entity matrices (pure functions).

:class:`models.scoring.gnn_scorer.GnnScorer`'s class docstring gives the maths: the session
feedback term ``f`` and a new item's vector ``h_new``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

__all__ = ["feedback_vector", "mean_rows", "new_item_vector"]


def mean_rows(matrix: Tensor, rows: Sequence[int]) -> Tensor | None:
    """Mean of ``matrix``'s ``rows`` (``None``: no rows)."""
    return matrix[torch.tensor(list(rows), device=matrix.device)].mean(0) if rows else None


def feedback_vector(
    items: Tensor,
    entities: Tensor,
    item_entity_rows: Mapping[int, list[int]],
    weighted_rows: Sequence[tuple[int, float]],
) -> Tensor | None:
    """``f = sum_j w_j v_j / max(1, sum_j |w_j|)`` over ``(item row, w_j)`` pairs, ``v_j``
    the unit item vector plus its KG entities' unit mean, normalised (``None``: no pair)."""
    if not weighted_rows:
        return None
    total = torch.zeros(items.shape[1], device=items.device)
    for row, weight in weighted_rows:
        v = nn.functional.normalize(items[row], dim=0)
        ent = mean_rows(entities, item_entity_rows.get(row, []))
        if ent is not None:
            v = nn.functional.normalize(v + nn.functional.normalize(ent, dim=0), dim=0)
        total += weight * v
    return total / max(1.0, sum(abs(w) for _, w in weighted_rows))


def new_item_vector(
    content: Tensor | None,
    entity_mean: Tensor | None,
    *,
    layer0_weight: float,
    cosine: bool,
    dim: int,
    device: torch.device,
) -> Tensor:
    """``h_new = a x0 + (1 - a) mean(entities)`` from whichever of the item's content
    vector ``x0`` and its entities' mean exists (zeros with neither), unit for a cosine
    model."""
    if content is not None and entity_mean is not None:
        vec = layer0_weight * content + (1 - layer0_weight) * entity_mean
    elif content is not None:
        vec = content
    elif entity_mean is not None:
        vec = entity_mean
    else:
        vec = torch.zeros(dim, device=device)
    return nn.functional.normalize(vec, dim=0) if cosine else vec
