"""LightGCN over the collaborative knowledge graph."""

from __future__ import annotations

import torch
from torch import Tensor

from models.config import ModelConfig
from models.data.rec_graph import RecGraph
from models.gnn._pyg import LGConv
from models.gnn._sparse import symmetric_spmm
from models.gnn.graph_recommender import GraphRecommender

__all__ = ["KGLightGCN"]


class _SymmetricLGConv(LGConv):
    """PyG's ``LGConv`` with a pre-normalised symmetric adjacency (``normalize=False``),
    whose sparse product reuses ``A`` in the backward pass."""

    def message_and_aggregate(self, adj_t: Tensor, x: Tensor) -> Tensor:  # type: ignore[override]
        return symmetric_spmm(adj_t, x)


class KGLightGCN(GraphRecommender):
    """LightGCN (He et al. 2020, https://arxiv.org/abs/2002.02126) on users + items + KG
    entities (the collaborative KG of KGAT, Wang et al. 2019, https://arxiv.org/abs/1905.07854).

    With the weighted, symmetrically normalised adjacency
    :math:`\\hat A = D^{-1/2} A D^{-1/2}` (KG edges weighted by ``kg_edge_weight``):

    .. math::
        x^{(k+1)} = \\hat A\\, x^{(k)}, \\qquad
        h = \\frac{1}{K+1} \\sum_{k=0}^{K} x^{(k)}

    Relations are not distinguished (typed edges collapse to one adjacency); the relational
    alternative is ``"rgcn"``. Shapes: ``(N, d) -> (N, d)``, ``N = U + I + E``.
    """

    def __init__(self, graph: RecGraph, feature_dims: dict[str, int], config: ModelConfig) -> None:
        super().__init__(graph, feature_dims, config)
        self.convs = torch.nn.ModuleList(
            [_SymmetricLGConv(normalize=False) for _ in range(config.num_layers)]
        )
        self.adj: Tensor = graph.normalized_adjacency()

    def _apply(self, fn, recurse=True):  # type: ignore[no-untyped-def]
        # move the (non-parameter) sparse adjacency along with .to(device)
        self.adj = fn(self.adj)
        return super()._apply(fn, recurse)

    def propagate(self, x0: Tensor) -> Tensor:
        out = x0
        x = x0
        for conv in self.convs:
            x = conv(x, self.adj)
            out = out + x
        return out / (len(self.convs) + 1)
