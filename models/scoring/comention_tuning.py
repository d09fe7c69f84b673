"""Choosing the conversational scorer's weights on its training dialogues only (nested).

A weight picked on the dialogues a figure is computed on flatters that figure. Here the
weights of :class:`~models.scoring.CoMentionConfig` are searched with the training dialogues
alone, so :func:`~models.scoring.comention_training.fit_comention` (``kgrec train
--conversations --tune-weights``) and every fold of ``bench.crs_bench`` choose them the same
way:

1. The training dialogues are split into ``inner_folds`` (dialogue ``n`` in fold
   ``n % inner_folds``). For each inner fold a scorer counted on the other inner folds gives,
   at every target turn of that fold, each unweighted term over the whole catalog
   (:meth:`~models.scoring.CoMentionScorer.terms` with the ideal context of
   :func:`~models.crs.target_turns`): a :class:`TermTable` of out-of-fold terms.
2. Coordinate search from a start that owes nothing to any data set (:func:`neutral_config`:
   the product defaults with every term weight 1): each weight in turn is multiplied by 0,
   0.5, 0.75, 1.33 and 2 (a zero weight tries 0.25), keeping a change that raises Recall@10 +
   Recall@50 / 2 over the table's samples; up to ``rounds`` rounds.
3. With more than one ``seeker_mentions`` setting, a table and a search per setting; the one
   whose searched weights score best is kept.

The protocol decides which samples count: ``repeats=False`` (the product default: named items
hidden, nothing the shopper named ranked again) drops samples whose target was mentioned
earlier in the dialogue and holds ``w_self`` at 0. ``w_entity`` (linked non-item entities)
keeps its start value: the ideal context has no linked entities to measure it on.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.crs import CrsDialogue, target_turns
from models.crs.reranker import TERM_NAMES

from .comention_config import CoMentionConfig

__all__ = [
    "STEPS",
    "TERMS",
    "TermTable",
    "WeightSearch",
    "neutral_config",
    "objective",
    "recall",
    "search",
    "term_table",
    "tune_protocols",
    "tune_weights",
    "weights_of",
]

log = logging.getLogger(__name__)

#: the scorer's terms, but ``entity``: the offline context has no linked non-movie entities
TERMS = tuple(t for t in TERM_NAMES if t != "entity")
STEPS = (0.0, 0.5, 0.75, 1.33, 2.0)

#: fit(dialogues, config) -> a scorer with ``item_ids`` and ``terms(context, text, every=)``
Fit = Callable[[Sequence[CrsDialogue], CoMentionConfig], Any]


@dataclass(frozen=True, slots=True)
class WeightSearch:
    """How :func:`tune_weights` searches.

    Args:
        inner_folds: folds of the training dialogues (>= 2); each fold's terms come from a
            scorer counted on the others.
        rounds: coordinate-search rounds (a round tries every weight once).
        repeats: count samples whose target was mentioned earlier in the dialogue (ReDial's
            standard protocol, where ``w_self`` is searched too); ``False``: drop them and
            hold ``w_self`` at 0 (the product default).
        seeker_mentions: the settings of ``CoMentionConfig.seeker_mentions`` tried.
        start: where the search starts (default :func:`neutral_config`).
    """

    inner_folds: int = 4
    rounds: int = 3
    repeats: bool = False
    seeker_mentions: tuple[bool, ...] = (False, True)
    start: CoMentionConfig | None = None

    def __post_init__(self) -> None:
        if self.inner_folds < 2:
            raise ValueError(f"inner_folds must be >= 2, got {self.inner_folds}")
        if not self.seeker_mentions:
            raise ValueError("seeker_mentions needs at least one setting")


def neutral_config(base: CoMentionConfig | None = None) -> CoMentionConfig:
    """``base`` (default: the product's :class:`CoMentionConfig`) with every term weight 1:
    a start no data set chose (the defaults' weights were picked on ReDial-dev)."""
    weights: dict[str, Any] = {f"w_{t}": 1.0 for t in (*TERMS, "entity")}
    return dataclasses.replace(base or CoMentionConfig(), **weights)


@dataclass
class TermTable:
    """Every target turn's score terms: ``terms`` ``(N, len(TERMS), I)`` float32, the fold of
    each turn ``(N,)``, one ``(turn, target index)`` row per sample ``(S, 2)`` (``-1``: not in
    the catalog, never found) and whether each sample's target was mentioned before ``(S,)``."""

    terms: np.ndarray
    fold: np.ndarray
    samples: np.ndarray
    repeat: np.ndarray

    def __post_init__(self) -> None:
        if len(self.repeat) != len(self.samples):
            raise ValueError(f"{len(self.repeat)} repeat flags for {len(self.samples)} samples")


def term_table(
    dialogues: Sequence[CrsDialogue],
    fold_of: Sequence[int],
    config: CoMentionConfig,
    fit: Fit,
) -> TermTable:
    """Out-of-fold terms of ``dialogues``: fold ``f``'s turns scored by ``fit`` on the
    dialogues of the other folds (every term, whatever its weight in ``config``)."""
    rows: list[np.ndarray] = []
    fold: list[int] = []
    samples: list[tuple[int, int]] = []
    repeat: list[bool] = []
    for f in sorted(set(fold_of)):
        train = [d for d, g in zip(dialogues, fold_of, strict=True) if g != f]
        held = [d for d, g in zip(dialogues, fold_of, strict=True) if g == f]
        if not train or not held:
            continue
        scorer: Any = fit(train, config)
        index = {item: n for n, item in enumerate(scorer.item_ids)}
        for d in held:
            for m, context, conversation in target_turns(d):
                terms = scorer.terms(context, conversation, every=True)
                table = np.zeros((len(TERMS), len(index)), dtype=np.float32)
                for k, name in enumerate(TERMS):
                    if name in terms:
                        table[k] = terms[name]
                samples += [(len(rows), index.get(t, -1)) for t in m.targets]
                repeat += [t in context for t in m.targets]
                rows.append(table)
                fold.append(f)
        log.info("term table: fold %d, %d turns so far", f, len(rows))
    if not rows:
        return TermTable(
            np.zeros((0, len(TERMS), 0), np.float32),
            np.zeros(0, np.int64),
            np.zeros((0, 2), np.int64),
            np.zeros(0, bool),
        )
    return TermTable(
        np.stack(rows), np.array(fold), np.array(samples, dtype=np.int64), np.array(repeat)
    )


class _Evaluator:
    """Recall of weight vectors over one selection of a table's samples. A sample's rank is
    its place in the stable order of the weighted scores (ties: the lower catalog index
    first), as the benchmark ranks: ``np.argsort(-scores, kind="stable")``."""

    def __init__(self, table: TermTable, on_folds: Sequence[int] | None, repeats: bool) -> None:
        keep = np.ones(len(table.samples), dtype=bool)
        if on_folds is not None:
            keep &= np.isin(table.fold[table.samples[:, 0]], list(on_folds))
        if not repeats:
            keep &= ~table.repeat
        rows = table.samples[keep]
        self.n = len(rows)
        turns = np.unique(rows[:, 0])
        # every turn: the table itself, not a copy of it
        self.terms = table.terms if len(turns) == len(table.terms) else table.terms[turns]
        self.pos = np.searchsorted(turns, rows[:, 0])
        self.found = rows[:, 1] >= 0
        self.target = np.where(self.found, rows[:, 1], 0)

    def scores(self, weights: Sequence[float]) -> np.ndarray:
        """``(turns, I)`` float32 weighted sums."""
        w = np.asarray(weights, dtype=np.float32)
        return np.tensordot(w, self.terms, axes=(0, 1))

    def recall(self, scores: np.ndarray) -> tuple[float, float]:
        if self.n == 0:
            return 0.0, 0.0
        rows = scores[self.pos]  # (S, I)
        mine = rows[np.arange(self.n), self.target][:, None]
        before = np.arange(rows.shape[1])[None, :] < self.target[:, None]
        rank = (rows > mine).sum(1) + ((rows == mine) & before).sum(1)
        rank = np.where(self.found, rank, np.iinfo(np.int64).max)
        return float((rank < 10).mean()), float((rank < 50).mean())


def recall(
    table: TermTable,
    weights: Sequence[float],
    on_folds: Sequence[int] | None = None,
    *,
    repeats: bool = True,
) -> tuple[float, float]:
    """(Recall@10, Recall@50) of ``weights`` (in :data:`TERMS` order) over the samples of
    ``on_folds`` (default: all); without ``repeats``, samples whose target was mentioned
    before are left out. No sample: (0, 0)."""
    ev = _Evaluator(table, on_folds, repeats)
    return ev.recall(ev.scores(weights))


def objective(r: tuple[float, float]) -> float:
    return r[0] + r[1] / 2


def search(
    table: TermTable,
    start: Mapping[str, float],
    on_folds: Sequence[int] | None = None,
    rounds: int = 3,
    *,
    repeats: bool = True,
    fixed: Sequence[str] = (),
) -> dict[str, float]:
    """Coordinate search of the weights (see the module docstring) over the samples of
    ``on_folds``; the terms in ``fixed`` keep their start value. A trial changes one weight,
    so its scores are the current best's plus that term times the change."""
    ev = _Evaluator(table, on_folds, repeats)
    best_w = dict(start)
    base = ev.scores([best_w[t] for t in TERMS])
    best = objective(ev.recall(base))
    for _ in range(rounds):
        improved = False
        for k, name in enumerate(TERMS):
            if name in fixed:
                continue
            for step in STEPS:
                old = best_w[name]
                new = old * step if old else (0.25 if step > 1 else 0.0)
                if new == old:
                    continue
                trial = base + np.float32(new - old) * ev.terms[:, k]
                v = objective(ev.recall(trial))
                if v > best + 1e-4:
                    best, improved = v, True
                    best_w = {**best_w, name: new}
                    base = ev.scores([best_w[t] for t in TERMS])  # afresh: no drift
        if not improved:
            break
    return best_w


def weights_of(config: CoMentionConfig) -> dict[str, float]:
    return {t: float(getattr(config, f"w_{t}")) for t in TERMS}


def tune_weights(
    dialogues: Sequence[CrsDialogue], fit: Fit, plan: WeightSearch | None = None
) -> CoMentionConfig:
    """Weights searched on ``dialogues`` alone (module docstring); ``fit(dialogues, config)``
    counts a scorer without its re-ranker. Returns the start config with the chosen weights
    and ``seeker_mentions``. Deterministic: the inner split is by position, ties keep the
    earlier setting."""
    plan = plan or WeightSearch()
    return tune_protocols(dialogues, fit, plan, (plan.repeats,))[plan.repeats]


def tune_protocols(
    dialogues: Sequence[CrsDialogue],
    fit: Fit,
    plan: WeightSearch,
    repeats: Sequence[bool] = (True, False),
) -> dict[bool, CoMentionConfig]:
    """:func:`tune_weights` for each ``repeats`` setting of ``plan`` (the standard protocol's
    samples, the repeats-removed ones), from the same term tables: the terms do not depend
    on the weights, so one table per ``seeker_mentions`` setting serves every protocol."""
    start = plan.start or neutral_config()
    fold_of = [n % plan.inner_folds for n in range(len(dialogues))]
    best: dict[bool, tuple[float, CoMentionConfig]] = {}
    for seeker in plan.seeker_mentions:
        config = dataclasses.replace(start, seeker_mentions=seeker)
        table = term_table(dialogues, fold_of, config, fit)
        for rep in repeats:
            begin = config if rep else dataclasses.replace(config, w_self=0.0)
            fixed = () if rep else ("self",)
            w = search(table, weights_of(begin), None, plan.rounds, repeats=rep, fixed=fixed)
            r = recall(table, [w[t] for t in TERMS], repeats=rep)
            chosen: dict[str, Any] = {f"w_{t}": v for t, v in w.items()}
            picked = dataclasses.replace(begin, **chosen)
            log.info(
                "weights searched on %d dialogues (seeker_mentions %s, repeats %s): "
                "inner R@10 %.4f R@50 %.4f %s",
                len(dialogues), seeker, rep, r[0], r[1], w,
            )  # fmt: skip
            if rep not in best or objective(r) > best[rep][0] + 1e-4:
                best[rep] = (objective(r), picked)
        del table
    return {rep: picked for rep, (_, picked) in best.items()}
