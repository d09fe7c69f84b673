"""A small fitted instance of every registered scorer, for the contract suite.

``build(kind, workdir)`` is importable from a subprocess (the hash-seed determinism check
builds a scorer in two processes with different ``PYTHONHASHSEED``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from models.crs import CrsDialogue, CrsMessage, RerankConfig, TermReranker
from models.scoring import CoMentionConfig, CoMentionScorer, ItemScorer, NewItem, load_scorer

#: One new product for ``add_item``, with the fields every scorer may read.
NEW_ITEM = NewItem(
    {
        "id": "new:1",
        "title": "Storm jackets 99",
        "description": "A warm product.",
        "brand_id": "brand:zeta",
        "category_id": "cat:jackets",
        "attribute_ids": ["attr:color=blue"],
        "entity_ids": ["e:1", "e:2"],
    }
)

GENRES = ("spooky", "funny", "romantic", "epic")


def comention(workdir: Path) -> CoMentionScorer:
    """24 movies in 4 genres, 60 seeded dialogues, KG entities, title vectors, a fitted
    re-ranker and a real MiniLM conversation encoder: every part save/load must carry."""
    del workdir
    rng = np.random.default_rng(0)
    ids = [f"m{i}" for i in range(24)]
    entities = {m: {f"e:{i % 4}", f"e:x{i % 3}"} for i, m in enumerate(ids)}
    dialogues = []
    for n in range(60):
        g = int(rng.integers(0, 4))
        liked, suggested = (ids[g + 4 * int(k)] for k in rng.integers(0, 6, 2))
        dialogues.append(
            CrsDialogue(
                str(n),
                (
                    CrsMessage("seeker", f"something {GENRES[g]} like {liked}", (liked,)),
                    CrsMessage("recommender", f"try {suggested}", (suggested,), (suggested,)),
                ),
            )
        )
    from models.encoders import TextEncoder

    titles = [f"a {GENRES[i % 4]} film number {i}" for i in range(len(ids))]
    vectors = TextEncoder(max_length=16).encode(titles)
    config = CoMentionConfig(w_title=0.5, w_query=0.3, w_near=0.2)
    reranker = TermReranker(RerankConfig(min_positives=1, min_samples_leaf=2, inner_folds=2))
    return CoMentionScorer(
        ids,
        entities,
        config,
        item_vectors=vectors,
        reranker=reranker,
        text_encoder={"max_length": 16},
    ).fit(dialogues)


def gnn(workdir: Path) -> ItemScorer:
    """The GNN checkpoint trained by the suite's fixture (``workdir / "gnn"``)."""
    return load_scorer(workdir / "gnn")


FACTORIES: dict[str, Callable[[Path], ItemScorer]] = {"comention": comention, "gnn": gnn}

#: A context per kind of signal, with ids each scorer knows and ids no scorer knows.
CONTEXTS = {
    "empty": {},
    "user": {"user_id": "user:1"},
    "unknown user": {"user_id": "user:nobody"},
    "text": {"text": "something spooky\nhello"},
    "liked": {"liked_item_ids": ("m1", "prod:001")},
    "disliked": {"disliked_item_ids": ("m2", "prod:002")},
    "entities": {"entity_ids": ("e:1", "brand:zeta", "m3")},
    "unknown ids": {"liked_item_ids": ("zzz",), "entity_ids": ("yyy",)},
}


if __name__ == "__main__":  # python -m tests.models.scoring.scorer_factories KIND WORKDIR
    from models.scoring import ScoringContext

    scorer = FACTORIES[sys.argv[1]](Path(sys.argv[2]))
    for ctx in CONTEXTS.values():
        print(" ".join(f"{v:.6g}" for v in scorer.catalog_scores(ScoringContext(**ctx))))
