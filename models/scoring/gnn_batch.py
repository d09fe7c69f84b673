"""Several turns' GNN catalogue scores at once: two matrix products for a batch of turns.

:class:`models.scoring.gnn_scorer.GnnScorer` scores a turn as a sum of catalogue-z-scored
terms: ``z(H @ h_u)`` over the raw item matrix ``H``, then the user's item-item term, then
``z(Ĥ @ s)`` and ``z(Ĥ @ p)`` over the row-normalised one (its class docstring). For a batch
the user vectors are stacked into one product with ``H`` and the session and profile vectors
into one with ``Ĥ``; each row is z-scored over the catalogue and the terms are summed in the
one-turn order, so each turn gets the scores it would alone (up to the products' rounding).
Served through :class:`models.scoring.dynamic_batcher.DynamicBatcher` on a GPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from models.training.item_item import standardize

__all__ = ["TurnTerms", "batch_catalogue_scores"]

#: One turn's ``(h_u, s, p, item-item term)``; ``None`` for each it does not have.
TurnTerms = tuple[Tensor | None, Tensor | None, Tensor | None, Tensor | None]


def _z_products(matrix: Tensor, vectors: list[Tensor]) -> list[Tensor]:
    """``z(matrix @ v)`` ``(I,)`` for each of ``vectors``, one matrix product for all."""
    products = torch.stack(vectors) @ matrix.T  # (B, I)
    if products.device.type == "cpu":  # torch's CPU z-score of a (B, I) tensor's rows is
        return [standardize(row) for row in products]  # ~3x slower than row by row
    return list(standardize(products))


@torch.inference_mode()
def batch_catalogue_scores(
    items: Tensor, unit: Tensor, popularity: Tensor, turns: Sequence[TurnTerms]
) -> list[Tensor]:
    """Each turn's scores ``(I,)`` over ``items`` ``(I, d)`` (``unit``: the same rows
    L2-normalised; ``popularity`` ``(I,)``): its terms' z-scores summed, or the z-scored
    log-popularity for a turn with no term."""
    totals: list[Tensor | None] = [None] * len(turns)
    users = [(b, t[0]) for b, t in enumerate(turns) if t[0] is not None]
    if users:
        for (b, _), row in zip(users, _z_products(items, [u for _, u in users]), strict=True):
            totals[b] = row
    for b, (_, _, _, history) in enumerate(turns):
        if history is not None and (total := totals[b]) is not None:
            total += history
    unit_terms = [(b, v) for b, t in enumerate(turns) for v in (t[1], t[2]) if v is not None]
    if unit_terms:
        z = _z_products(unit, [v for _, v in unit_terms])
        for (b, _), row in zip(unit_terms, z, strict=True):
            total = totals[b]
            totals[b] = row if total is None else total + row
    fallback = None
    out: list[Tensor] = []
    for total in totals:
        if total is None:
            if fallback is None:
                fallback = standardize(torch.log1p(popularity))
            total = fallback
        out.append(total)
    return out
