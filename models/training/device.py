"""Which torch device a ``device`` setting names, and the serving options that depend on it.

Light (torch is imported when a device is resolved), so that settings and CLIs can check
the names without importing torch, and serving need not import training.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kgrec.errors import ConfigError

if TYPE_CHECKING:
    import torch

__all__ = [
    "DEVICE_NAMES",
    "ENCODER_BATCHING",
    "SCORE_BATCHING",
    "batching_on",
    "resolve_device",
    "valid_device",
]

#: What a ``device`` may be: ``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda[:N]``.
DEVICE_NAMES = "auto, cpu, cuda or cuda:N"
#: ``Settings.score_batching``: batch concurrent turns' scoring on ``on``, not on ``off``,
#: and where the scorer computes on a GPU on ``auto``.
SCORE_BATCHING = ("auto", "on", "off")
#: ``Settings.encoder_batching``: the intent encoder's forwards of concurrent turns' new
#: messages as one batch, by the same rule.
ENCODER_BATCHING = SCORE_BATCHING


def batching_on(setting: str, value: str, device: torch.device) -> bool:
    """Whether ``value`` of the batching setting named ``setting`` (``score_batching``,
    ``encoder_batching``) batches a model on ``device``: ``on`` always, ``auto`` on a GPU."""
    if value not in SCORE_BATCHING:
        raise ValueError(f"{setting} {value!r} is not one of {', '.join(SCORE_BATCHING)}")
    return value == "on" or (value == "auto" and device.type == "cuda")


def valid_device(name: str) -> bool:
    """Whether ``name`` is one of :data:`DEVICE_NAMES`."""
    return re.fullmatch(r"auto|cpu|cuda(:\d+)?", name) is not None


def resolve_device(name: str) -> torch.device:
    """``"auto"``: CUDA when present, else CPU; anything else as torch spells it. Asking for
    CUDA where torch sees none is a :class:`~kgrec.errors.ConfigError` saying so."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r}: this torch sees no CUDA device (use cpu or auto)")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ConfigError(f"device {name!r}: torch sees {torch.cuda.device_count()} CUDA devices")
    return device
