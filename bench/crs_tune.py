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
   held-out one, for each fold (the honest figure); and the search on every fold with the
   weights it picks (what ``CONFIGS`` should get; its recall is the optimistic one).

Weights scale ``kg`` (context items) and ``entity`` (linked entities) separately; the offline
context has no linked entities, so ``w_entity`` is left as it is here.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.crs_args import parse_weights
from bench.crs_bench import CONFIGS, fold_scorer, text_embeddings
from bench.crs_setup import DATASETS, BenchData, folds
from models.crs import target_turns
from models.crs.reranker import TERM_NAMES
from models.scoring import CoMentionConfig

log = logging.getLogger(__name__)

#: the scorer's terms, but ``entity``: the offline context has no linked non-movie entities
TERMS = tuple(t for t in TERM_NAMES if t != "entity")
STEPS = (0.0, 0.5, 0.75, 1.33, 2.0)


@dataclass
class TermTable:
    """Every target turn's score terms: ``terms`` ``(N, len(TERMS), I)`` float32, the fold of
    each turn ``(N,)``, and one ``(turn, target index)`` row per sample (``-1``: not in the
    catalog, never found)."""

    terms: np.ndarray
    fold: np.ndarray
    samples: np.ndarray  # (S, 2) int


def term_table(data: BenchData, n_folds: int, vectors: np.ndarray | None) -> TermTable:
    fold_of = folds(len(data.dialogues), n_folds)
    # every term is computed, whatever its weight, but the scorer needs the embeddings on
    config = dataclasses.replace(CONFIGS[_key(data)], w_title=1.0, w_query=1.0, w_near=1.0)
    rows: list[np.ndarray] = []
    fold: list[int] = []
    samples: list[tuple[int, int]] = []
    for f in range(n_folds):
        scorer = fold_scorer(data, fold_of, f, config, vectors, rerank=False)
        index = {item: n for n, item in enumerate(scorer.item_ids)}
        for i, d in enumerate(data.dialogues):
            if fold_of[i] != f:
                continue
            for m, context, conversation in target_turns(d):
                terms = scorer.terms(context, conversation, every=True)
                table = np.zeros((len(TERMS), len(scorer.item_ids)), dtype=np.float32)
                for k, name in enumerate(TERMS):
                    if name in terms:
                        table[k] = terms[name]
                samples += [(len(rows), index.get(t, -1)) for t in m.targets]
                rows.append(table)
                fold.append(f)
        log.info("fold %d/%d: %d turns so far", f + 1, n_folds, len(rows))
    return TermTable(np.stack(rows), np.array(fold), np.array(samples, dtype=np.int64))


def _key(data: BenchData) -> str:
    return "redial" if data.name.lower().startswith("redial") else "inspired"


def recall(
    table: TermTable, weights: Sequence[float], on_folds: Sequence[int]
) -> tuple[float, float]:
    """(Recall@10, Recall@50) of ``weights`` over the samples of ``on_folds``."""
    turns = np.flatnonzero(np.isin(table.fold, on_folds))
    scores = np.tensordot(np.asarray(weights, dtype=np.float32), table.terms[turns], axes=(0, 1))
    top = np.argpartition(-scores, 50, axis=1)[:, :50]  # (n, 50), unordered
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    position = {int(t): r for r, t in enumerate(turns)}
    rows = table.samples[np.isin(table.fold[table.samples[:, 0]], on_folds)]
    hits = top[[position[int(t)] for t in rows[:, 0]]] == rows[:, 1:2]  # (S, 50)
    return float(hits[:, :10].any(1).mean()), float(hits.any(1).mean())


def objective(r: tuple[float, float]) -> float:
    return r[0] + r[1] / 2


def search(
    table: TermTable, start: dict[str, float], on_folds: Sequence[int], rounds: int
) -> dict[str, float]:
    """Coordinate search of the weights on ``on_folds`` (see the module docstring)."""
    best_w = dict(start)
    best = objective(recall(table, [best_w[t] for t in TERMS], on_folds))
    for _ in range(rounds):
        improved = False
        for name in TERMS:
            for step in STEPS:
                trial = dict(best_w)
                trial[name] = best_w[name] * step if best_w[name] else (0.25 if step > 1 else 0.0)
                if trial[name] == best_w[name]:
                    continue
                value = objective(recall(table, [trial[t] for t in TERMS], on_folds))
                if value > best + 1e-4:
                    best, best_w, improved = value, trial, True
        if not improved:
            break
    return best_w


def weights_of(config: CoMentionConfig) -> dict[str, float]:
    return {t: float(getattr(config, f"w_{t}")) for t in TERMS}


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
