"""How a :class:`~models.scoring.CoMentionScorer` lies on disk: ``meta.json`` (kind, version,
config, text encoder), ``ids.json`` (items, entities, vocabulary), ``dense.npz``, one ``.npz``
per sparse matrix and, when there is one, ``reranker.pkl`` (a pickle: load only checkpoints you
trained). Written to a temporary sibling and renamed into place, so a reader never sees half.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from kgrec.errors import ConfigError

__all__ = ["ScorerFiles", "read_scorer_files", "write_scorer_files"]


@dataclass(slots=True)
class ScorerFiles:
    """Everything a saved scorer holds, as plain data."""

    meta: dict[str, Any]
    ids: dict[str, list[str]]
    dense: dict[str, Any]
    matrices: dict[str, sparse.csr_matrix]  # by file stem
    reranker: Any = None


def write_scorer_files(directory: Path, files: ScorerFiles) -> Path:
    """Write ``files`` into ``directory`` (replacing it); return it."""
    directory = Path(directory)
    tmp = directory.with_name(directory.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=False)
    (tmp / "meta.json").write_text(json.dumps(files.meta, indent=2, sort_keys=True))
    (tmp / "ids.json").write_text(json.dumps(files.ids))
    np.savez(tmp / "dense.npz", **files.dense)
    for stem, matrix in files.matrices.items():
        sparse.save_npz(tmp / f"{stem}.npz", sparse.csr_matrix(matrix))
    if files.reranker is not None:
        with (tmp / "reranker.pkl").open("wb") as f:
            pickle.dump(files.reranker, f, protocol=pickle.HIGHEST_PROTOCOL)
    if directory.exists():
        shutil.rmtree(directory)
    os.replace(tmp, directory)
    return directory


def read_scorer_files(directory: Path, kind: str, stems: Mapping[str, str]) -> ScorerFiles:
    """Read what :func:`write_scorer_files` wrote for a scorer of ``kind``; ``stems``: the
    sparse matrices to read (attribute name -> file stem). ConfigError when it cannot."""
    directory = Path(directory)
    try:
        meta = json.loads((directory / "meta.json").read_text())
        ids = json.loads((directory / "ids.json").read_text())
        dense = dict(np.load(directory / "dense.npz"))
        matrices = {
            name: sparse.csr_matrix(sparse.load_npz(directory / f"{stem}.npz"))
            for name, stem in stems.items()
        }
        reranker = None
        if (directory / "reranker.pkl").exists():
            with (directory / "reranker.pkl").open("rb") as f:
                reranker = pickle.load(f)  # noqa: S301 - our own checkpoint
    except (OSError, ValueError, KeyError, pickle.UnpicklingError) as e:
        raise ConfigError(f"cannot read {kind} scorer {directory}: {e}") from e
    if meta.get("kind") != kind:
        raise ConfigError(f"{directory} holds a {meta.get('kind')!r} model, not {kind!r}")
    return ScorerFiles(meta, ids, dense, matrices, reranker)
