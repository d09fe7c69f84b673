"""New-item vectors as the served scorer makes them, for the item cold-start benchmark.

A trained kgrec model gives an item that had no training interaction a vector that the
softmax has only ever pushed away from users (it was a negative, never a positive). The
product does not serve such items from that vector: ``models.scoring.GnnScorer.add_item``
embeds a new item from its content and KG links without retraining,

.. math::
    v = \\operatorname{normalize}\\big(a\\,\\mathrm{Fusion}(x_i)
        + (1 - a)\\,\\tfrac{1}{|N(i)|}\\textstyle\\sum_{e \\in N(i)} h_e\\big),
    \\qquad a = 1 / (K + 1),

with ``Fusion`` the trained modality fusion over the item's text/image/rating features,
``h_e`` the final (unit) vectors of the KG entities the item links to, ``K`` the number of
layers (``checkpoint.extra["layer0_weight"]``); either term alone when the other is missing.
A checkpoint trained with ``TrainConfig.cold_item_map`` embeds a new item with text by its
ridge map instead (``models.training.cold_items``), as ``add_item`` then does.
:func:`add_item_vectors` applies that recipe to chosen items of a checkpoint, from the same
features the model was trained on, so the benchmark measures the product's cold-start path.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from models.encoders.modality_fusion import ModalityFusion
from models.training import Checkpoint
from models.training.cold_items import cold_item_vectors

__all__ = ["add_item_vectors"]

FeatureTensors = dict[str, tuple[Tensor, Tensor]]


@torch.no_grad()
def add_item_vectors(checkpoint: Checkpoint, features: FeatureTensors, items: np.ndarray) -> Tensor:
    """The checkpoint's ``(I, d)`` item vectors with the rows ``items`` re-embedded by the
    ``GnnScorer.add_item`` recipe (module docstring). ``features``: the item features the
    model was trained with (``RecDataset.item_features(config.encoder).tensors()``)."""
    out = checkpoint.tensors["items"].float().clone()
    if "cold_map" in checkpoint.tensors and "text" in features:
        x, has = features["text"]
        rows = torch.from_numpy(np.asarray(items, dtype=np.int64))
        with_text = has.reshape(len(has), -1).any(1)[rows]
        scale = checkpoint.config.cold_item_scale
        t = checkpoint.tensors
        mapped = rows[with_text]
        out[mapped] = cold_item_vectors(x[mapped], t["cold_map"], t["cold_map_mean"], scale)
        items = rows[~with_text].numpy()  # the rest by the recipe below
    entities = checkpoint.tensors["entities"].float()
    a = float(checkpoint.extra.get("layer0_weight", 0.5))
    content: Tensor | None = None
    if checkpoint.feature_dims:
        fusion = ModalityFusion(checkpoint.feature_dims, checkpoint.config.model.dim)
        prefix = "fusion."
        fusion.load_state_dict(
            {k[len(prefix) :]: v for k, v in checkpoint.state_dict.items() if k.startswith(prefix)}
        )
        fusion.eval()
        content = fusion({k: v for k, v in features.items() if k in checkpoint.feature_dims})
    links = checkpoint.tensors.get("item_entities")
    by_item: dict[int, list[int]] = {}
    if links is not None and len(links):
        for item, entity in links.tolist():
            by_item.setdefault(int(item), []).append(int(entity))
    for item in np.asarray(items).tolist():
        rows = by_item.get(int(item), [])
        ent = entities[torch.tensor(rows)].mean(0) if rows and len(entities) else None
        vec = torch.zeros(out.shape[1])
        if content is not None and ent is not None:
            vec = a * content[item] + (1 - a) * ent
        elif content is not None:
            vec = content[item]
        elif ent is not None:
            vec = ent
        if checkpoint.config.cosine:
            vec = nn.functional.normalize(vec, dim=0)
        out[item] = vec
    return out
