"""A turn's model scores: the scorer's best items, and the score of any candidate.

A turn asks its scorer once (:meth:`ItemScorer.turn_scores`) and keeps the answer: the
retrieve step widens the pool with :meth:`TurnScores.best`, the score step ranks the
candidates with :meth:`TurnScores.for_items`, so both read one scoring.

* :class:`VectorScores` holds the whole catalogue's vector (:meth:`ItemScorer.catalog_scores`):
  exact, and the contract's default.
* :class:`LinearScores` holds a query ``w`` and constant ``c`` with ``score = M @ w + c``
  over the item matrix ``M`` (a GNN turn score is a sum of z-scored inner products, which is
  one inner product; :class:`ItemStats` gives each term's catalogue mean and spread from
  running moments). Its best items come from an :class:`models.scoring.item_index.ItemIndex`
  (approximate past a catalogue size), and a candidate's score is its own row's product, so
  nothing per turn reads all ``n`` rows.
* :class:`TensorScores` holds the catalogue's vector as a tensor where it was computed (a
  GPU): the best items and the candidates' scores are picked there, and only those cross to
  the host.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch

from .item_index import ItemIndex

__all__ = ["Catalog", "ItemStats", "LinearScores", "TensorScores", "TurnScores", "VectorScores"]


class Catalog(Protocol):
    """What turn scores read of their scorer (:class:`models.scoring.item_scorer.ItemScorer`)."""

    @property
    def item_ids(self) -> Sequence[str]: ...

    def index_of(self, item_id: str) -> int | None: ...

    def rows_of(self, item_ids: Sequence[str]) -> np.ndarray: ...

    def seen_item_ids(self, user_id: str | None) -> Sequence[str]: ...

    def scores_for(self, item_ids: Sequence[str], scores: np.ndarray) -> np.ndarray: ...

    def top_k(
        self,
        scores: np.ndarray,
        k: int,
        *,
        exclude_item_ids: Sequence[str] = (),
        user_id: str | None = None,
    ) -> list[tuple[str, float]]: ...


class TurnScores(ABC):
    """One turn's scoring (see the module docstring)."""

    @abstractmethod
    def best(
        self, k: int, *, exclude_item_ids: Sequence[str] = (), user_id: str | None = None
    ) -> list[tuple[str, float]]:
        """The ``k`` best ``(item_id, score)``, best first, without ``exclude_item_ids`` and
        the user's training items."""

    @abstractmethod
    def for_items(self, item_ids: Sequence[str]) -> np.ndarray:
        """``float32[len(item_ids)]``; ids the scorer does not know score below the rest."""


class VectorScores(TurnScores):
    """The whole catalogue's score vector and the contract's rules over it."""

    def __init__(self, scorer: Catalog, scores: np.ndarray) -> None:
        self.scorer = scorer
        self.scores = scores

    def best(
        self, k: int, *, exclude_item_ids: Sequence[str] = (), user_id: str | None = None
    ) -> list[tuple[str, float]]:
        return self.scorer.top_k(self.scores, k, exclude_item_ids=exclude_item_ids, user_id=user_id)

    def for_items(self, item_ids: Sequence[str]) -> np.ndarray:
        return self.scorer.scores_for(item_ids, self.scores)


class TensorScores(TurnScores):
    """:class:`VectorScores`' rules over a ``(I,)`` tensor on its device: :meth:`best` is a
    ``topk`` there (ties by catalog order, as :meth:`ItemScorer.top_k`), :meth:`for_items` a
    gather; items added after the scoring are unknown to it."""

    def __init__(self, scorer: Catalog, scores: torch.Tensor) -> None:
        self.scorer = scorer
        self.scores = scores

    def best(
        self, k: int, *, exclude_item_ids: Sequence[str] = (), user_id: str | None = None
    ) -> list[tuple[str, float]]:
        n = len(self.scores)
        dropped = self.scorer.rows_of([*exclude_item_ids, *self.scorer.seen_item_ids(user_id)])
        dropped = np.unique(dropped[(dropped >= 0) & (dropped < n)])
        k = min(k, n - len(dropped))
        if k <= 0:
            return []
        masked = self.scores
        if len(dropped):
            masked = masked.clone()
            masked[torch.from_numpy(dropped).to(masked.device)] = -torch.inf
        # every row tied with the k-th best too, so ties at the cut go by catalog order
        rows = torch.nonzero(masked >= torch.topk(masked, k).values[-1]).flatten()
        values, rows_np = masked[rows].float().cpu().numpy(), rows.cpu().numpy()
        order = np.lexsort((rows_np, -values.astype(np.float64)))[:k]
        ids = self.scorer.item_ids
        return [(ids[rows_np[o]], float(values[o])) for o in order]

    def for_items(self, item_ids: Sequence[str]) -> np.ndarray:
        rows = self.scorer.rows_of(item_ids)
        out = np.empty(len(item_ids), dtype=np.float32)
        known = (rows >= 0) & (rows < len(self.scores))
        picked = torch.from_numpy(rows[known]).to(self.scores.device)
        out[known] = self.scores[picked].float().cpu().numpy()
        if not known.all():
            low = float(self.scores.min()) if len(self.scores) else 0.0
            out[~known] = low - 1.0
        return out


class LinearScores(TurnScores):
    """``score = matrix[row] @ query + constant``, best items from ``index`` (see the module
    docstring). ``seen``: the user's training items, left out of :meth:`best`."""

    def __init__(
        self,
        scorer: Catalog,
        matrix: np.ndarray,
        index: ItemIndex,
        query: np.ndarray,
        constant: float,
    ) -> None:
        self.scorer, self.matrix, self.index = scorer, matrix, index
        self.query = np.asarray(query, dtype=np.float32)
        self.constant = float(constant)

    def best(
        self, k: int, *, exclude_item_ids: Sequence[str] = (), user_id: str | None = None
    ) -> list[tuple[str, float]]:
        ids = self.scorer.item_ids
        drop = set(exclude_item_ids).union(self.scorer.seen_item_ids(user_id))
        rows, scores = self.index.search(self.query, k + len(drop))
        out = []
        for r, s in zip(rows.tolist(), scores.tolist(), strict=True):
            if r < len(ids) and ids[r] not in drop:
                out.append((ids[r], s + self.constant))
        return out[:k]

    def for_items(self, item_ids: Sequence[str]) -> np.ndarray:
        rows = self.scorer.rows_of(item_ids)
        out = np.empty(len(item_ids), dtype=np.float32)
        known = (rows >= 0) & (rows < len(self.matrix))
        out[known] = self.matrix[rows[known]] @ self.query + self.constant
        if not known.all():
            out[~known] = (float(out[known].min()) if known.any() else 0.0) - 1.0
        return out


class ItemStats:
    """Running first and second moments of the item matrix's rows, so a term ``M @ v`` has
    mean ``mean @ v`` and (unbiased) variance ``v @ cov @ v`` without reading ``M``."""

    def __init__(self, matrix: np.ndarray) -> None:
        m = np.asarray(matrix, dtype=np.float64)
        self.n = len(m)
        self._sum = m.sum(0)
        self._outer = m.T @ m
        self._moments: tuple[np.ndarray, np.ndarray] | None = None  # (mean, cov), till a change

    def replace(self, old: np.ndarray | None, new: np.ndarray) -> None:
        """A row changed from ``old`` (``None``: a new row) to ``new``."""
        new = np.asarray(new, dtype=np.float64)
        if old is not None:
            old = np.asarray(old, dtype=np.float64)
            self._sum -= old
            self._outer -= np.outer(old, old)
        else:
            self.n += 1
        self._sum += new
        self._outer += np.outer(new, new)
        self._moments = None

    def mean_std(self, v: np.ndarray) -> tuple[float, float]:
        """Mean and standard deviation (unbiased, at least 1e-6, as the exact path's z-score)
        of ``M @ v`` over the rows."""
        v = np.asarray(v, dtype=np.float64)
        if self.n < 1:
            return 0.0, 1.0
        if self._moments is None:
            mean = self._sum / self.n
            cov = (self._outer - self.n * np.outer(mean, mean)) / max(self.n - 1, 1)
            self._moments = (mean, cov)
        mean, cov = self._moments
        if self.n < 2:
            return float(mean @ v), 1.0
        var = float(v @ cov @ v)
        return float(mean @ v), max(np.sqrt(max(var, 0.0)), 1e-6)
