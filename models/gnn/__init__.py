"""Graph recommenders over the collaborative knowledge graph (PyTorch Geometric)."""

from models.gnn.graph_recommender import GraphRecommender
from models.gnn.kg_lightgcn import KGLightGCN
from models.gnn.kg_rgcn import KGRGCN
from models.gnn.registry import MODELS, build_model

__all__ = ["MODELS", "GraphRecommender", "KGLightGCN", "KGRGCN", "build_model"]
