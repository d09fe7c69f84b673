"""The private RecBole virtual environment used by :mod:`bench.recbole_runner`.

RecBole 1.2.1 needs an older scientific stack (``numpy<2``, ``scipy<1.13``, ...) and, for KGAT,
``dgl==1.1.3``; none of that may touch the project's own ``.venv``. So the runner keeps a
separate venv (default ``bench/.venv-recbole``, git-ignored) and builds it in fixed steps:

1. ``python3 -m venv``
2. ``pip install torch==2.13.0`` first, so the local CPU wheel is the torch; every later step
   runs with a constraints file pinning exactly the torch version that step 2 installed, so no
   later install can swap torch for another build.
3. ``pip install recbole==1.2.1``
4. ``pip install "setuptools<81" "numpy<2" "pandas<3" "scipy<1.13"`` (RecBole 1.2.1 breaks on
   numpy 2 / scipy 1.13 / pandas 3, and its ``pkg_resources`` use needs setuptools < 81)
5. ``pip install dgl==1.1.3`` (KGAT only)

Each finished step leaves a stamp file in the venv, so a rerun skips it.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["RecboleVenv", "VenvStep"]

logger = logging.getLogger(__name__)

TORCH_SPEC = "torch==2.13.0"
RECBOLE_SPEC = "recbole==1.2.1"
PINS = ("setuptools<81", "numpy<2", "pandas<3", "scipy<1.13")
DGL_SPEC = "dgl==1.1.3"


@dataclass(frozen=True)
class VenvStep:
    """One install step: a stamp name and the pip requirement specs it installs."""

    name: str
    specs: tuple[str, ...]


@dataclass
class RecboleVenv:
    """Creates (if needed) and describes the RecBole venv at ``path``.

    Args:
        path: venv directory.
        base_python: interpreter used for ``-m venv`` (default: ``python3`` on PATH would
            differ between machines, so the current interpreter is used).
        with_dgl: install ``dgl==1.1.3`` too (needed for KGAT only).
    """

    path: Path
    base_python: str = sys.executable
    with_dgl: bool = True
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def constraints(self) -> Path:
        return self.path / "torch-constraints.txt"

    def steps(self) -> list[VenvStep]:
        steps = [
            VenvStep("torch", (TORCH_SPEC,)),
            VenvStep("recbole", (RECBOLE_SPEC,)),
            VenvStep("pins", PINS),
        ]
        if self.with_dgl:
            steps.append(VenvStep("dgl", (DGL_SPEC,)))
        return steps

    def _stamp(self, name: str) -> Path:
        return self.path / f".stamp-{name}"

    def is_ready(self) -> bool:
        return self.python.exists() and all(self._stamp(s.name).exists() for s in self.steps())

    def ensure(self) -> dict[str, float]:
        """Run every step not yet stamped; returns seconds spent per step run now."""
        if not self.python.exists():
            self._run_step("venv", [self.base_python, "-m", "venv", str(self.path)])
        for step in self.steps():
            if self._stamp(step.name).exists():
                logger.info("recbole venv: step %s already done, skipping", step.name)
                continue
            cmd = [str(self.python), "-m", "pip", "install", "--progress-bar", "off"]
            if step.name != "torch":
                cmd += ["-c", str(self.constraints)]
            cmd += list(step.specs)
            self._run_step(step.name, cmd)
            if step.name == "torch":
                self._write_torch_constraint()
            self._stamp(step.name).write_text(" ".join(cmd) + "\n")
        return dict(self.timings)

    def _write_torch_constraint(self) -> None:
        version = subprocess.run(
            [str(self.python), "-c", "import torch; print(torch.__version__)"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        self.constraints.write_text(f"torch=={version}\n")
        logger.info("recbole venv: torch %s installed; later steps are pinned to it", version)

    def _run_step(self, name: str, cmd: list[str]) -> None:
        logger.info("recbole venv: step %s: %s", name, " ".join(cmd))
        t0 = time.monotonic()
        # pip's own output goes straight to the terminal: that is the progress display.
        subprocess.run(cmd, check=True)
        self.timings[name] = time.monotonic() - t0
        logger.info("recbole venv: step %s done in %.1f s", name, self.timings[name])
