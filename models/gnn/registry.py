"""Graph recommenders by name."""

from __future__ import annotations

from kgrec.errors import ConfigError
from models.config import ModelConfig
from models.data.rec_graph import RecGraph
from models.gnn.graph_recommender import GraphRecommender
from models.gnn.kg_lightgcn import KGLightGCN
from models.gnn.kg_rgcn import KGRGCN

__all__ = ["MODELS", "build_model"]

#: Registered implementations; ``ModelConfig.name`` picks one.
MODELS: dict[str, type[GraphRecommender]] = {
    "lightgcn": KGLightGCN,
    "rgcn": KGRGCN,
}


def build_model(
    graph: RecGraph, feature_dims: dict[str, int], config: ModelConfig
) -> GraphRecommender:
    """Instantiate ``MODELS[config.name]``; an unknown name lists the valid ones."""
    try:
        cls = MODELS[config.name]
    except KeyError:
        raise ConfigError(
            f"unknown model {config.name!r}; valid: {', '.join(sorted(MODELS))}"
        ) from None
    return cls(graph, feature_dims, config)
