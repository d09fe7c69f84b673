"""The collaborative knowledge graph as tensors: users, items and KG entities as one node set."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from models.data.rec_dataset import RecDataset

logger = logging.getLogger(__name__)

__all__ = ["RecGraph"]


@dataclass(slots=True)
class RecGraph:
    """Node ``n`` is user ``n`` for ``n < U``, item ``n - U`` for ``n < U + I``, else entity.

    Every edge is stored in both directions. ``edge_type`` is ``0`` (user -> item), ``1``
    (item -> user), ``2 + 2r`` for KG relation ``r`` in the head -> tail direction and
    ``3 + 2r`` for its inverse. ``edge_weight`` is 1 for interactions and ``kg_edge_weight``
    for KG edges.

    Attributes:
        entity_ids: ids of the entities kept (``min_entity_degree`` pruning).
        entity_of: ``(dataset entities,)`` graph entity index per dataset entity, ``-1`` if pruned.
        item_entities: ``(m, 2)`` ``[item, graph entity]`` pairs (what ``add_item`` reuses).
    """

    num_users: int
    num_items: int
    num_entities: int
    num_relations: int
    edge_index: Tensor
    edge_type: Tensor
    edge_weight: Tensor
    entity_ids: list[str]
    entity_of: np.ndarray
    item_entities: np.ndarray

    @property
    def num_nodes(self) -> int:
        return self.num_users + self.num_items + self.num_entities

    @classmethod
    def build(
        cls,
        dataset: RecDataset,
        *,
        use_kg: bool = True,
        min_entity_degree: int = 2,
        kg_edge_weight: float = 1.0,
    ) -> RecGraph:
        n_users, n_items = dataset.num_users, dataset.num_items
        heads = [dataset.train[:, 0]]
        tails = [dataset.train[:, 1] + n_users]
        types = [np.zeros(len(dataset.train), np.int64)]
        weights = [np.ones(len(dataset.train))]
        entity_of = np.full(dataset.num_entities, -1, dtype=np.int64)
        ie = dataset.item_entity
        ee = dataset.entity_entity
        if use_kg and len(ie):
            degree = np.bincount(ie[:, 2], minlength=dataset.num_entities)
            keep = np.flatnonzero(degree >= max(min_entity_degree, 1))
            entity_of[keep] = np.arange(len(keep))
            ie = ie[entity_of[ie[:, 2]] >= 0]
            ee = ee[(entity_of[ee[:, 0]] >= 0) & (entity_of[ee[:, 2]] >= 0)] if len(ee) else ee
            base = n_users + n_items
            heads.append(ie[:, 0] + n_users)
            tails.append(entity_of[ie[:, 2]] + base)
            types.append(2 + 2 * ie[:, 1])
            weights.append(np.full(len(ie), kg_edge_weight))
            if len(ee):
                heads.append(entity_of[ee[:, 0]] + base)
                tails.append(entity_of[ee[:, 2]] + base)
                types.append(2 + 2 * ee[:, 1])
                weights.append(np.full(len(ee), kg_edge_weight))
        else:
            ie = ie[:0]
        num_entities = int((entity_of >= 0).sum())
        h = np.concatenate(heads)
        t = np.concatenate(tails)
        r = np.concatenate(types)
        w = np.concatenate(weights)
        edge_index = torch.from_numpy(np.stack([np.concatenate([h, t]), np.concatenate([t, h])]))
        edge_type = torch.from_numpy(np.concatenate([r, r + 1]))
        edge_weight = torch.from_numpy(np.concatenate([w, w])).float()
        kept = np.flatnonzero(entity_of >= 0)
        graph = cls(
            num_users=n_users,
            num_items=n_items,
            num_entities=num_entities,
            num_relations=2 + 2 * max(len(dataset.relations), 0),
            edge_index=edge_index,
            edge_type=edge_type,
            edge_weight=edge_weight,
            entity_ids=[dataset.entity_ids[k] for k in kept],
            entity_of=entity_of,
            item_entities=np.stack([ie[:, 0], entity_of[ie[:, 2]]], 1)
            if len(ie)
            else np.zeros((0, 2), np.int64),
        )
        logger.info(
            "graph: %d users, %d items, %d entities (of %d), %d directed edges",
            n_users,
            n_items,
            num_entities,
            dataset.num_entities,
            edge_index.shape[1],
        )
        return graph

    def normalized_adjacency(self, device: torch.device | str = "cpu") -> Tensor:
        """Sparse CSR ``D^{-1/2} A D^{-1/2}`` (weighted, symmetric), shape ``(N, N)``."""
        n = self.num_nodes
        row, col = self.edge_index
        w = self.edge_weight
        deg = torch.zeros(n).scatter_add_(0, row, w)
        inv = deg.pow(-0.5)
        inv[torch.isinf(inv)] = 0.0
        values = inv[row] * w * inv[col]
        adj = torch.sparse_coo_tensor(
            torch.stack([row, col]), values, (n, n), check_invariants=True
        ).coalesce()
        with warnings.catch_warnings():  # "CSR support is in beta"
            warnings.simplefilter("ignore", UserWarning)
            return adj.to_sparse_csr().to(device)
