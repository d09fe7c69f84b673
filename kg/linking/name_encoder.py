"""The contract for embedding names and mentions (implemented by :class:`MiniLMNameEncoder`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class NameEncoder(Protocol):
    """Maps ``n`` short texts to an ``(n, d)`` float32 array of L2-normalised rows."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...
