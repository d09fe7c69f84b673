"""Two :mod:`bench.crs_bench` runs compared sample by sample, with a paired interval.

``--ranks-out FILE`` writes every row's per-sample target ranks (with each sample's repeat
flag and the samples per dialogue); a later run with ``--paired-with FILE`` prints, for each
row both runs have, the difference in Recall@k and its 95% bootstrap interval resampling
whole dialogues, both runs resampled together. Two runs of the same folds and dialogues score
the same samples in the same order, so the pairing is by position (checked: a run over other
samples is refused). Two separate intervals of about +-0.015 at R@10 on ReDial-dev hide
differences a paired one shows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from server.replay import KS, Tally, dialogue_hits

__all__ = ["paired_cell", "paired_lines", "paired_recall", "save_ranks", "saved_row"]


def saved_row(tally: Tally) -> dict[str, Any]:
    """What ``--ranks-out`` keeps of a row, and what :func:`paired_recall` compares with."""
    return {"ranks": tally.ranks, "repeats": tally.repeats, "per_dialogue": tally.per_dialogue}


def save_ranks(path: Path, dataset: str, rows: Mapping[str, Tally]) -> None:
    """Add ``dataset``'s rows to the JSON file at ``path`` (other datasets' rows kept)."""
    saved: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    saved[dataset] = {name: saved_row(t) for name, t in rows.items()}
    path.write_text(json.dumps(saved))


def paired_recall(
    now: Tally, before: Mapping[str, Any], k: int, resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """``(difference, low, high)`` of Recall@k, ``now`` minus ``before`` (a saved row)."""
    if now.per_dialogue != before["per_dialogue"] or now.repeats != before["repeats"]:
        raise ValueError("the two runs did not score the same samples")
    a, counts = dialogue_hits(now.ranks, now.per_dialogue, k)
    b, _ = dialogue_hits(before["ranks"], before["per_dialogue"], k)
    total = max(float(counts.sum()), 1.0)
    draw = np.random.default_rng(seed).integers(0, len(counts), (resamples, len(counts)))
    diffs = (a[draw].sum(1) - b[draw].sum(1)) / np.maximum(counts[draw].sum(1), 1.0)
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float((a.sum() - b.sum()) / total), float(low), float(high)


def paired_cell(now: Tally, before: Tally | Mapping[str, Any], k: int) -> str:
    """:func:`paired_recall` as the tables print it: ``+0.0123 [+0.0045, +0.0201]``."""
    saved = saved_row(before) if isinstance(before, Tally) else before
    d, low, high = paired_recall(now, saved, k)
    return f"{d:+.4f} [{low:+.4f}, {high:+.4f}]"


def paired_lines(path: Path, dataset: str, rows: Mapping[str, Tally]) -> list[str]:
    """The paired table against the run saved at ``path``, one line per shared row."""
    saved = json.loads(path.read_text()).get(dataset, {})
    shared = [name for name in rows if name in saved]
    if not shared:
        return [f"paired with {path}: no row of {dataset} in both runs"]
    lines = [f"paired with {path} (this run minus that one; 95% bootstrap over dialogues):"]
    for name in shared:
        parts = [f"R@{k} {paired_cell(rows[name], saved[name], k)}" for k in KS[1:]]
        lines.append(f"  {name:<56} {'  '.join(parts)}")
    return lines
