"""A small on-disk cache of fixed-size embeddings keyed by content hashes."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["EmbeddingCache", "content_key"]


def content_key(*parts: str | bytes) -> str:
    """sha256 over the parts (strings are UTF-8 encoded), hex."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8") if isinstance(part, str) else part)
        h.update(b"\x00")
    return h.hexdigest()


class EmbeddingCache:
    """``<dir>/<namespace>.npy`` (rows, float32) + ``<namespace>.json`` (key -> row).

    A row is recomputed only when its key (a hash of the encoder input) is missing, so
    changing an item's text changes its key and triggers re-encoding of that item only.
    Writes are atomic (temp file + ``os.replace``); the last writer wins.

    Args:
        directory: cache folder (created on first write); ``None`` disables caching.
        namespace: file stem, e.g. ``"minilm-256"``; different encoders never share rows.
        dim: embedding size, checked on read.
    """

    def __init__(self, directory: Path | str | None, namespace: str, dim: int) -> None:
        self.directory = Path(directory).expanduser() if directory is not None else None
        self.namespace = namespace
        self.dim = dim
        self._index: dict[str, int] = {}
        self._rows = np.zeros((0, dim), dtype=np.float32)
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
        self._rows = rows.astype(np.float32, copy=False)
        self._index = {str(k): int(v) for k, v in index.items()}

    def __len__(self) -> int:
        return len(self._index)

    def get(self, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Rows for ``keys`` ((n, dim), zeros where missing) and a found mask (n,)."""
        out = np.zeros((len(keys), self.dim), dtype=np.float32)
        found = np.zeros(len(keys), dtype=bool)
        for i, key in enumerate(keys):
            row = self._index.get(key)
            if row is not None:
                out[i] = self._rows[row]
                found[i] = True
        return out, found

    def put(self, keys: Sequence[str], rows: np.ndarray) -> None:
        new = [(k, r) for k, r in zip(keys, rows, strict=True) if k not in self._index]
        if not new:
            return
        start = self._rows.shape[0]
        block = np.stack([r for _, r in new]).astype(np.float32)
        self._rows = np.concatenate([self._rows, block])
        for offset, (key, _) in enumerate(new):
            self._index[key] = start + offset
        self._dirty = True

    def flush(self) -> None:
        if self.directory is None or not self._dirty:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        npy, idx = self._paths()
        tmp_npy = npy.with_suffix(f".{os.getpid()}.tmp.npy")
        tmp_idx = idx.with_suffix(f".{os.getpid()}.tmp")
        np.save(tmp_npy, self._rows)
        tmp_idx.write_text(json.dumps(self._index))
        os.replace(tmp_npy, npy)
        os.replace(tmp_idx, idx)
        self._dirty = False
