"""The GNN scorer's query-time encoders (a message's text, a new product's text and image),
each loaded on its first use: a scorer that only ranks known users never loads MiniLM."""

from __future__ import annotations

from typing import Any

from models.config import EncoderConfig


class QueryEncoders:
    """The text and image encoders of a checkpoint's :class:`~models.config.EncoderConfig`,
    on ``device``, without a disk cache; ``cache_rows``: rows each in-memory cache keeps
    (``None``: its default), read when an encoder is first built."""

    def __init__(self, config: EncoderConfig, device: str, cache_rows: int | None) -> None:
        self.config, self.device, self.cache_rows = config, device, cache_rows
        self._text: Any = None
        self._image: Any = None

    def text(self) -> Any:
        if self._text is None:
            from models.encoders import TextEncoder

            enc = self.config
            self._text = TextEncoder(
                max_length=enc.text_max_length,
                device=self.device,
                cache_dir=None,
                backend=enc.text_backend,
                cache_rows=self.cache_rows,
            )
        return self._text

    def image(self) -> Any:
        if self._image is None:
            from models.encoders import ImageEncoder

            self._image = ImageEncoder(
                image_size=self.config.image_size,
                device=self.device,
                cache_dir=None,
                cache_rows=self.cache_rows,
            )
        return self._image


__all__ = ["QueryEncoders"]
