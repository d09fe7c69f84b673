"""Which checkpoints a model dir holds, read from their ``meta.json`` alone: no torch, so a
process that only needs to know whether a model exists (the parent of ``kgrec serve --workers``)
does not load it."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["META", "checkpoints", "latest_checkpoint"]

META = "meta.json"


def latest_checkpoint(model_dir: Path | str) -> Path | None:
    """The newest complete checkpoint under ``model_dir`` (by creation time, then version),
    or ``None``. ``model_dir`` itself counts when it is a checkpoint."""
    root = Path(model_dir)
    if not root.is_dir():
        return None
    candidates = [root] if (root / META).exists() else []
    candidates += [
        p for p in root.iterdir() if p.is_dir() and (p / META).exists() and ".tmp" not in p.name
    ]
    best: tuple[float, str, Path] | None = None
    for path in candidates:
        try:
            meta = json.loads((path / META).read_text())
        except (OSError, ValueError):
            continue
        key = (float(meta.get("created", 0.0)), str(meta.get("version", "")), path)
        if best is None or key[:2] > best[:2]:
            best = key
    return best[2] if best else None


def checkpoints(model_dir: Path | str) -> list[Path]:
    """Every complete checkpoint under ``model_dir`` (itself included when it is one)."""
    root = Path(model_dir)
    if not root.is_dir():
        return []
    found = [root] if (root / META).exists() else []
    found += sorted(
        p for p in root.iterdir() if p.is_dir() and (p / META).exists() and ".tmp" not in p.name
    )
    return found
