"""A relational GNN over the typed collaborative knowledge graph."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from models.config import ModelConfig
from models.data.rec_graph import RecGraph
from models.gnn._pyg import RGCNConv
from models.gnn.graph_recommender import GraphRecommender

__all__ = ["KGRGCN"]


class KGRGCN(GraphRecommender):
    """R-GCN (Schlichtkrull et al. 2018, https://arxiv.org/abs/1703.06103) layers over users,
    items and entities with one weight per relation type and direction (basis-decomposed),
    layer outputs averaged as in KGAT/LightGCN:

    .. math::
        x^{(k+1)}_v = \\tanh\\Big(W_0^{(k)} x^{(k)}_v + \\sum_r \\frac{1}{|N_r(v)|}
                       \\sum_{w \\in N_r(v)} W_r^{(k)} x^{(k)}_w\\Big), \\qquad
        h = \\frac{1}{K+1} \\sum_k \\frac{x^{(k)}}{\\lVert x^{(k)} \\rVert}

    ``W_r = \\sum_b a_{rb} V_b`` with ``num_bases = 8``. Shapes: ``(N, d) -> (N, d)``.
    """

    def __init__(self, graph: RecGraph, feature_dims: dict[str, int], config: ModelConfig) -> None:
        super().__init__(graph, feature_dims, config)
        d = config.dim
        self.convs = nn.ModuleList(
            [
                RGCNConv(d, d, graph.num_relations, num_bases=min(8, graph.num_relations))
                for _ in range(config.num_layers)
            ]
        )
        self.register_buffer("edge_index", graph.edge_index, persistent=False)
        self.register_buffer("edge_type", graph.edge_type, persistent=False)

    def propagate(self, x0: Tensor) -> Tensor:
        outs = [nn.functional.normalize(x0, dim=-1)]
        x = x0
        for conv in self.convs:
            x = torch.tanh(conv(x, self.edge_index, self.edge_type))
            outs.append(nn.functional.normalize(x, dim=-1))
        return torch.stack(outs).mean(0)
