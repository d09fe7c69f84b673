"""Probe: would the product's GNN, trained on the training dialogues, add to the conversational
scorer? A decision aid for issue 13 item 2, not a served figure.

    python -m bench.crs_gnn_probe --data ../shared/data [--folds 5] [--weights 0.02,0.05,0.1]
                                  [--threads 1] [--out probe.json]

The served conversational scorer (:class:`models.scoring.CoMentionScorer`) has no learned
graph model. Before one is built into it (trained inside every inner fold of the nested
weight search and of the re-ranker's cross-fitting, saved with it), this measures what the
product's own GNN brings, on held-out dialogues of the *training* folds only:

- For each of ``--folds`` outer folds of ReDial-dev, the outer training dialogues are split
  again (:func:`bench.crs_setup.folds`, seed 1): 4/5 to fit, 1/5 to score. The outer held-out
  fold, the one ``crs_bench`` reports, is never read.
- **linear**: the conversational scorer as ``kgrec train --conversations --tune-weights``
  fits it, without the re-ranker (weights searched nested on the 4/5:
  :func:`models.scoring.fit_comention` with ``tune``, repeats removed).
- **gnn**: ``kgrec``'s graph recommender with its default training recipe
  (:func:`models.training.trainer.train_model`: KG LightGCN over dialogues, movies and the
  KGSF DBpedia entities, title text features, the EASE^R item-item term), each fitting
  dialogue a user whose interactions are the movies it mentions (its last one the
  validation pair the recipe stops on). A scored turn is a session that liked the movies
  mentioned so far.
- **linear + w gnn**: the linear scores plus ``w`` times the GNN's scores standardised over
  the catalog (mean 0, sd 1), for each ``--weights`` value.

Samples: every suggestion whose target was not mentioned before (repeats removed, the product
default), ranked over the whole catalog by :func:`bench.crs_bench.offline_tally` with the
context movies last (:class:`Arm`). Printed: Recall@10 / @50 of each arm and each arm's paired
difference from linear with a 95% bootstrap interval over dialogues
(:func:`bench.crs_paired.paired_recall`, as ``crs_bench --paired-with`` prints them). The
``w`` values are compared on the same samples they are printed for, which flatters the best of
them: a gain that does not clear 0 even so is no reason to build the term.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bench.crs_bench import offline_tally
from bench.crs_paired import paired_cell, save_ranks
from bench.crs_setup import folds, redial_data
from models.config import TrainConfig
from models.crs import CrsDialogue
from models.crs.conversation_corpus import ConversationCorpus
from models.data.rec_dataset import RecDataset
from models.scoring import ItemScorer, load_scorer
from models.scoring.comention_training import fit_comention, title_vectors
from models.scoring.comention_tuning import WeightSearch
from models.scoring.item_scorer import ScoringContext
from models.training.trainer import train_model
from server.replay import Tally

log = logging.getLogger("bench.crs_gnn_probe")

CACHE = Path(__file__).resolve().parent / "out" / "cache"


def dialogue_dataset(corpus: ConversationCorpus, dialogues: Sequence[CrsDialogue]) -> RecDataset:
    """``dialogues`` as users of the corpus's movies and its KG (each movie also linked to
    its own entity node, so movie-to-movie KG links connect movies); the last movie a
    dialogue mentions is its validation pair."""
    items = corpus.item_ids
    index = {i: n for n, i in enumerate(items)}
    linked = corpus.item_entities
    entities = sorted({e for i in items for e in linked.get(i, ())} | set(items))
    entity = {e: n for n, e in enumerate(entities)}
    edges = {(index[i], 1, entity[i]) for i in items}
    edges |= {(index[i], 0, entity[e]) for i in items for e in linked.get(i, ()) if e != i}
    train: list[tuple[int, int]] = []
    valid: list[tuple[int, int]] = []
    for u, d in enumerate(dialogues):
        named = list(dict.fromkeys(i for m in d.messages for i in m.item_ids if i in index))
        if len(named) >= 2:
            valid.append((u, index[named.pop()]))
        train += [(u, index[i]) for i in named]

    def pairs(rows: list[tuple[int, int]]) -> np.ndarray:
        return np.array(rows, dtype=np.int64).reshape(-1, 2)

    return RecDataset(
        name=f"{corpus.name}-dialogues",
        user_ids=[d.id for d in dialogues],
        item_ids=list(items),
        entity_ids=entities,
        relations=["linked", "self"],
        train=pairs(train),
        valid=pairs(valid),
        test=pairs([]),
        item_entity=np.array(sorted(edges), dtype=np.int64).reshape(-1, 3),
        entity_entity=np.zeros((0, 3), dtype=np.int64),
        item_texts=list(corpus.titles),
        item_images=[None] * len(items),
        rating_rows=(np.zeros(0, np.int64), np.zeros(0), np.zeros(0)),
        item_titles=list(corpus.titles),
    )


def train_gnn(dataset: RecDataset, workdir: Path, threads: int) -> ItemScorer:
    """``kgrec``'s default recipe on ``dataset`` (no image or rating features: the dialogues
    have neither), loaded as the server loads a checkpoint."""
    config = TrainConfig().with_changes(
        threads=threads, encoder={"use_image": False, "use_rating": False}
    )
    result = train_model(dataset, config, workdir, progress=False)
    return load_scorer(result.checkpoint_dir)


class Arm:
    """One arm as :func:`bench.crs_bench.offline_tally` ranks it: the catalog's scores at a
    turn, the context movies last (named items hidden, the product default)."""

    def __init__(
        self, item_ids: list[str], score: Callable[[Sequence[str], str], np.ndarray]
    ) -> None:
        self.item_ids = item_ids
        self._index = {i: n for n, i in enumerate(item_ids)}
        self._score = score

    def scores(self, context: Sequence[str], text: str) -> np.ndarray:
        s = np.array(self._score(context, text), dtype=np.float64)
        s[[self._index[i] for i in context if i in self._index]] = -np.inf
        return s


def probe_fold(
    corpus: ConversationCorpus,
    train: list[CrsDialogue],
    vectors: np.ndarray,
    weights: Sequence[float],
    threads: int,
) -> dict[str, Tally]:
    """Every arm's repeats-removed tally on one outer fold's inner split."""
    inner = folds(len(train), 5, seed=1)
    fit = [d for d, k in zip(train, inner, strict=True) if k != 0]
    held = [d for d, k in zip(train, inner, strict=True) if k == 0]
    started = time.perf_counter()
    linear = fit_comention(
        corpus, fit, rerank=False, vectors=vectors, tune=WeightSearch(repeats=False)
    )
    log.info("linear scorer tuned and fitted in %.0f s", time.perf_counter() - started)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kgrec-gnn-probe-") as workdir:
        gnn = train_gnn(dialogue_dataset(corpus, fit), Path(workdir), threads)
    log.info("GNN trained in %.0f s", time.perf_counter() - started)
    items = list(corpus.item_ids)
    if list(gnn.item_ids) != items:
        raise RuntimeError("the GNN's catalog is not the corpus's")
    known = set(items)
    # every arm asks for the same turns: each score is computed once per fold

    @functools.cache
    def base(context: tuple[str, ...], text: str) -> np.ndarray:
        return linear.scores(context, text)

    @functools.cache
    def z(context: tuple[str, ...], text: str) -> np.ndarray:
        liked = tuple(i for i in dict.fromkeys(context) if i in known)
        g = gnn.catalog_scores(ScoringContext(text=text, liked_item_ids=liked))
        g = np.asarray(g, dtype=np.float64)
        return (g - g.mean()) / (g.std() or 1.0)

    def arm(w: float | None) -> Arm:  # None: the GNN alone
        if w is None:
            return Arm(items, lambda c, t: z(tuple(c), t))
        return Arm(items, lambda c, t: base(tuple(c), t) + w * z(tuple(c), t))

    arms = {"linear": arm(0.0), "gnn": arm(None)} | {f"linear + {w:g} gnn": arm(w) for w in weights}
    return {
        name: offline_tally(a, held, use_context=True).without_repeats()  # type: ignore[arg-type]
        for name, a in arms.items()
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="folder holding redial-dev/")
    ap.add_argument("--folds", type=int, default=5, help="outer folds (default 5)")
    ap.add_argument("--weights", default="0.02,0.05,0.1,0.2", help="w values (comma-separated)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads while training")
    ap.add_argument("--out", type=Path, help="write every arm's per-sample ranks (JSON)")
    args = ap.parse_args(argv)
    weights = [float(w) for w in args.weights.split(",") if w.strip()]
    if args.folds < 2 or any(w <= 0 for w in weights):
        ap.error("--folds must be >= 2 and every --weights value > 0")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    data = redial_data(args.data)
    corpus = data.corpus
    vectors = title_vectors(corpus.titles, CACHE)
    fold_of = folds(len(corpus.dialogues), args.folds)
    pooled: dict[str, Tally] = {}
    for f in range(args.folds):
        train = [d for d, k in zip(corpus.dialogues, fold_of, strict=True) if k != f]
        for name, tally in probe_fold(corpus, train, vectors, weights, args.threads).items():
            pooled.setdefault(name, Tally()).merge(tally)
        log.info("outer fold %d of %d done", f + 1, args.folds)
    base = pooled["linear"]
    print(
        f"redial: GNN probe, repeats removed, {len(base.ranks)} held-out samples of inner"
        f" splits of {args.folds} outer folds' training dialogues"
    )
    print(f"{'arm':<22} {'R@10':>7} {'R@50':>7}   {'vs linear R@10':>28}   {'vs linear R@50':>28}")
    for name, tally in pooled.items():
        cells = [f"{name:<22} {tally.recall(10):7.4f} {tally.recall(50):7.4f}"]
        if name != "linear":
            cells += [f"{paired_cell(tally, base, k):>28}" for k in (10, 50)]
        print("   ".join(cells))
    if args.out:
        save_ranks(args.out, "redial gnn probe", pooled)
    return 0


if __name__ == "__main__":
    sys.exit(main())
