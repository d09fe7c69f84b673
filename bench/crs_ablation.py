"""What each part of the conversational scorer adds: offline, weights searched nested,
every part's share paired sample by sample.

    .venv/bin/python -m bench.crs_ablation --data ../shared/data [--dataset redial|inspired]
        [--parts kg,co-mentions,text-vectors,reranker] [--protocol repeats-removed|standard|both]
        [--jobs 2] [--out FILE] [-- crs_bench options]

Each column is one offline run of :mod:`bench.crs_bench` on the same 5 folds and held-out
dialogues, its weights searched nested on each fold's training dialogues as ``kgrec train
--conversations --tune-weights`` does: once with every part, then once without each part
(:data:`PARTS`):

- ``kg``: the terms that read the knowledge graph (``--without kg``: the KG similarity to the
  context movies and the linked entities, the words' KG entity profiles);
- ``co-mentions``: the terms counted from movie pairs of the training dialogues
  (``--without co-mentions``: co-mentions, two-step co-mentions, mentioned-before ->
  suggested);
- ``text-vectors``: the MiniLM title and conversation vectors (``--no-text-embeddings``:
  the title, query and near terms are 0);
- ``reranker``: the tree re-ranker (``--no-rerank``: the weighted terms alone).

A part left out is left out of the weight search and of the re-ranker's features alike, so
the rest re-weigh themselves without it. Printed per protocol: Recall@10 / @50 of each run
and each part's share (with it minus without it), paired sample by sample with a 95%
bootstrap interval over dialogues (:func:`bench.crs_paired.paired_recall`). The rows are the
offline scorer given the ideal context (``crs_bench``'s "scorer, ideal context" row).
``--jobs`` runs the columns in parallel processes (each one torch thread).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.crs_curve import OFFLINE, POPULARITY, offline_args, recall_cell, run_points
from bench.crs_paired import paired_cell, save_ranks
from server.replay import KS, Tally

__all__ = ["PARTS", "ablation_lines", "main"]

#: part -> (what it is, the crs_bench options that leave it out)
PARTS = {
    "kg": ("KG terms", ("--without", "kg")),
    "co-mentions": ("co-mention terms", ("--without", "co-mentions")),
    "text-vectors": ("MiniLM text vectors", ("--no-text-embeddings",)),
    "reranker": ("tree re-ranker", ("--no-rerank",)),
}
ALL = "all parts"


def ablation_lines(runs: dict[str, dict[str, Tally]], suffix: str) -> list[str]:
    """One protocol's table (row names ending in ``suffix``); ``runs`` maps ``ALL`` and each
    part to its run's rows."""
    head = f"{'run':<30} {'R@10 / R@50':>15}"
    head += "".join(f"  {'part adds R@' + str(k) + ' (paired)':>26}" for k in KS[1:])
    full = runs[ALL][OFFLINE + suffix]
    lines = [head, f"{'popularity':<30} {recall_cell(runs[ALL][POPULARITY + suffix]):>15}"]
    lines.append(f"{ALL:<30} {recall_cell(full):>15}")
    for part, (what, _) in PARTS.items():
        if part not in runs:
            continue
        without = runs[part][OFFLINE + suffix]
        cells = [f"  {paired_cell(full, without, k):>26}" for k in KS[1:]]
        lines.append(f"{'without ' + what:<30} {recall_cell(without):>15}" + "".join(cells))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--dataset", choices=["redial", "inspired"], default="redial")
    p.add_argument("--parts", default=",".join(PARTS), help="parts left out, comma-separated")
    p.add_argument("--protocol", choices=["standard", "repeats-removed", "both"], default="both")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel processes")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--out", type=Path, help="write every run's per-sample ranks (JSON)")
    a, rest = p.parse_known_args(argv)
    parts = list(dict.fromkeys(x.strip() for x in a.parts.split(",") if x.strip()))
    if not parts or set(parts) - set(PARTS):
        p.error(f"--parts takes some of {', '.join(PARTS)}")
    if a.jobs < 1:
        p.error("--jobs must be >= 1")
    base = offline_args(a.data, a.dataset, a.protocol, a.folds, rest)
    args = {ALL: base} | {part: [*base, *PARTS[part][1]] for part in parts}
    runs = {name: rows for name, (rows, _) in run_points(args, a.jobs).items()}
    if a.out is not None:
        for name, rows in runs.items():
            save_ranks(a.out, f"{a.dataset} {name if name == ALL else 'without ' + name}", rows)
    for protocol, suffix in {"standard": "", "repeats-removed": " [no repeats]"}.items():
        if a.protocol not in (protocol, "both"):
            continue
        print(f"\n{a.dataset}: ablation, {protocol} protocol, offline (ideal context), "
              f"{a.folds}-fold, weights searched nested without each part")  # fmt: skip
        print("\n".join(ablation_lines(runs, suffix)))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
