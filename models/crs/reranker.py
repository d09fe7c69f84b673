"""Gradient-boosted re-ranking of a :class:`~models.crs.CoMentionScorer`'s best items.

The scorer's weighted sum of terms is one linear view of the evidence. Whether co-mentions
should count more than the conversation's words depends on the turn: with no movie named yet
only popularity and the words can speak, with six named the co-mentions carry. A small
gradient-boosted tree model over the unweighted terms, their ranks and the shape of the turn
learns those interactions from the training dialogues, and re-orders the scorer's best
``candidates`` items. Everything below them keeps the linear order.

The trees are fitted on rows no scorer saw while counting: the training dialogues are split
into ``inner_folds``; for each, a copy of the scorer counted on the others gives the terms at
that fold's recommendation turns (cross-fitting, as in stacking).

Measured with ``python -m bench.crs_bench`` (5-fold, served through the gRPC server; against
``--no-rerank``): on ReDial-dev Recall@1 / 10 / 50 went from 0.018 / 0.190 / 0.383 to
0.035 / 0.199 / 0.388. Only the R@1 gain is clearly beyond the bootstrap intervals (about
+-0.015 at R@10, +-0.02 at R@50). On INSPIRED-dev (about 150 positive rows per fold) the
trees overfit and lost R@10 (0.127 -> 0.099), hence ``min_positives``: with fewer the scorer
stays linear.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .crs_dialogue import CrsDialogue, target_turns

logger = logging.getLogger(__name__)

#: The scorer's terms the trees see, in feature order (a term the scorer leaves out is 0).
TERM_NAMES = (
    "pop",
    "co",
    "co2",
    "seq",
    "kg",
    "self",
    "entity",
    "title",
    "text",
    "word",
    "query",
    "near",
)


@dataclass(frozen=True, slots=True)
class RerankConfig:
    """How :class:`TermReranker` is fitted and applied.

    Args:
        candidates: how many of the linear scorer's best items are re-ranked per turn.
        inner_folds: cross-fitting folds over the training dialogues (>= 2).
        max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization: of
            scikit-learn's ``HistGradientBoostingClassifier``; small, well-regularised trees
            for a few thousand recommendation turns (on ReDial-dev, 100 iterations with 200
            rows a leaf gave offline R@10 0.205 where 200 with 50 gave 0.197, inside the
            noise; the smaller model is kept).
        min_positives: fewer positive rows than this (recommended items among the candidates)
            and the trees are not fitted; the scorer stays linear (ReDial-dev's folds have
            about 1,500, INSPIRED-dev's about 150, too few: see the module docstring).
        seed: the trees' random state.
    """

    candidates: int = 200
    inner_folds: int = 4
    max_iter: int = 100
    learning_rate: float = 0.05
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 200
    l2_regularization: float = 1.0
    min_positives: int = 500
    seed: int = 0

    def __post_init__(self) -> None:
        if self.candidates < 2:
            raise ValueError(f"candidates must be >= 2, got {self.candidates}")
        if self.inner_folds < 2:
            raise ValueError(f"inner_folds must be >= 2, got {self.inner_folds}")


@dataclass(frozen=True, slots=True)
class TurnShape:
    """What the trees know of a turn besides the terms."""

    n_items: int  # catalog items in the context
    n_entities: int  # other linked entities
    text_chars: int  # length of the conversation text


#: scores(context ids, text) of a scorer counted on some dialogues, with its terms and shape
Scored = tuple[np.ndarray, Mapping[str, np.ndarray], TurnShape]


class TermReranker:
    """Re-ranks the best :attr:`RerankConfig.candidates` items of a linear score."""

    def __init__(self, config: RerankConfig | None = None) -> None:
        self.config = config or RerankConfig()
        self._model: object | None = None

    @property
    def fitted(self) -> bool:
        return self._model is not None

    def candidates(self, linear: np.ndarray) -> np.ndarray:
        """Indices of the best ``candidates`` items of ``linear``, best first."""
        k = min(self.config.candidates, len(linear))
        top = np.argpartition(-linear, k - 1)[:k]
        return top[np.argsort(-linear[top], kind="stable")]

    def features(
        self,
        linear: np.ndarray,
        terms: Mapping[str, np.ndarray],
        shape: TurnShape,
        candidates: np.ndarray,
    ) -> np.ndarray:
        """``(len(candidates), F)`` float32: each term, each term's rank among the candidates,
        the linear score and its rank, and the turn's shape."""
        n = len(candidates)
        cols: list[np.ndarray] = []
        for name in TERM_NAMES:
            term = terms.get(name)
            cols.append(np.zeros(n) if term is None else term[candidates])
        for values in list(cols):
            cols.append(_ranks(values))
        cols.append(linear[candidates])
        cols.append(np.arange(n, dtype=np.float64))  # candidates come best first
        cols += [np.full(n, float(v)) for v in (shape.n_items, shape.n_entities, shape.text_chars)]
        return np.stack(cols, axis=1).astype(np.float32)

    def fit(
        self,
        dialogues: Sequence[CrsDialogue],
        counted_on: Callable[[Sequence[CrsDialogue]], Callable[[Sequence[str], str], Scored]],
        item_index: Mapping[str, int],
        repeats: bool = True,
    ) -> TermReranker:
        """Fit the trees on cross-fitted rows of ``dialogues``.

        ``counted_on(dialogues)`` returns a scoring function of a scorer counted on those
        dialogues only; ``item_index`` maps item ids to score positions. ``repeats``: a target
        an earlier message named (in the turn's context) is a positive. Without (a scorer
        that does not rank the context's items again, as the product, which hides the items a
        shopper named), it is not: the context's items stay in the rows as negatives, so the
        trees learn to rank what the conversation has not named yet, and only from that.
        """
        from sklearn.ensemble import HistGradientBoostingClassifier

        cfg = self.config
        self._model = None
        rows: list[np.ndarray] = []
        labels: list[np.ndarray] = []
        for f in range(cfg.inner_folds):
            held = [d for n, d in enumerate(dialogues) if n % cfg.inner_folds == f]
            rest = [d for n, d in enumerate(dialogues) if n % cfg.inner_folds != f]
            if not held or not rest:
                continue
            score = counted_on(rest)
            for d in held:
                for m, context, text in target_turns(d):
                    named = set() if repeats else set(context)
                    wanted = [t for t in m.targets if t not in named]
                    targets = [item_index[t] for t in wanted if t in item_index]
                    if not targets:
                        continue
                    linear, terms, shape = score(context, text)
                    cands = self.candidates(linear)
                    rows.append(self.features(linear, terms, shape, cands))
                    labels.append(np.isin(cands, targets))
            logger.info(
                "rerank rows: inner fold %d/%d, %d turns", f + 1, cfg.inner_folds, len(rows)
            )
        positives = int(sum(y.sum() for y in labels))
        if positives < cfg.min_positives:
            logger.warning(
                "not re-ranking: %d recommended items among the candidates, need %d",
                positives,
                cfg.min_positives,
            )
            return self
        model = HistGradientBoostingClassifier(
            max_iter=cfg.max_iter,
            learning_rate=cfg.learning_rate,
            max_leaf_nodes=cfg.max_leaf_nodes,
            min_samples_leaf=cfg.min_samples_leaf,
            l2_regularization=cfg.l2_regularization,
            early_stopping=False,
            random_state=cfg.seed,
        )
        model.fit(np.concatenate(rows), np.concatenate(labels))
        self._model = model
        logger.info("rerank trees fitted on %d turns, %d positives", len(rows), positives)
        return self

    def rerank(
        self, linear: np.ndarray, terms: Mapping[str, np.ndarray], shape: TurnShape
    ) -> np.ndarray:
        """Scores ``(I,)``: the candidates by the trees' log-probability; every other item
        below them, in its linear order (an affine map of ``linear``). Unfitted: ``linear``."""
        if self._model is None or len(linear) == 0:
            return linear
        cands = self.candidates(linear)
        proba = self._model.predict_proba(self.features(linear, terms, shape, cands))  # type: ignore[attr-defined]
        log_p = np.log(np.clip(proba[:, 1], 1e-9, 1.0))
        spread = float(np.std(linear[cands])) or 1.0
        out = float(log_p.min()) - 1.0 - (float(linear[cands].min()) - linear) / spread
        out[cands] = log_p
        return out


def _ranks(values: np.ndarray) -> np.ndarray:
    """How many of ``values`` are larger than each (ties share it). A term with one value for
    every candidate says nothing about the turn: all get ``len(values)``, past any real rank,
    rather than 0 ("best") or some incidental order."""
    if len(values) == 0 or values.min() == values.max():
        return np.full(len(values), float(len(values)))
    ascending = np.sort(values)
    return (len(values) - np.searchsorted(ascending, values, side="right")).astype(np.float64)


__all__ = ["TERM_NAMES", "RerankConfig", "TermReranker", "TurnShape"]
