"""MiniLM sentence embeddings and their cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.encoders import TextEncoder


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> TextEncoder:
    return TextEncoder(max_length=32, cache_dir=tmp_path_factory.mktemp("text-cache"))


def test_unit_vectors_and_semantic_similarity(encoder: TextEncoder) -> None:
    x = encoder.encode(["a warm winter jacket", "a cosy coat for the cold", "a red sports car"])
    assert x.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-5)
    assert x[0] @ x[1] > x[0] @ x[2]


def test_only_changed_texts_are_recomputed(encoder: TextEncoder) -> None:
    first = encoder.encode(["alpha product", "beta product"])
    calls: list[list[str]] = []
    real = encoder._forward

    def spy(texts: list[str], *rest: object) -> np.ndarray:
        calls.append(texts)
        return real(texts, *rest)  # type: ignore[arg-type]

    encoder._forward = spy  # type: ignore[method-assign]
    again = encoder.encode(["alpha product", "beta product, new description"])
    assert calls == [["beta product, new description"]]
    np.testing.assert_allclose(again[0], first[0])


def test_static_backend(tmp_path: Path) -> None:
    enc = TextEncoder(backend="static")
    x = enc.encode(["running shoes", "trail running shoes", "kitchen knife"])
    assert x.shape == (3, 384)
    assert x[0] @ x[1] > x[0] @ x[2]


def test_bfloat16_rows_are_cached_apart_from_float32(tmp_path: Path) -> None:
    """A process serving in bfloat16 (``encoder_dtype``) neither reads float32 rows of the
    shared cache nor writes its own over them."""
    import torch

    from kgrec import minilm

    enc = TextEncoder(max_length=32, cache_dir=tmp_path)
    full = enc.encode(["trail running shoes"])
    before = minilm.inference_dtype()
    try:
        minilm.set_inference_dtype("bfloat16")
        calls: list[object] = []
        real = enc._forward

        def spy(texts: list[str], dtype: torch.dtype) -> np.ndarray:
            calls.append(dtype)
            return real(texts, dtype)

        enc._forward = spy  # type: ignore[method-assign]
        half = enc.encode(["trail running shoes"])
        assert calls == [torch.bfloat16]
        assert float(full[0] @ half[0]) >= 0.999
    finally:
        minilm._inference_dtype = before
    enc._forward = real  # type: ignore[method-assign]
    np.testing.assert_array_equal(enc.encode(["trail running shoes"]), full)
