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
default), context movies excluded from the ranking, the whole catalog ranked. Printed:
Recall@10 / @50 of each and each ``w``'s paired difference from linear with a bootstrap 95%
interval (:func:`bench.paired.paired_bootstrap`). The ``w`` values are compared on the same
samples they are printed for, which flatters the best of them: a gain that does not clear 0
even so is no reason to build the term.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.crs_setup import folds, redial_data
from bench.paired import paired_bootstrap
from models.config import TrainConfig
from models.crs import CrsDialogue, target_turns
from models.crs.conversation_corpus import ConversationCorpus
from models.data.rec_dataset import RecDataset
from models.scoring import ItemScorer, load_scorer
from models.scoring.comention_training import fit_comention, title_vectors
from models.scoring.comention_tuning import WeightSearch
from models.scoring.item_scorer import ScoringContext
from models.training.trainer import train_model

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


def samples(
    dialogues: Sequence[CrsDialogue], index: dict[str, int]
) -> list[tuple[list[str], str, int]]:
    """(context, text, target position) of each suggestion not mentioned before."""
    out = []
    for d in dialogues:
        for m, context, text in target_turns(d):
            seen = set(context)
            out += [(context, text, index[t]) for t in m.targets if t in index and t not in seen]
    return out


def hits(
    scores: np.ndarray, context: Sequence[str], target: int, index: dict[str, int]
) -> tuple[float, float]:
    """(hit@10, hit@50) of ``target`` (ties: the mean rank), the context movies excluded."""
    s = scores.astype(np.float64, copy=True)
    s[[index[i] for i in context if i in index]] = -np.inf
    rank = (s > s[target]).sum() + ((s == s[target]).sum() - 1) / 2
    return float(rank < 10), float(rank < 50)


def probe_fold(
    corpus: ConversationCorpus,
    train: list[CrsDialogue],
    vectors: np.ndarray,
    weights: Sequence[float],
    threads: int,
) -> dict[str, np.ndarray]:
    """Per-sample hits ``(n, 2)`` of every arm on one outer fold's inner split."""
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
    index = {i: n for n, i in enumerate(corpus.item_ids)}
    if list(gnn.item_ids) != list(corpus.item_ids):
        raise RuntimeError("the GNN's catalog is not the corpus's")
    arms: dict[str, list[tuple[float, float]]] = {"linear": [], "gnn": []}
    arms |= {f"linear + {w:g} gnn": [] for w in weights}
    for context, text, target in samples(held, index):
        base = linear.scores(context, text)
        liked = tuple(i for i in dict.fromkeys(context) if i in index)
        g = np.asarray(
            gnn.catalog_scores(ScoringContext(text=text, liked_item_ids=liked)), dtype=np.float64
        )
        z = (g - g.mean()) / (g.std() or 1.0)
        arms["linear"].append(hits(base, context, target, index))
        arms["gnn"].append(hits(z, context, target, index))
        for w in weights:
            arms[f"linear + {w:g} gnn"].append(hits(base + w * z, context, target, index))
    return {name: np.array(rows) for name, rows in arms.items()}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="folder holding redial-dev/")
    ap.add_argument("--folds", type=int, default=5, help="outer folds (default 5)")
    ap.add_argument("--weights", default="0.02,0.05,0.1,0.2", help="w values (comma-separated)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads while training")
    ap.add_argument("--out", type=Path, help="write the per-sample hits as JSON")
    args = ap.parse_args(argv)
    weights = [float(w) for w in args.weights.split(",") if w.strip()]
    if args.folds < 2 or any(w <= 0 for w in weights):
        ap.error("--folds must be >= 2 and every --weights value > 0")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    data = redial_data(args.data)
    corpus = data.corpus
    vectors = title_vectors(corpus.titles, CACHE)
    fold_of = folds(len(corpus.dialogues), args.folds)
    pooled: dict[str, list[np.ndarray]] = {}
    for f in range(args.folds):
        train = [d for d, k in zip(corpus.dialogues, fold_of, strict=True) if k != f]
        for name, rows in probe_fold(corpus, train, vectors, weights, args.threads).items():
            pooled.setdefault(name, []).append(rows)
        log.info("outer fold %d of %d done", f + 1, args.folds)
    arms = {name: np.concatenate(parts) for name, parts in pooled.items()}
    base = arms["linear"]
    print(
        f"redial: GNN probe, repeats removed, {len(base)} held-out samples of inner splits"
        f" of {args.folds} outer folds' training dialogues"
    )
    print(f"{'arm':<22} {'R@10':>7} {'R@50':>7}   {'vs linear R@10':>28}   {'vs linear R@50':>28}")
    report: dict[str, Any] = {"samples": len(base), "arms": {}}
    for name, rows in arms.items():
        r10, r50 = rows.mean(axis=0)
        d10 = paired_bootstrap(rows[:, 0], base[:, 0]) if name != "linear" else None
        d50 = paired_bootstrap(rows[:, 1], base[:, 1]) if name != "linear" else None
        print(f"{name:<22} {r10:7.4f} {r50:7.4f}   {str(d10 or ''):>28}   {str(d50 or ''):>28}")
        report["arms"][name] = {"r10": r10, "r50": r50, "hits": rows.tolist()}
    if args.out:
        args.out.write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
