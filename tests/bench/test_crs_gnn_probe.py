"""The GNN probe's pieces (``bench.crs_gnn_probe``) on tiny ReDial files: training dialogues
become users of the movies they mention, the KG and each movie's own entity become edges,
and a hit is counted with the context left out and ties at their mean rank."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `bench` is not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from bench.crs_bench import offline_tally  # noqa: E402
from bench.crs_gnn_probe import Arm, dialogue_dataset  # noqa: E402
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


def test_an_arm_ranks_the_context_movies_last(tmp_path: Path) -> None:
    corpus = redial_data(redial_folder(tmp_path).parent).corpus
    items = list(corpus.item_ids)
    index = {i: n for n, i in enumerate(items)}

    def score(context: Sequence[str], text: str) -> np.ndarray:
        s = np.zeros(len(items))
        s[[index[i] for i in context]] = 2.0  # the context movies best ...
        s[[index[t] for d in corpus.dialogues for m in d.messages for t in m.targets]] = 1.0
        return s  # ... then every target

    arm = Arm(items, score)
    assert arm.scores([items[0]], "")[0] == -np.inf and arm.scores([], "")[0] == 0.0
    tally = offline_tally(arm, corpus.dialogues, use_context=True)  # type: ignore[arg-type]
    kept = tally.without_repeats()
    assert kept.ranks and not any(kept.repeats)
    # each dialogue suggests one movie after naming another: with the named one last, the
    # suggestion ties with the other dialogues' targets for the top, and is in the top 2
    assert all(r is not None and r < 2 for r in kept.ranks)
