"""Encoders: cache, image CNN, rating features, fusion with missing modalities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.encoders import (
    EfficientNetLite0,
    EmbeddingCache,
    ImageEncoder,
    ModalityFusion,
    rating_features,
)
from tests.models.conftest import png_bytes


def test_cache_round_trip_and_keys(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, "unit", 3)
    cache.put(["a", "b"], np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32))
    cache.flush()
    again = EmbeddingCache(tmp_path, "unit", 3)
    rows, found = again.get(["b", "zzz", "a"])
    assert found.tolist() == [True, False, True]
    np.testing.assert_array_equal(rows[0], [4, 5, 6])
    np.testing.assert_array_equal(rows[2], [1, 2, 3])
    # a different dimension is a different cache, not silently reused
    assert len(EmbeddingCache(tmp_path, "unit", 4)) == 0


def test_pretrained_weights_load_into_plain_torch_net() -> None:
    enc = ImageEncoder(image_size=64)
    assert isinstance(enc.net, EfficientNetLite0)
    # the stem is not at its random init: weights came from the package
    assert enc.net._conv_stem.weight.abs().mean() > 0.05


def test_image_encoder_masks_missing_and_broken_images(tmp_path: Path) -> None:
    enc = ImageEncoder(image_size=64, cache_dir=tmp_path)
    x, mask = enc.encode([png_bytes(1), None, b"not an image", png_bytes(2)])
    assert x.shape == (4, 1280)
    assert mask.tolist() == [True, False, False, True]
    assert not np.allclose(x[0], x[3])
    np.testing.assert_array_equal(x[1], 0)

    # the second call is served from the cache, identically
    def boom(_: object) -> np.ndarray:
        raise AssertionError("should have been cached")

    enc._forward = boom  # type: ignore[method-assign]
    x2, mask2 = enc.encode([png_bytes(2)])
    assert mask2.tolist() == [True]
    np.testing.assert_allclose(x2[0], x[3])


def test_rating_features_hand_computed() -> None:
    items = np.array([0, 0, 1, 0])
    values = np.array([5.0, 3.0, np.nan, 4.0])
    ts = np.array([0.0, 86400.0, 2 * 86400.0, 86400.0])
    feats, mask = rating_features(3, items, values, ts)
    assert mask.tolist() == [True, True, False]
    assert feats[0, 0] == pytest.approx(1.0)  # most rated item
    assert feats[0, 1] == pytest.approx(4.0 / 5)  # mean 4
    np.testing.assert_allclose(feats[0, 2:7], [0, 0, 1 / 3, 1 / 3, 1 / 3])
    assert feats[1, 7] == 0.0  # item 1 only has an unrated interaction
    assert feats[1, 1] == 0.0
    assert feats[0, 8] == pytest.approx(np.log1p(1) / np.log1p(365))  # last seen 1 day ago
    np.testing.assert_array_equal(feats[2], 0)


def test_fusion_ignores_masked_rows_and_handles_all_missing() -> None:
    torch.manual_seed(0)
    fusion = ModalityFusion({"text": 4, "image": 6}, out_dim=5, dropout=0.5).eval()
    text = torch.randn(3, 4)
    image = torch.randn(3, 6)
    mask_t = torch.tensor([True, True, False])
    mask_i = torch.tensor([True, False, False])
    out = fusion({"text": (text, mask_t), "image": (image, mask_i)})
    # row 1 has no image: changing its image input changes nothing
    image2 = image.clone()
    image2[1] = 100.0
    out2 = fusion({"text": (text, mask_t), "image": (image2, mask_i)})
    torch.testing.assert_close(out[1], out2[1])
    # row 2 has nothing: it gets the learned "missing" vector
    torch.testing.assert_close(out[2], fusion.missing)
    # training mode drops modalities at random, eval mode is deterministic
    torch.testing.assert_close(out, fusion({"text": (text, mask_t), "image": (image, mask_i)}))
