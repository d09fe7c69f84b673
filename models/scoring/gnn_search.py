"""The GNN scorer's turn as one inner-product search, for catalogues past exact search.

:class:`models.scoring.gnn_scorer.GnnScorer` scores a turn as a sum of catalogue-z-scored
terms: ``z(H @ h_u)`` over the raw item matrix ``H`` (a known user), and ``z(Ĥ @ s)``,
``z(Ĥ @ p)`` over the row-normalised one (the conversation, the profile). Each z-score is
``(M @ v - mean(M @ v)) / std(M @ v)``, and mean and std of ``M @ v`` follow from the rows'
running moments (:class:`models.scoring.turn_scores.ItemStats`), so the whole turn is
``[H | Ĥ] @ w + c`` (just ``H @ w + c`` for a cosine model, whose ``H`` is normalised):
best items from a FAISS index, candidate scores from their own rows
(:class:`models.scoring.turn_scores.LinearScores`). Same ranking as the exact path up to the
index's recall; ``bench.ann`` measures that.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .item_index import FaissIvfIndex, ItemIndex
from .turn_scores import Catalog, ItemStats, LinearScores

__all__ = ["GnnSearch"]

logger = logging.getLogger(__name__)


def _unit(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.maximum(norms, 1e-12)


class GnnSearch:
    """Search matrix, moments and FAISS index over a GNN scorer's item vectors."""

    def __init__(self, items: np.ndarray, *, normalized: bool, index: ItemIndex | None = None):
        self.normalized = normalized
        self.dim = items.shape[1]
        self.matrix = np.ascontiguousarray(self._rows(np.asarray(items, dtype=np.float32)))
        self.stats = ItemStats(self.matrix)
        self.index = index if index is not None else FaissIvfIndex(self.matrix)

    @classmethod
    def open(cls, items: np.ndarray, *, normalized: bool, cache: Path | None) -> GnnSearch:
        """Over ``items``, with the FAISS index read from ``cache`` when it holds one for
        this many items (a checkpoint's items do not change; its k-means is the slow part
        of a start at a million items), else built and written there."""
        index: FaissIvfIndex | None = None
        if cache is not None and cache.exists():
            try:
                index = FaissIvfIndex.read(cache)
            except Exception as e:  # noqa: BLE001 - a bad cache is rebuilt, not fatal
                logger.warning("item index cache %s unreadable (%s): rebuilding", cache, e)
            if index is not None and len(index) != len(items):
                index = None
        search = cls(items, normalized=normalized, index=index)
        if index is None and cache is not None and isinstance(search.index, FaissIvfIndex):
            try:
                search.index.write(cache)
            except OSError as e:
                logger.warning("cannot cache the item index in %s: %s", cache, e)
        return search

    def _rows(self, items: np.ndarray) -> np.ndarray:
        return items if self.normalized else np.hstack([items, _unit(items)])

    def _lift(self, v: np.ndarray, *, raw: bool) -> np.ndarray:
        """``v`` as a query in the matrix's space: against ``H`` (``raw``) or ``Ĥ``."""
        if self.normalized:
            return v
        zero = np.zeros_like(v)
        return np.concatenate([v, zero] if raw else [zero, v])

    def linear(
        self,
        scorer: Catalog,
        user: np.ndarray | None,
        session: np.ndarray | None,
        profile: np.ndarray | None,
    ) -> LinearScores | None:
        """The turn's :class:`LinearScores`, or ``None`` with no term (popularity then)."""
        terms = []
        if user is not None:
            terms.append(self._lift(user, raw=True))
        for v in (session, profile):
            if v is not None and v.shape == (self.dim,) and np.any(v):
                terms.append(self._lift(np.asarray(v, dtype=np.float32), raw=False))
        if not terms:
            return None
        query = np.zeros(self.matrix.shape[1], dtype=np.float64)
        constant = 0.0
        for v in terms:
            mean, std = self.stats.mean_std(v)
            query += v / std
            constant -= mean / std
        return LinearScores(scorer, self.matrix, self.index, query.astype(np.float32), constant)

    def similar(self, rows: list[int], min_similarity: float, k: int = 256) -> list[int]:
        """Rows whose cosine with one of ``rows`` is ``>= min_similarity`` (``rows`` left
        out), most similar first: each row's ``k`` nearest by the index (near-duplicates are
        few, so a high threshold is met well inside them)."""
        best: dict[int, float] = {}
        for r in rows:
            unit = self.matrix[r] if self.normalized else self.matrix[r, self.dim :]
            found, sims = self.index.search(self._lift(unit, raw=False), k)
            for f, sim in zip(found.tolist(), sims.tolist(), strict=True):
                if sim >= min_similarity and f not in rows and sim > best.get(f, -2.0):
                    best[f] = sim
        return sorted(best, key=lambda f: (-best[f], f))

    def set_row(self, row: int, vector: np.ndarray) -> None:
        """Item ``row`` is now ``vector`` (``row == len``: a new item)."""
        new = self._rows(np.asarray(vector, dtype=np.float32)[None, :])[0]
        if row < len(self.matrix):
            self.stats.replace(self.matrix[row].copy(), new)
            self.matrix[row] = new
        else:
            self.stats.replace(None, new)
            self.matrix = np.vstack([self.matrix, new[None, :]])
        self.index.set_row(row, new)
