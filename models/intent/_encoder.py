"""The intent head's text vector: a cached MiniLM sentence encoder (mean pooling,
L2-normalised, shared per process), or the static token table's mean."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from kgrec.errors import ConfigError
from kgrec.sentence_embedding import mean_pooled_embeddings, minilm_path

if TYPE_CHECKING:
    from models.scoring.dynamic_batcher import DynamicBatcher

logger = logging.getLogger(__name__)


class MessageEncoder(Protocol):
    """What the intent parser asks of its text encoder."""

    kind: str  # a head's encoder_kind: "contextual" or "static"
    path: str
    dim: int
    layers: int | None  # transformer layers run per message; None for a static table

    def encode(self, text: str) -> np.ndarray: ...

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceEncoder:
    """``encode(text) -> (384,)`` float32 unit vector from a local HF encoder dir.

    ``layers`` keeps only the first N transformer layers (BERT-style models).

    .. math:: e = \\frac{\\sum_t m_t h_t}{\\lVert \\sum_t m_t h_t \\rVert_2}

    where :math:`h_t` are the last hidden states and :math:`m_t` the attention mask
    (mean pooling; the norm cancels the mask count). Instances are shared by path
    (:meth:`get`) so the weights load once per process; an LRU cache holds recent messages.

    ``device``: where the forward runs (a CUDA device computes in float32, as the head was
    trained; the CPU in the process's MiniLM inference dtype). ``batching``: the new
    messages of concurrent turns are encoded in one forward
    (:class:`~models.scoring.dynamic_batcher.DynamicBatcher`: a lone message runs at once,
    nothing waits for a batch to fill); padded to the longest of its batch, a message's
    vector then depends on its batch-mates in the last float bits.
    """

    kind = "contextual"
    _instances: dict[tuple[str, int, int | None, str, bool], SentenceEncoder] = {}
    _lock = threading.Lock()

    def __init__(
        self,
        path: str | None,
        *,
        max_tokens: int = 64,
        cache_size: int = 1024,
        layers: int | None = None,
        device: str = "cpu",
        batching: bool = False,
    ) -> None:
        import torch

        path = minilm_path(path)  # None: the packaged MiniLM
        try:
            from kgrec.minilm import load_encoder  # no transformers import for the MiniLM

            self._tokenizer, self._model = load_encoder(path)
        except (OSError, ValueError) as e:
            raise ConfigError(f"cannot load intent encoder from {path}: {e}") from e
        stack = getattr(getattr(self._model, "encoder", None), "layer", None)
        if layers is not None:
            if stack is None or not 1 <= layers <= len(stack):
                raise ConfigError(f"encoder {path} cannot be cut to {layers} layers")
            # the lower layers of a BERT-style encoder alone: half the cost at 3 of 6 layers
            self._model.encoder.layer = stack[:layers]
            self._model.config.num_hidden_layers = layers
        self.layers = layers if layers is not None else (len(stack) if stack is not None else None)
        self.device = torch.device(device)
        self._model.to(self.device)
        self.path = path
        self.max_tokens = max_tokens
        self.dim = int(self._model.config.hidden_size)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._batcher: DynamicBatcher[str, np.ndarray] | None = None
        if batching:
            from models.scoring.dynamic_batcher import ENCODE_STATS, DynamicBatcher

            self._batcher = DynamicBatcher(lambda t: list(self.encode_batch(t)), stats=ENCODE_STATS)

    @property
    def batching(self) -> bool:
        return self._batcher is not None

    @classmethod
    def get(
        cls,
        path: str | None = None,
        *,
        max_tokens: int = 64,
        cache_size: int = 1024,
        layers: int | None = None,
        device: str = "cpu",
        batching: bool = False,
    ) -> SentenceEncoder:
        """The shared encoder for ``path`` (None: the MiniLM that ships in a package)."""
        path = minilm_path(path)
        key = (path, max_tokens, layers, device, batching)
        with cls._lock:
            enc = cls._instances.get(key)
            if enc is None:
                enc = cls(
                    path,
                    max_tokens=max_tokens,
                    cache_size=cache_size,
                    layers=layers,
                    device=device,
                    batching=batching,
                )
                cls._instances[key] = enc
                logger.info(
                    "loaded intent encoder %s (dim %d, %s layers, on %s, batching %s)",
                    path, enc.dim, layers, device, "on" if batching else "off",
                )  # fmt: skip
        return enc

    def encode(self, text: str) -> np.ndarray:
        with self._cache_lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        if self._batcher is not None:
            vec = self._batcher.submit(text)
        else:
            vec = self.encode_batch([text])[0]
        if self._cache_size:
            with self._cache_lock:
                self._cache[text] = vec
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return vec

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32, uncached; on the CPU the forward runs in the
        process's MiniLM inference dtype (:func:`kgrec.minilm.set_inference_dtype`: float32
        unless the serving pipeline chose bfloat16), so the intent head is trained on float32
        vectors."""
        from kgrec.minilm import forward_dtype, in_dtype

        # a copy in another dtype: the float32 weights stay for training
        model = in_dtype(self._model, forward_dtype(self.device))
        device = None if self.device.type == "cpu" else self.device
        return mean_pooled_embeddings(self._tokenizer, model, list(texts), self.max_tokens, device)

    def clear_cache(self) -> None:
        with self._cache_lock:
            self._cache.clear()


class StaticSentenceEncoder:
    """``encode(text) -> (384,)`` from the static MiniLM token table
    (:class:`kg.linking.StaticMiniLMEncoder`): the mean of the message's token vectors,
    L2-normalised. No transformer forward per message, only a tokenizer call and a mean, so
    no cache either. It is the process's shared table (:meth:`StaticMiniLMEncoder.shared`),
    the linker's and the scorer's: the server's preload maps it from the data dir's cache.
    Token vectors are float32 whatever ``encoder_dtype`` says, so a head trained on them
    sees the same vectors in training and serving.
    """

    kind = "static"
    layers: int | None = None

    def __init__(self, path: str | None = None) -> None:
        from kg.linking.static_minilm_encoder import StaticMiniLMEncoder

        path = minilm_path(path)
        try:
            self.table = StaticMiniLMEncoder.shared(path)
        except (OSError, ValueError) as e:
            raise ConfigError(f"cannot load intent encoder from {path}: {e}") from e
        self.path = path
        self.dim = int(self.table.dim)

    def encode(self, text: str) -> np.ndarray:
        return self.encode_batch([text])[0]

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32."""
        return np.asarray(self.table.encode(list(texts)), dtype=np.float32)


__all__ = ["MessageEncoder", "SentenceEncoder", "StaticSentenceEncoder"]
