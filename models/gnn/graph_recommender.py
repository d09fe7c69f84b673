"""The contract every graph recommender implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import Tensor, nn

from models.config import ModelConfig
from models.data.rec_graph import RecGraph
from models.encoders import ModalityFusion
from models.typing import FeatureTensors

__all__ = ["GraphRecommender"]


class GraphRecommender(nn.Module, ABC):
    """Embeds users, items and KG entities by message passing over a :class:`RecGraph`.

    Layer-0 item vectors come from the item's content, so an item never seen in training
    still gets a vector:

    .. math::
        x^{(0)}_i = \\mathrm{Fusion}(\\text{text}_i, \\text{image}_i, \\text{rating}_i)
                    + e^{\\text{id}}_i \\quad (e^{\\text{id}}_i = 0 \\text{ for new items})

    Users and entities start from free embeddings ``(U, d)`` / ``(E, d)``. Subclasses define
    :meth:`propagate`, mapping layer-0 node vectors ``(N, d)`` to final ones ``(N, d)``.
    Scores are inner products ``s(u, i) = \\langle h_u, h_i \\rangle`` of final vectors.

    Args:
        graph: the collaborative KG (node counts, edges).
        feature_dims: input size per item modality (``{}``: no content features).
        config: ``ModelConfig`` (``dim``, ``num_layers``, ``id_embeddings`` ...).
    """

    def __init__(self, graph: RecGraph, feature_dims: dict[str, int], config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.num_users = graph.num_users
        self.num_items = graph.num_items
        self.num_entities = graph.num_entities
        d = config.dim
        self.user_emb = nn.Embedding(graph.num_users, d)
        self.item_emb = nn.Embedding(graph.num_items, d) if config.id_embeddings else None
        self.entity_emb = nn.Embedding(max(graph.num_entities, 1), d)
        self.fusion = (
            ModalityFusion(feature_dims, d, dropout=config.modality_dropout)
            if feature_dims
            else None
        )
        for emb in (self.user_emb, self.item_emb, self.entity_emb):
            if emb is not None:
                nn.init.normal_(emb.weight, std=0.1)
        self._features: FeatureTensors = {}
        self._normalized: FeatureTensors = {}  # ``_features`` through the fusion's normalisation

    def set_features(self, features: FeatureTensors) -> None:
        """Attach the frozen item features (kept out of the state dict: they are inputs) and
        fit the fusion's input normalisation on them."""
        self._features = features
        if self.fusion is not None:
            self.fusion.fit_normalization(features)
            with torch.no_grad():
                self._normalized = self.fusion.normalize(features)

    def content_vectors(self, features: FeatureTensors | None = None) -> Tensor | None:
        """``Fusion(features)`` ``(n, d)``, or ``None`` without content features."""
        if self.fusion is None:
            return None
        if features is not None:
            return self.fusion(features)
        return self.fusion(self._normalized, normalized=True)

    def item_inputs(self) -> Tensor:
        """Layer-0 item vectors ``(I, d)``."""
        content = self.content_vectors()
        if self.item_emb is None:
            if content is None:
                raise ValueError("a model without id embeddings needs content features")
            return content
        return self.item_emb.weight if content is None else self.item_emb.weight + content

    def layer0(self) -> Tensor:
        """All layer-0 node vectors ``(N, d)`` in graph order (users, items, entities)."""
        parts = [self.user_emb.weight, self.item_inputs()]
        if self.num_entities:
            parts.append(self.entity_emb.weight[: self.num_entities])
        return torch.cat(parts)

    @abstractmethod
    def propagate(self, x0: Tensor) -> Tensor:
        """Final node vectors ``(N, d)`` from layer-0 ones ``(N, d)``."""

    def forward(self) -> tuple[Tensor, Tensor, Tensor]:
        """Final ``(users (U, d), items (I, d), entities (E, d))``."""
        h = self.propagate(self.layer0())
        nu, ni = self.num_users, self.num_items
        return h[:nu], h[nu : nu + ni], h[nu + ni :]

    def regularizer(self, users: Tensor, items: Tensor) -> Tensor:
        """``(||x_u^0||^2 + ||x_i^0||^2) / 2`` summed over the batch, over free embeddings."""
        reg = self.user_emb.weight[users].pow(2).sum()
        if self.item_emb is not None:
            reg = reg + self.item_emb.weight[items].pow(2).sum()
        return reg / 2

    @property
    def layer0_weight(self) -> float:
        """How much of a final vector is its own layer-0 vector (for new items)."""
        return 1.0 / (self.config.num_layers + 1)
