"""What the house checks (``test_layers``, ``test_module_size``) count as project code."""

from __future__ import annotations

from pathlib import Path


def not_project_code(relative: Path) -> bool:
    """Virtual environments (``bench/.venv-recbole``, which ``bench.recbole_runner`` builds),
    caches and benchmark output are not project code; ``relative`` is from the repository
    root."""
    parts = relative.parts
    return any(p.startswith(".") or p == "__pycache__" for p in parts) or parts[:2] == (
        "bench",
        "out",
    )
