"""Concurrent turns' scoring, one at a time against batched: turns/s, batch sizes, agreement.

    python -m bench.score_batching (--data-dir DIR | --random-items N) [--threads 1,8,32]
                                   [--turns 2000] [--device auto|cpu|cuda] [--seed 7]

``DIR`` is a data dir a ``kgrec serve`` (or ``bench.load --data-dir``) left behind; its newest
checkpoint is loaded as ``kgrec serve`` loads it (:func:`server.reload.load_model`) once per
arm, on ``--device``. ``--random-items N`` scores a seeded random checkpoint of N items
instead (2,500 users, 64-d vectors, no text): what batching does to the products at any
catalogue size on any machine, e.g. a GPU with no served data dir on it (the index arm's
overlap means nothing there: random vectors have no clusters for FAISS's lists).

* ``exact``: ``score_batching off``, ``item_index exact``: every item scored, one turn at a time;
* ``index``: the served default off a GPU, ``score_batching off`` and ``item_index auto``
  (exact below 50,000 items, FAISS above);
* ``batched``: ``score_batching on``: every item scored, concurrent turns in one product
  (:class:`models.scoring.dynamic_batcher.DynamicBatcher`; the served default on a GPU).

For each thread count, ``--turns`` seeded scoring contexts (a trained user, a user with a
message, liked items, a message alone, in turn; messages of a few random words, mostly new
to the query encoder's cache) go through :meth:`ItemScorer.turn_scores`
plus the turn's reads of it (the best 100, the scores of 200 candidates) from that many
threads, as a served turn runs in a thread of its own. It prints turns/s, the process's CPU
per turn, the mean batch, and how far each arm's best 100 and candidate scores are from the
exact arm's. This is the scorer alone; ``bench.load --device`` serves the whole turn.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from models.scoring import ItemScorer, ScoringContext, latest_checkpoint
from models.scoring.dynamic_batcher import BATCH_STATS
from server.reload import load_model

#: Each arm's ``(item_index, score_batching)``.
ARMS = {"exact": ("exact", "off"), "index": ("auto", "off"), "batched": ("exact", "on")}
#: Words of the seeded messages: each turn's is a few of them, so most are new to the encoder.
WORDS = ("warm", "winter", "gift", "runner", "blue", "cheap", "light", "red", "leather",
         "kids", "rain", "office", "summer", "soft", "sport", "black", "classic")  # fmt: skip


def contexts(scorer: ItemScorer, n: int, seed: int) -> list[ScoringContext]:
    """``n`` seeded contexts over the scorer's users and items, four kinds in turn."""
    rng = random.Random(seed)

    def message() -> str:
        return "something " + " ".join(rng.sample(WORDS, rng.randint(2, 5)))

    users = list(getattr(scorer, "user_ids", [])) or [None]
    items = list(scorer.item_ids)
    out = []
    for k in range(n):
        liked = tuple(rng.sample(items, 2))
        out.append(
            [
                ScoringContext(user_id=rng.choice(users)),
                ScoringContext(user_id=rng.choice(users), text=message()),
                ScoringContext(liked_item_ids=liked),
                ScoringContext(text=message()),
            ][k % 4]
        )
    return out


def _cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def run_arm(
    scorer: ItemScorer, ctxs: Sequence[ScoringContext], threads: int
) -> tuple[float, float, float, list[tuple[list[str], np.ndarray]]]:
    """``(turns/s, CPU ms per turn, mean batch, answers)`` of ``ctxs`` from ``threads``."""
    candidates = list(scorer.item_ids[:200])

    def turn(ctx: ScoringContext) -> tuple[list[str], np.ndarray]:
        scores = scorer.turn_scores(ctx)
        best = [i for i, _ in scores.best(100, user_id=ctx.user_id)]
        return best, scores.for_items(candidates)

    batches0 = BATCH_STATS.snapshot()
    cpu0, t0 = _cpu(), time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        answers = list(pool.map(turn, ctxs))
    wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
    batches = BATCH_STATS.snapshot()
    n_batches, n_turns = batches[0] - batches0[0], batches[1] - batches0[1]
    mean = n_turns / n_batches if n_batches else 1.0
    return len(ctxs) / wall, 1000 * cpu / len(ctxs), mean, answers


def random_checkpoint(directory: Path, n_items: int, n_users: int = 2500, dim: int = 64) -> Path:
    """A seeded random checkpoint (vectors only, 20 training items per user) under
    ``directory/models``; returns ``directory``."""
    import time

    import torch

    from models.config import TrainConfig
    from models.training.checkpoint import Checkpoint

    g = torch.Generator().manual_seed(0)
    users = torch.arange(n_users).repeat_interleave(20)
    seen = torch.stack([users, torch.randint(0, n_items, (len(users),), generator=g)], 1)
    Checkpoint(
        version=f"random-{n_items}",
        config=TrainConfig(),
        user_ids=[f"u{i}" for i in range(n_users)],
        item_ids=[f"p{i}" for i in range(n_items)],
        entity_ids=[],
        tensors={
            "users": torch.randn(n_users, dim, generator=g),
            "items": torch.randn(n_items, dim, generator=g),
            "entities": torch.zeros(0, dim),
            "item_popularity": torch.rand(n_items, generator=g),
            "seen": seen,
            "item_entities": torch.zeros(0, 2, dtype=torch.long),
        },
        state_dict={},
        created=time.time(),
    ).save(directory / "models" / "random")
    return directory


def agreement(
    a: list[tuple[list[str], np.ndarray]], b: list[tuple[list[str], np.ndarray]]
) -> tuple[float, float]:
    """Mean overlap of the best 100 and the largest score difference, ``b`` against ``a``."""
    overlap = [len(set(x[0]) & set(y[0])) / max(len(x[0]), 1) for x, y in zip(a, b, strict=True)]
    diff = max(float(np.abs(x[1] - y[1]).max()) for x, y in zip(a, b, strict=True))
    return float(np.mean(overlap)), diff


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--data-dir", type=Path, help="a served data dir")
    where.add_argument("--random-items", type=int, help="a random checkpoint of this many items")
    ap.add_argument("--threads", default="1,8,32", help="concurrent turns, comma-separated")
    ap.add_argument("--turns", type=int, default=2000, help="turns per arm and thread count")
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    if args.turns < 1 or not threads or min(threads) < 1:
        ap.error("--turns and the thread counts must be >= 1")
    if args.random_items is None:
        return run(args, threads, args.data_dir)
    if args.random_items < 2:
        ap.error("--random-items must be >= 2")
    with tempfile.TemporaryDirectory(prefix="kgrec-random-") as scratch:
        return run(args, threads, random_checkpoint(Path(scratch), args.random_items))


def run(args: argparse.Namespace, threads: list[int], data_dir: Path) -> int:
    """Every arm at every thread count over the newest checkpoint in ``data_dir``."""
    checkpoint = latest_checkpoint(data_dir / "models")
    if checkpoint is None:
        print(f"no model checkpoint under {data_dir / 'models'}", file=sys.stderr)
        return 2
    scorers = {
        arm: load_model(checkpoint, {"item_index": index, "score_batching": batching,
                                     "device": args.device})
        for arm, (index, batching) in ARMS.items()
    }  # fmt: skip
    first = scorers["exact"]
    print(f"score batching benchmark, {len(first.item_ids):,} items, {args.turns} turns per arm")
    print(f"  scorer: {first!r}; os.cpu_count() {os.cpu_count()}")
    if "cuda" in repr(first):
        import torch

        print(f"  GPU: {torch.cuda.get_device_name()}")
    print(f"{'threads':>7} {'arm':>8} {'turns/s':>9} {'CPU ms/turn':>12} {'mean batch':>11}"
          f" {'best-100 overlap':>17} {'max |score diff|':>17}")  # fmt: skip
    for n in threads:
        ctxs = contexts(first, args.turns, args.seed + n)  # messages new to every encoder
        answers = {}
        for arm, scorer in scorers.items():
            rate, cpu_ms, mean, answers[arm] = run_arm(scorer, ctxs, n)
            overlap, diff = agreement(answers["exact"], answers[arm])
            print(f"{n:>7} {arm:>8} {rate:>9.0f} {cpu_ms:>12.2f} {mean:>11.2f}"
                  f" {overlap:>17.4f} {diff:>17.2e}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
