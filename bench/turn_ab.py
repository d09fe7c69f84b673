"""A/B of a code change on served turns, interleaved turn by turn in one process.

    python -m bench.turn_ab --data-dir DIR --before REV \\
        --swap server.retrieval:retrieve [--swap MODULE:ATTR[,ATTR...]] [--turns 2000] \\
        [--fresh-messages]

On a shared 2-core machine the speed moves by tens of percent between two runs of the same
command minutes apart, more than most changes to a turn; two runs, one per commit, compare the
machine's moods. Here one process builds the served pipeline once (as
:mod:`bench.turn_profile` does: :func:`server.serve.build_runtime` over a copy of ``DIR``)
and drives the load benchmark's seeded mix through it; before each Recommend a coin (seeded)
decides whether the turn runs the code as it is or as it was at ``REV``: each ``--swap``
names a module and the attributes (functions, or ``Class.method``) to take from that
module's source at ``REV`` (``git show``; loaded as a module of the same package, so its
relative imports resolve to today's modules). Both arms see the same machine, caches and
graph, drift included, and each arm's turns are a random half of one sequence.

It prints each arm's turns, mean and median milliseconds (the whole ``recommend_sync``), and
the after-minus-before difference of each with a bootstrap 95% interval over turns. Only
attributes whose old code runs against today's other modules can be swapped (a change of
several functions: swap them all).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from bench.turn_profile import drive
from server.serve import GC_YOUNG_THRESHOLD, build_runtime, settle_heap
from server.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent


def module_at(name: str, rev: str) -> ModuleType:
    """Module ``name`` as its source was at ``rev``, loaded beside today's (same package)."""
    path = Path(*name.split(".")).with_suffix(".py")
    source = subprocess.run(
        ["git", "show", f"{rev}:{path.as_posix()}"],
        cwd=REPO_ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    package, _, leaf = name.rpartition(".")
    spec = importlib.util.spec_from_loader(f"{package}._ab_before_{leaf}", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = package
    sys.modules[spec.name] = module  # dataclasses look their module up while it runs
    exec(compile(source, f"{rev}:{path}", "exec"), module.__dict__)  # noqa: S102 - our own code
    return module


def swaps(specs: list[str], rev: str) -> list[tuple[Any, str, Any, Any]]:
    """``(owner, attribute, today's value, the value at rev)`` for each ``MODULE:ATTR``: a
    module-level name is swapped in every loaded module that imported it by name too (the
    pipeline calls ``retrieve`` through its own ``from .retrieval import retrieve``)."""
    out = []
    for spec in specs:
        name, _, attrs = spec.partition(":")
        now, before = importlib.import_module(name), module_at(name, rev)
        for dotted in filter(None, attrs.split(",")):
            *owner_path, attr = dotted.split(".")
            owner, old_owner = now, before
            for part in owner_path:
                owner, old_owner = getattr(owner, part), getattr(old_owner, part)
            value, old = getattr(owner, attr), getattr(old_owner, attr)
            owners = [owner]
            if not owner_path:
                mods = list(sys.modules.values())
                owners += [m for m in mods if m is not now and getattr(m, attr, None) is value]
            out += [(o, attr, value, old) for o in owners]
    return out


def interval(a: np.ndarray, b: np.ndarray, stat: Any, seed: int = 0) -> tuple[float, float, float]:
    """``stat(a) - stat(b)`` and its bootstrap 95% interval (turns resampled in each arm)."""
    rng = np.random.default_rng(seed)
    diffs = [
        stat(rng.choice(a, len(a))) - stat(rng.choice(b, len(b))) for _ in range(2000)
    ]  # fmt: skip
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return float(stat(a) - stat(b)), float(lo), float(hi)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--before", required=True, help="the revision to compare against")
    ap.add_argument("--swap", action="append", required=True, help="MODULE:ATTR[,ATTR...]")
    ap.add_argument("--turns", type=int, default=2000)
    ap.add_argument("--warm-up", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--users", type=int, default=2500)
    ap.add_argument("--fresh-messages", action="store_true", help="as bench.turn_profile's")
    args = ap.parse_args(argv)
    swapped = swaps(args.swap, args.before)
    with tempfile.TemporaryDirectory(prefix="kgrec-turn-ab-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(args.data_dir, data, ignore=shutil.ignore_patterns("*.sock", "*.pid"))
        settings = Settings(data_dir=data, demo_users=args.users, log_message_text=False)
        runtime = build_runtime(settings)
        runtime.store.warm(wait=True)
        settle_heap(GC_YOUNG_THRESHOLD)
        pipeline, coin = runtime.pipeline, random.Random(f"kgrec-turn-ab:{args.seed}")
        turn = pipeline.recommend_sync
        ms: dict[bool, list[float]] = {True: [], False: []}

        def timed(query: Any) -> Any:
            after = coin.random() < 0.5
            for owner, attr, now, before in swapped:
                setattr(owner, attr, now if after else before)
            started = time.perf_counter()
            answer = turn(query)
            ms[after].append((time.perf_counter() - started) * 1000)
            return answer

        pipeline.recommend_sync = timed
        try:
            drive(runtime, args.warm_up, args.seed + 1, args.users, args.fresh_messages)
            ms = {True: [], False: []}
            drive(runtime, args.turns, args.seed, args.users, args.fresh_messages)
        finally:
            for owner, attr, now, _ in swapped:
                setattr(owner, attr, now)
            runtime.close()
    after, before = np.array(ms[True]), np.array(ms[False])
    print(f"before = {args.before} for {', '.join(args.swap)}; after = the working tree")
    for name, v in (("before", before), ("after", after)):
        print(f"  {name:<6} {len(v):5d} turns  mean {v.mean():7.2f} ms  median {np.median(v):7.2f}")
    for label, stat in (("mean", np.mean), ("median", np.median)):
        d, lo, hi = interval(after, before, stat)
        print(f"  after - before, {label:<6} {d:+.2f} ms [{lo:+.2f}, {hi:+.2f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
