"""A small on-disk cache of fixed-size embeddings keyed by content hashes."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_MEMORY_ROWS", "EmbeddingCache", "content_key"]


def content_key(*parts: str | bytes) -> str:
    """sha256 over the parts (strings are UTF-8 encoded), hex."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8") if isinstance(part, str) else part)
        h.update(b"\x00")
    return h.hexdigest()


#: Rows an in-memory cache (``directory=None``) keeps by default before evicting the least
#: recently used: a serving process sees an endless stream of new texts.
DEFAULT_MEMORY_ROWS = 4096


class EmbeddingCache:
    """``<dir>/<namespace>.npy`` (rows, float32) + ``<namespace>.json`` (key -> row).

    A row is recomputed only when its key (a hash of the encoder input) is missing, so
    changing an item's text changes its key and triggers re-encoding of that item only.
    Writes are atomic (temp file + ``os.replace``); the last writer wins.

    Rows are kept one array per key in insertion/use order, so ``put`` costs the same however
    many rows are cached (the ``.npy`` file is assembled only in :meth:`flush`). With
    ``directory=None`` the cache lives in memory only and is a bounded LRU: once it holds
    ``max_rows`` rows, each new row evicts the least recently read or written one. Thread-safe.

    Args:
        directory: cache folder (created on first write); ``None``: memory only, bounded.
        namespace: file stem, e.g. ``"minilm-256"``; different encoders never share rows.
        dim: embedding size, checked on read.
        max_rows: most rows kept; default :data:`DEFAULT_MEMORY_ROWS` in memory, unbounded
            on disk (a corpus cache that ``flush`` persists). ``0`` keeps nothing.
    """

    def __init__(
        self,
        directory: Path | str | None,
        namespace: str,
        dim: int,
        *,
        max_rows: int | None = None,
    ) -> None:
        self.directory = Path(directory).expanduser() if directory is not None else None
        self.namespace = namespace
        self.dim = dim
        if max_rows is None and self.directory is None:
            max_rows = DEFAULT_MEMORY_ROWS
        if max_rows is not None and max_rows < 0:
            raise ValueError(f"max_rows must be >= 0, got {max_rows}")
        self.max_rows = max_rows
        self._rows: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._dirty = False
        self._load()

    @property
    def enabled(self) -> bool:
        return self.directory is not None

    def _paths(self) -> tuple[Path, Path]:
        assert self.directory is not None
        return self.directory / f"{self.namespace}.npy", self.directory / f"{self.namespace}.json"

    def _load(self) -> None:
        if self.directory is None:
            return
        npy, idx = self._paths()
        if not (npy.exists() and idx.exists()):
            return
        try:
            rows = np.load(npy)
            index = json.loads(idx.read_text())
        except (OSError, ValueError) as e:
            logger.warning("ignoring unreadable embedding cache %s: %s", npy, e)
            return
        if rows.ndim != 2 or rows.shape[1] != self.dim or len(index) > rows.shape[0]:
            logger.warning("ignoring embedding cache %s with shape %s", npy, rows.shape)
            return
        rows = rows.astype(np.float32, copy=False)
        for key, row in sorted(index.items(), key=lambda kv: int(kv[1])):
            self._rows[str(key)] = rows[int(row)]
        self._evict()

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Rows for ``keys`` ((n, dim), zeros where missing) and a found mask (n,)."""
        out = np.zeros((len(keys), self.dim), dtype=np.float32)
        found = np.zeros(len(keys), dtype=bool)
        with self._lock:
            for i, key in enumerate(keys):
                row = self._rows.get(key)
                if row is not None:
                    self._rows.move_to_end(key)
                    out[i] = row
                    found[i] = True
        return out, found

    def put(self, keys: Sequence[str], rows: np.ndarray) -> None:
        """Add rows for keys not cached yet (a cached key keeps its row but counts as used)."""
        if self.max_rows == 0:
            return
        with self._lock:
            for key, row in zip(keys, rows, strict=True):
                if key in self._rows:
                    self._rows.move_to_end(key)
                    continue
                self._rows[key] = np.array(row, dtype=np.float32)  # a copy: not a view of rows
                self._dirty = True
            self._evict()

    def _evict(self) -> None:
        if self.max_rows is None:
            return
        while len(self._rows) > self.max_rows:
            self._rows.popitem(last=False)

    def flush(self) -> None:
        if self.directory is None or not self._dirty:
            return
        with self._lock:
            keys = list(self._rows)
            matrix = (
                np.stack(list(self._rows.values()))
                if keys
                else np.zeros((0, self.dim), dtype=np.float32)
            )
            self._dirty = False
        self.directory.mkdir(parents=True, exist_ok=True)
        npy, idx = self._paths()
        tmp_npy = npy.with_suffix(f".{os.getpid()}.tmp.npy")
        tmp_idx = idx.with_suffix(f".{os.getpid()}.tmp")
        np.save(tmp_npy, matrix)
        tmp_idx.write_text(json.dumps({key: i for i, key in enumerate(keys)}))
        os.replace(tmp_npy, npy)
        os.replace(tmp_idx, idx)
