"""Does the knowledge graph carry what few dialogues cannot? A learning curve of the
conversational scorer, with and without its KG terms.

    .venv/bin/python -m bench.crs_curve --data ../shared/data [--dataset redial|inspired]
        [--shares 0.25,0.5,1] [--protocol repeats-removed|standard|both] [--jobs 2]
        [--out FILE] [-- crs_bench options, e.g. --inner-seeker-mentions off]

Each point is one offline run of :mod:`bench.crs_bench` (``--offline --train-share S``,
``--without kg`` for the second column): the same 5 folds and the same held-out dialogues
at every point, each fold's scorer fitted on a seeded share of its training dialogues (a
smaller share's dialogues are part of a larger one's: :func:`bench.crs_setup.share_of`), its
weights searched nested on those dialogues alone, as ``kgrec train --conversations
--tune-weights`` does. Without the KG, the scorer never computes the terms that read the
graph (:data:`models.scoring.comention_config.KG_TERMS`: the KG similarity to the context
items and entities, the words' KG entity profiles), for its weights and its re-ranker
alike; it keeps the counts, the words and the text vectors. INSPIRED-dev comes with no KG
(its corpus links no entities): there the three terms reduce to a word association through
each movie's own id, so its curve is no test of a graph.

The rows are the offline scorer given the ideal context (every movie named so far and the
seeker's words, the whole catalog ranked; ``bench.crs_bench``'s "scorer, ideal context"
row), so a point costs a fit and a search, not a served replay. Beside each pair, the KG's
share: Recall@k with the KG minus without, paired sample by sample, with a 95% bootstrap
interval over dialogues (:func:`bench.crs_paired.paired_recall`). ``--jobs`` runs points
in parallel processes (each one torch thread); a point at share 1 costs about what
``crs_bench --offline`` does.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TypeVar

from bench.crs_paired import paired_cell, save_ranks
from server.replay import KS, Tally

__all__ = [
    "VARIANTS",
    "configure",
    "curve_lines",
    "main",
    "offline_args",
    "point",
    "recall_cell",
    "run_points",
]

#: column name -> the crs_bench options that make it
VARIANTS = {"all terms": (), "without KG": ("--without", "kg")}
OFFLINE = "scorer, ideal context (offline)"
POPULARITY = "popularity (offline)"
K = TypeVar("K")


def configure(level: str) -> None:
    """What ``crs_bench``'s ``main`` sets for its process: one torch intra-op thread, its
    log format and level, the serving packages' logs at WARNING."""
    import torch

    torch.set_num_threads(1)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("server", "kg", "models.intent", "models.explain", "models.encoders"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def point(args: Sequence[str]) -> tuple[dict[str, Tally], float]:
    """One ``bench.crs_bench`` run with ``args`` (offline), in this process: its rows, and
    how many training dialogues its folds' scorers were fitted on (mean)."""
    from bench.crs_args import parse_args
    from bench.crs_bench import run_dataset
    from bench.crs_setup import DATASETS, folds, share_of

    root, opts, _ = parse_args(list(args))
    started = time.perf_counter()
    data = DATASETS[opts.dataset](root)
    rows = run_dataset(data, opts)
    logging.getLogger(__name__).info("%s: %.0f s", " ".join(args), time.perf_counter() - started)
    fold_of = folds(len(data.dialogues), opts.n_folds, opts.fold_seed)
    sizes = [
        len(share_of([i for i, g in enumerate(fold_of) if g != f], opts.train_share))
        for f in range(opts.n_folds)
    ]
    return rows, sum(sizes) / len(sizes)


def offline_args(
    data: Path, dataset: str, protocol: str, folds: int, rest: Sequence[str]
) -> list[str]:
    """The ``bench.crs_bench`` options every run of this command and ``bench.crs_ablation``
    shares: offline, and the caller's own crs_bench options (``rest``, after ``--``)."""
    base = ["--data", str(data), "--dataset", dataset, "--offline", "--protocol", protocol]
    return [*base, "--folds", str(folds), *(x for x in rest if x != "--")]


def run_points(
    runs: Mapping[K, Sequence[str]], jobs: int
) -> dict[K, tuple[dict[str, Tally], float]]:
    """:func:`point` of each of ``runs`` (crs_bench options), ``jobs`` at a time in spawned
    processes. Every run's options are parsed first, so a bad one fails before any starts;
    this process and each worker are set up by :func:`configure` at the runs' log level."""
    from bench.crs_args import parse_args

    for args in runs.values():
        level = parse_args(list(args))[2]
    configure(level)
    if jobs == 1:
        return {key: point(args) for key, args in runs.items()}
    spawn = multiprocessing.get_context("spawn")  # torch and forked workers do not mix
    with ProcessPoolExecutor(jobs, spawn, initializer=configure, initargs=(level,)) as pool:
        futures = {key: pool.submit(point, args) for key, args in runs.items()}
        return {key: f.result() for key, f in futures.items()}


def recall_cell(t: Tally) -> str:
    """A row's Recall@10 / @50 as this command's and ``bench.crs_ablation``'s tables print
    it: ``0.2054 / 0.3970``."""
    return f"{t.recall(10):.4f} / {t.recall(50):.4f}"


def curve_lines(
    points: dict[tuple[float, str], tuple[dict[str, Tally], float]], suffix: str
) -> list[str]:
    """The curve's table for one protocol (row names ending in ``suffix``); ``points`` maps
    (share, variant) to what :func:`point` returns."""
    cols = [f"{'share':>5} {'dlgs/fold':>9}", f"{'popularity':>15}"]
    cols += [f"{name + ' R@10 / R@50':>26}" for name in VARIANTS]
    cols += [f"{'KG adds R@' + str(k) + ' (paired)':>25}" for k in KS[1:]]
    lines = ["  ".join(cols)]
    for share in sorted({s for s, _ in points}):
        rows = {v: points[(share, v)][0] for v in VARIANTS if (share, v) in points}
        if len(rows) < len(VARIANTS):
            continue
        pop = rows["all terms"][POPULARITY + suffix]
        cells = [f"{share:>5g} {points[(share, 'all terms')][1]:>9.0f}"]
        cells.append(recall_cell(pop).rjust(15))
        cells += [recall_cell(rows[v][OFFLINE + suffix]).rjust(26) for v in VARIANTS]
        with_kg, without = rows["all terms"][OFFLINE + suffix], rows["without KG"][OFFLINE + suffix]
        cells += [paired_cell(with_kg, without, k).rjust(25) for k in KS[1:]]
        lines.append("  ".join(cells))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--dataset", choices=["redial", "inspired"], default="redial")
    p.add_argument("--shares", default="0.25,0.5,1", help="training shares, comma-separated")
    p.add_argument("--protocol", choices=["standard", "repeats-removed", "both"], default="both")
    p.add_argument("--jobs", type=int, default=1, help="points run in parallel processes")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--out", type=Path, help="write every point's per-sample ranks (JSON)")
    a, rest = p.parse_known_args(argv)
    try:
        shares = sorted({float(x) for x in a.shares.split(",") if x.strip()}, reverse=True)
    except ValueError:
        p.error(f"--shares: {a.shares!r} is not a comma-separated list of numbers")
    if not shares or any(not 0 < s <= 1 for s in shares):
        p.error("--shares must be numbers in (0, 1]")
    if a.jobs < 1:
        p.error("--jobs must be >= 1")
    base = offline_args(a.data, a.dataset, a.protocol, a.folds, rest)
    wanted = [(s, v) for s in shares for v in VARIANTS]  # largest first: the longest points
    args = {key: [*base, "--train-share", str(key[0]), *VARIANTS[key[1]]] for key in wanted}
    points = run_points(args, a.jobs)
    if a.out is not None:
        for (share, v), (rows, _) in points.items():
            save_ranks(a.out, f"{a.dataset} share={share:g} {v}", rows)
    protocols = {"standard": "", "repeats-removed": " [no repeats]"}
    for protocol, suffix in protocols.items():
        if a.protocol not in (protocol, "both"):
            continue
        title = f"{a.dataset}: learning curve, {protocol} protocol, offline (ideal context)"
        print(f"\n{title}, {a.folds}-fold, weights searched nested on each fold's share")
        print("\n".join(curve_lines(points, suffix)))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
