"""Pick the conversational scorer's weights, and say how much picking them on the data flatters.

    .venv/bin/python -m bench.crs_tune --data ../shared/data [--dataset redial|inspired]
        [--folds K] [--rounds R] [--no-text-embeddings]

1. Dialogues are split into ``K`` folds as in :mod:`bench.crs_bench`. For fold ``f`` a
   :class:`~models.crs.CoMentionScorer` fitted on the other folds gives, at every target turn
   of fold ``f``, each unweighted score term over the whole catalog
   (:meth:`~models.crs.CoMentionScorer.terms`, the ideal context of the bench's offline row:
   every movie mentioned so far and the seeker's messages, newest first). No turn's terms
   come from a scorer that saw its dialogue.
2. Coordinate search: from the dataset's weights in ``bench.crs_bench.CONFIGS``, each weight in
   turn is multiplied by 0, 0.5, 0.75, 1.33 and 2 (a zero weight tries 0.25), keeping a change
   that raises Recall@10 + Recall@50 / 2; up to ``R`` rounds.
   ``--weights`` starts elsewhere: a search that starts from weights already picked on every
   fold is not held out any more, so to measure the flattery start from weights chosen
   without these dialogues.
3. Printed: the starting weights' recall; the search run on ``K - 1`` folds and scored on the
   held-out one, for each fold; and the search on every fold with the weights it picks (its
   recall is the optimistic one).

The held-out figure here is not nested: the term rows of the other folds come from scorers
fitted on folds that include the held-out one, and the default start (``CONFIGS``) was itself
picked on every fold. The nested figure is ``bench.crs_bench --select nested`` (its default):
each outer fold's weights searched on inner folds of its training dialogues only, from every
weight 1 (:mod:`models.scoring.comention_tuning`, which this module's search now lives in).

Weights scale ``kg`` (context items) and ``entity`` (linked entities) separately; the offline
context has no linked entities, so ``w_entity`` is left as it is here.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.crs_args import parse_weights
from bench.crs_bench import CONFIGS, text_embeddings
from bench.crs_setup import DATASETS, BenchData, folds
from models.crs import CrsDialogue
from models.scoring import CoMentionConfig, CoMentionScorer
from models.scoring import comention_tuning as tune
from models.scoring.comention_training import corpus_text_encoder, fit_comention
from models.scoring.comention_tuning import TERMS, TermTable, recall, search, weights_of

log = logging.getLogger(__name__)


def term_table(data: BenchData, n_folds: int, vectors: np.ndarray | None) -> TermTable:
    """Fold ``f``'s turns scored by the scorer fitted on the other folds (linear: no trees),
    every term whatever its weight (:func:`models.scoring.comention_tuning.term_table`)."""
    fold_of = folds(len(data.dialogues), n_folds)
    config = CONFIGS[_key(data)]
    encode = corpus_text_encoder() if vectors is not None else None

    def fit(train: Sequence[CrsDialogue], cfg: CoMentionConfig) -> CoMentionScorer:
        # every term is computed, whatever its weight, but the scorer needs the text on
        cfg = dataclasses.replace(cfg, w_title=1.0, w_query=1.0, w_near=1.0)
        return fit_comention(
            data.corpus, train, cfg, rerank=False, text=vectors is not None, vectors=vectors,
            encode_text=encode,
        )  # fmt: skip

    return tune.term_table(data.dialogues, fold_of, config, fit)


def _key(data: BenchData) -> str:
    return "redial" if data.name.lower().startswith("redial") else "inspired"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--dataset", choices=sorted(DATASETS), default="redial")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--no-text-embeddings", action="store_true")
    p.add_argument(
        "--weights",
        default="",
        help="start the search here instead of at CONFIGS, e.g. 'w_near=0,w_title=1'",
    )
    a = p.parse_args(argv)
    if a.folds < 2:
        p.error("--folds must be >= 2")
    import torch

    torch.set_num_threads(1)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("models.encoders").setLevel(logging.WARNING)  # a line per query else
    data = DATASETS[a.dataset](a.data)
    vectors = None if a.no_text_embeddings else text_embeddings(data)
    table = term_table(data, a.folds, vectors)
    every = list(range(a.folds))
    start = weights_of(dataclasses.replace(CONFIGS[a.dataset], **parse_weights(p, a.weights)))
    if vectors is None:
        start.update(title=0.0, query=0.0)

    def show(name: str, r: tuple[float, float], w: dict[str, float] | None = None) -> None:
        picked = "" if w is None else "  " + " ".join(f"{k}={v:.3g}" for k, v in w.items())
        print(f"{name:<34} R@10 {r[0]:.4f}  R@50 {r[1]:.4f}{picked}")
        sys.stdout.flush()

    print(f"\n{data.name}: {len(table.samples)} samples, {len(table.fold)} turns, {a.folds}-fold")
    show("CONFIGS weights", recall(table, [start[t] for t in TERMS], every), start)
    held = np.zeros(2)
    for f in every:
        w = search(table, start, [g for g in every if g != f], a.rounds)
        r = recall(table, [w[t] for t in TERMS], [f])
        n = int(np.isin(table.fold[table.samples[:, 0]], [f]).sum())
        held += np.array(r) * n
        show(f"searched without fold {f}, on it", r, w)
    held /= len(table.samples)
    show("held-out folds together", (float(held[0]), float(held[1])))
    w = search(table, start, every, a.rounds)
    show("searched on every fold", recall(table, [w[t] for t in TERMS], every), w)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
