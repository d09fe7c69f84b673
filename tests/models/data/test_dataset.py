"""RecDataset.from_rows and the graph built from it."""

from __future__ import annotations

import numpy as np

from models.data import RecDataset
from models.data.rec_graph import RecGraph


def test_from_rows_positives_split_and_kg(tiny_dataset: RecDataset) -> None:
    ds = tiny_dataset
    assert ds.num_items == 12
    assert ds.num_users == 6
    # splits are disjoint and only contain known indices
    seen = {tuple(p) for p in ds.train}
    assert not seen & {tuple(p) for p in ds.valid}
    assert len(ds.valid) > 0 and len(ds.test) == 0
    # the dislike of prod:011 by user:0 is not a positive anywhere
    u0 = ds.user_ids.index("user:0")
    i11 = ds.item_ids.index("prod:011")
    for split in (ds.train, ds.valid):
        assert not np.any((split[:, 0] == u0) & (split[:, 1] == i11))
    # brands, categories and colours are entities; each item links to its brand once
    assert {"brand:acme", "cat:shoes", "attr:color=red"} <= set(ds.entity_ids)
    links = {(ds.item_ids[i], ds.entity_ids[e]) for i, _, e in ds.item_entity}
    assert ("prod:000", "brand:acme") in links
    assert len(links) == len(ds.item_entity)  # de-duplicated across triples and row fields
    # images resolve for the even products only
    assert [p is not None for p in ds.item_images] == [i % 2 == 0 for i in range(12)]
    assert "Trail shoes 0" in ds.item_texts[0]


def test_graph_is_symmetric_and_prunes_rare_entities(tiny_dataset: RecDataset) -> None:
    graph = RecGraph.build(tiny_dataset, min_entity_degree=5)
    # each brand/category has 4 items, each colour 6: all kept at 4 only when >= 4
    assert graph.num_entities == 2  # the two colours (6 items each)
    adj = graph.normalized_adjacency().to_dense()
    assert adj.shape == (graph.num_nodes, graph.num_nodes)
    assert np.allclose(adj.numpy(), adj.numpy().T)
    no_kg = RecGraph.build(tiny_dataset, use_kg=False)
    assert no_kg.num_entities == 0
    assert no_kg.edge_index.shape[1] == 2 * len(tiny_dataset.train)
