"""Top-k inner-product search over a scorer's item matrix: exact, or approximate with FAISS.

A :class:`models.scoring.gnn_scorer.GnnScorer` turn score is a sum of z-scored inner
products, which is one inner product ``M @ w`` plus a constant (see
:mod:`models.scoring.linear_scores`), so "the scorer's best ``k`` items" is a maximum
inner-product search. Exact search reads the whole matrix on every turn (memory-bound: about
``4 * d`` bytes per item); past a catalogue size an inverted-file index (FAISS ``IndexIVFFlat``,
inner product) reads only the ``nprobe`` lists nearest the query. ``bench.ann`` measures both
(recall@100 against exact, query time, build time, memory) at 10k to 1M items; the defaults
here (:data:`ANN_MIN_ITEMS`, :func:`ivf_lists`, :data:`NPROBE`) are what it chose.

Rows are the scorer's item rows: an index is built over the matrix and told of each added or
replaced row (:meth:`ItemIndex.set_row`), so it never needs a rebuild while serving.
"""

from __future__ import annotations

import logging
import math
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

__all__ = [
    "ANN_MIN_ITEMS",
    "INDEX_KINDS",
    "NPROBE",
    "ExactIndex",
    "FaissIvfIndex",
    "ItemIndex",
    "index_kind",
    "ivf_lists",
    "nprobe_for",
    "open_index",
]

#: ``auto`` switches from exact to FAISS at this many items
ANN_MIN_ITEMS = 50_000
#: inverted lists probed per query, at least (see :func:`nprobe_for`)
NPROBE = 32
#: k-means sample per inverted list when training the index
TRAIN_PER_LIST = 64
INDEX_KINDS = ("auto", "exact", "faiss")


def ivf_lists(n_items: int) -> int:
    """Inverted lists for ``n_items``: ``4 sqrt(n)`` (FAISS's guideline is 4–16 sqrt(n)),
    at least 1 and at most ``n / 39`` so each list is trained on FAISS's minimum of 39 points."""
    return max(1, min(int(4 * math.sqrt(n_items)), n_items // 39))


def nprobe_for(nlist: int) -> int:
    """Lists probed: :data:`NPROBE`, or 1/60 of the lists when that is more (recall@100 falls
    as lists grow at a fixed probe count; at 1M items, 4,000 lists, this probes 66)."""
    return min(nlist, max(NPROBE, nlist // 60))


class ItemIndex(ABC):
    """Maximum inner-product search over the rows of an ``(n, d)`` float32 matrix."""

    kind: str = ""

    @abstractmethod
    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The (at most) ``k`` rows with the largest ``matrix[row] @ query``: ``(rows int64,
        inner products float32)``, best first."""

    @abstractmethod
    def set_row(self, row: int, vector: np.ndarray) -> None:
        """Row ``row`` is now ``vector`` (``row == len`` appends)."""

    @abstractmethod
    def __len__(self) -> int: ...


class ExactIndex(ItemIndex):
    """Brute force: one matrix-vector product and a partial sort."""

    kind = "exact"

    def __init__(self, matrix: np.ndarray) -> None:
        self._matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._matrix)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            scores = self._matrix @ np.asarray(query, dtype=np.float32)
        k = min(k, len(scores))
        if k <= 0:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((top, -scores[top]))]
        return top.astype(np.int64), scores[top]

    def set_row(self, row: int, vector: np.ndarray) -> None:
        with self._lock:
            if row == len(self._matrix):
                self._matrix = np.vstack([self._matrix, vector[None, :].astype(np.float32)])
            else:
                self._matrix[row] = vector


class FaissIvfIndex(ItemIndex):
    """FAISS ``IndexIVFFlat`` with inner-product metric, rows as explicit ids (so a replaced
    row is removed and re-added under the same id)."""

    kind = "faiss"

    def __init__(
        self,
        matrix: np.ndarray,
        *,
        nlist: int | None = None,
        nprobe: int | None = None,
        seed: int = 0,
    ) -> None:
        import faiss

        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        n, d = matrix.shape
        nlist = nlist or ivf_lists(n)
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        # the centroids from a sample: training on every row costs minutes at 1M items
        sample = matrix
        if n > TRAIN_PER_LIST * nlist:
            pick = np.random.default_rng(seed).choice(n, TRAIN_PER_LIST * nlist, replace=False)
            sample = matrix[np.sort(pick)]
        index.train(sample)
        index.add_with_ids(matrix, np.arange(n, dtype=np.int64))
        index.nprobe = nprobe or nprobe_for(nlist)
        self._index: Any = index
        self._faiss: Any = faiss
        self._n = n
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._n

    def write(self, path: Path) -> None:
        """Save the index (atomically: a reader never sees half a file)."""
        tmp = path.with_name(f".{path.name}.tmp")
        with self._lock:
            self._faiss.write_index(self._index, str(tmp))
        tmp.replace(path)

    @classmethod
    def read(cls, path: Path) -> FaissIvfIndex:
        """An index :meth:`write` saved."""
        import faiss

        self = cls.__new__(cls)
        self._faiss, self._index = faiss, faiss.read_index(str(path))
        self._n, self._lock = int(self._index.ntotal), threading.Lock()
        return self

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(np.asarray(query, dtype=np.float32)[None, :])
        with self._lock:
            scores, rows = self._index.search(q, min(k, self._n))
        keep = rows[0] >= 0
        return rows[0][keep].astype(np.int64), scores[0][keep]

    def set_row(self, row: int, vector: np.ndarray) -> None:
        ids = np.array([row], dtype=np.int64)
        with self._lock:
            if row < self._n:
                self._index.remove_ids(ids)
            else:
                self._n = row + 1
            self._index.add_with_ids(np.asarray(vector, dtype=np.float32)[None, :], ids)


def index_kind(n_items: int, kind: str = "auto", *, min_items: int = ANN_MIN_ITEMS) -> str:
    """``exact`` or ``faiss`` for a catalogue of ``n_items``: ``auto`` is FAISS from
    ``min_items`` items (exact below, or when FAISS is not installed)."""
    if kind not in INDEX_KINDS:
        raise ValueError(f"unknown item index {kind!r}; choose one of {', '.join(INDEX_KINDS)}")
    if kind != "auto":
        return kind
    if n_items < min_items:
        return "exact"
    try:
        import faiss  # noqa: F401
    except ImportError:
        logger.warning("faiss is not installed: exact search over %d items", n_items)
        return "exact"
    return "faiss"


def open_index(
    matrix: np.ndarray, kind: str = "auto", *, min_items: int = ANN_MIN_ITEMS
) -> ItemIndex:
    """An index over ``matrix`` of the kind :func:`index_kind` picks."""
    if index_kind(len(matrix), kind, min_items=min_items) == "exact":
        return ExactIndex(matrix)
    return FaissIvfIndex(matrix)
