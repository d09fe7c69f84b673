"""The GNN scorer's query-time encoders (a message's text, a new product's text and image),
each loaded on its first use: a scorer that only ranks known users never loads MiniLM."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from models.config import EncoderConfig
from models.encoders import ModalityFusion


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

    def prefetch_texts(self, texts: list[str]) -> None:
        """Encode ``texts`` in one pass into the text cache, so that :meth:`content` of each
        then reads it (a batch of turns' messages: one forward instead of one per turn); a
        no-op with the cache off (``cache_rows`` 0) and for the ``static`` backend, which keeps
        no per-text cache (each text would be averaged twice). A text's vector then depends
        on its batch-mates in the last float bits, as any batched forward's does."""
        cached = self.cache_rows != 0 and self.config.text_backend != "static"
        if cached and len(texts) > 1:
            self.text().encode(texts)

    @torch.inference_mode()
    def content(
        self, fusion: ModalityFusion, dims: dict[str, int], text: str | None, image: bytes | None
    ) -> Tensor:
        """Layer-0 content vector ``(d,)`` of ``fusion`` (trained on the modalities
        ``dims``) from this text and image; a modality absent or not trained on is masked."""
        inputs: dict[str, tuple[Tensor, Tensor]] = {}
        one = torch.ones(1, dtype=torch.bool, device=self.device)
        none = torch.zeros(1, dtype=torch.bool, device=self.device)
        for name, dim in dims.items():
            inputs[name] = (torch.zeros(1, dim, device=self.device), none)
        if "text" in dims and text and text.strip():
            inputs["text"] = (torch.from_numpy(self.text().encode([text])).to(self.device), one)
        if "image" in dims and image is not None:
            x, mask = self.image().encode([image])
            inputs["image"] = (
                torch.from_numpy(x).to(self.device),
                torch.from_numpy(mask).to(self.device),
            )
        return fusion(inputs)[0]

    def cold_map(self, cold_map: tuple[Tensor, Tensor], text: str, scale: float) -> Tensor:
        """A new item's vector ``(d,)`` from ``text`` by a checkpoint's ``cold_item_map``
        (``(weight, mean)``; :mod:`models.training.cold_items`), on this device."""
        from models.training.cold_items import cold_item_vectors

        weight, mu = cold_map
        x = torch.from_numpy(self.text().encode([text])).float().cpu()
        return cold_item_vectors(x, weight.float(), mu.float(), scale)[0].to(self.device)


__all__ = ["QueryEncoders"]
