"""The GNN probe's pieces (``bench.crs_gnn_probe``) on tiny ReDial files: training dialogues
become users of the movies they mention, the KG and each movie's own entity become edges,
and a hit is counted with the context left out and ties at their mean rank."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `bench` is not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from bench.crs_gnn_probe import dialogue_dataset, hits, samples  # noqa: E402
from bench.crs_setup import redial_data  # noqa: E402
from tests.bench.redial_files import redial_folder  # noqa: E402


def test_dialogues_become_users_with_their_last_movie_held_for_validation(
    tmp_path: Path,
) -> None:
    corpus = redial_data(redial_folder(tmp_path).parent).corpus
    first, second = corpus.item_ids[:2]
    corpus.item_entities = {first: {"dbpedia:director", second}, second: {"dbpedia:director"}}
    ds = dialogue_dataset(corpus, corpus.dialogues)
    index = {i: n for n, i in enumerate(corpus.item_ids)}
    assert ds.user_ids == [d.id for d in corpus.dialogues]
    assert ds.item_ids == corpus.item_ids and len(ds.item_texts) == len(ds.item_ids)
    for u, d in enumerate(corpus.dialogues):
        named = list(dict.fromkeys(i for m in d.messages for i in m.item_ids if i in index))
        assert ds.valid[ds.valid[:, 0] == u, 1].tolist() == [index[named[-1]]]
        assert sorted(ds.train[ds.train[:, 0] == u, 1].tolist()) == sorted(
            index[i] for i in named[:-1]
        )
    entity = {e: n for n, e in enumerate(ds.entity_ids)}
    edges = {tuple(e) for e in ds.item_entity.tolist()}
    assert all((index[i], 1, entity[i]) in edges for i in corpus.item_ids)  # own entity
    linked = [(i, e) for i in corpus.item_ids for e in corpus.item_entities.get(i, ()) if e != i]
    assert linked and all((index[i], 0, entity[e]) in edges for i, e in linked)
    assert len(edges) == len(corpus.item_ids) + 3  # 1-director, 1-2, 2-director
    assert "dbpedia:director" in entity


def test_samples_drop_repeats_and_hits_leave_the_context_out(tmp_path: Path) -> None:
    corpus = redial_data(redial_folder(tmp_path).parent).corpus
    index = {i: n for n, i in enumerate(corpus.item_ids)}
    rows = samples(corpus.dialogues, index)
    assert rows and all(corpus.item_ids[t] not in context for context, _, t in rows)
    scores = np.zeros(len(index))
    scores[[3, 5]] = 2.0, 1.0
    assert hits(scores, [corpus.item_ids[3]], 5, index) == (1.0, 1.0)  # 3 left out: first
    assert hits(scores, [], 5, index) == (1.0, 1.0)
    many = np.zeros(60)
    assert hits(many, [], 7, {}) == (0.0, 1.0)  # 60 ties: mean rank 29.5
