"""Start-up benchmark: ``kgrec serve`` from spawn to ``grpc.health.v1`` SERVING, first and warm.

    python -m bench.startup [--products 6000] [--users 2500] [--restarts 3] [--data-dir DIR]
                            [--seed 7] [--settle 10] [-- extra `kgrec serve` flags]

Starts the real server as ``kgrec serve`` does (``python -m kgrec.cli serve --port 0``, the
embedded graph DB, the demo store, at INFO), once on the data dir as found (a fresh one: the
first start, which generates the demo store and trains the small model) and then
``--restarts`` more times on the same data dir (warm restarts: nothing to load into the graph,
nothing to train). For each start it prints

- the seconds from spawning the process to health SERVING, and to the first Recommend answered
  right after (a fixed message, checked to return items: a start that reports SERVING before
  it can answer shows here as a slow or failed first call);
- then, ``--settle`` seconds later, the milliseconds of a few first turns whose words no
  start-up step has read (:data:`NEW_WORD_MESSAGES`): what a restarted server's next
  shoppers wait;
- the server's and the graph DB's CPU seconds spent until SERVING (steadier than wall time on a
  shared machine) and their RSS;
- each start-up stage the server logged (``...: done in N s``), and a timeline: every log line
  up to SERVING with the second it arrived.

Ends with the warm restarts' median and range, and the load average before and after, so a run
on a busy machine shows as one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc

from bench.load import _commit, _loadavg, startup_stages
from bench.load_report import proc_usage
from bench.load_workload import wait_serving
from kgrec.v1 import recommender_pb2, recommender_pb2_grpc
from server.serve_process import ServeProcess

#: the first call after SERVING: a first turn that links a category and a price
FIRST_MESSAGE = "red running shoes under 100"
#: then, ``--settle`` seconds later (the start's background work done: the filter snapshot,
#: at 100k products), first turns with words no start-up step has read (each in its own
#: session): a text encoder that computes vectors on first use pays for them here, not in the
#: load benchmark
NEW_WORD_MESSAGES = (
    "waterproof hiking boots for a glacier trek",
    "a birthday gift for my grandmother who loves gardening",
    "noise cancelling headphones for the commute",
    "lightweight tent for bikepacking in patagonia",
    "something cozy to read by the fireplace",
    "a vintage turntable with bluetooth",
    "an ergonomic chair for lumbar pain",
    "an ultralight rain shell with pit zips",
)

_LOG_LINE = re.compile(r"^\S+ [\d:,]+ (?:INFO|WARNING|ERROR) (\S+) \[[^\]]*\] (.*)$")


@dataclass(frozen=True, slots=True)
class StartResult:
    serving_s: float
    first_call_s: float
    first_call_items: int
    new_words_ms: list[float]
    server_cpu_s: float
    graph_cpu_s: float
    server_rss_mb: float
    graph_rss_mb: float


async def _first_recommend(target: str, settle_s: float) -> tuple[float, int, list[float]]:
    """The first call's seconds and items, then each :data:`NEW_WORD_MESSAGES` call's ms."""
    started = time.perf_counter()
    async with grpc.aio.insecure_channel(target) as channel:
        stub = recommender_pb2_grpc.RecommenderServiceStub(channel)
        reply = await stub.Recommend(
            recommender_pb2.RecommendRequest(message=FIRST_MESSAGE, limit=10), timeout=60
        )
        took, new_words = time.perf_counter() - started, []
        await asyncio.sleep(settle_s)
        for message in NEW_WORD_MESSAGES:
            at = time.perf_counter()
            await stub.Recommend(recommender_pb2.RecommendRequest(message=message), timeout=60)
            new_words.append((time.perf_counter() - at) * 1000)
    return took, len(reply.items), new_words


def timeline(srv: ServeProcess, until: float, width: int = 110) -> list[str]:
    """Each log line that arrived before ``until``, as ``+seconds  logger: message``."""
    out = []
    for at, line in zip(srv.output_times, srv.output, strict=False):
        if at > until:
            break
        m = _LOG_LINE.match(line.rstrip())
        if m:
            text = f"{m.group(1)}: {m.group(2)}"
            out.append(f"    +{at - srv.spawned_at:6.2f} s  {text[:width]}")
    return out


def one_start(
    data_dir: Path, serve_args: Sequence[str], timeout: float, label: str, settle_s: float = 10.0
) -> StartResult:
    """Start ``kgrec serve`` on ``data_dir``, wait for SERVING, make one Recommend, stop it."""
    srv = ServeProcess(data_dir, *serve_args, start_timeout=timeout)
    srv.start()
    try:
        asyncio.run(wait_serving(srv.target, timeout))
        serving_at = time.perf_counter()
        use = proc_usage(srv.pid)
        call_s, items, new_words = asyncio.run(_first_recommend(srv.target, settle_s))
    finally:
        code = srv.stop()
    if code:
        print(f"kgrec serve exited {code}:\n{srv.tail()}", file=sys.stderr)
    result = StartResult(
        serving_at - srv.spawned_at,
        call_s,
        items,
        new_words,
        use.cpu_s,
        use.children_cpu_s,
        use.rss_mb,
        use.children_rss_mb,
    )
    print(
        f"\n== {label}: SERVING after {result.serving_s:.2f} s; first Recommend "
        f"{result.first_call_s * 1000:.0f} ms ({items} items); CPU until SERVING: server "
        f"{result.server_cpu_s:.2f} s, graph DB {result.graph_cpu_s:.2f} s; RSS server "
        f"{result.server_rss_mb:.0f} MB, graph DB {result.graph_rss_mb:.0f} MB; "
        f"load average {_loadavg()}"
    )
    print(
        f"  then {len(new_words)} first turns with new words: median "
        f"{statistics.median(new_words):.1f} ms, max {max(new_words):.1f} ms "
        f"({', '.join(f'{ms:.0f}' for ms in new_words)})"
    )
    for what, took in startup_stages(srv.output):
        print(f"  stage {took:>6} s  {what}")
    print("  timeline (seconds since spawn):")
    for line in timeline(srv, serving_at):
        print(line)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--products", type=int, default=6000, help="demo catalog size")
    ap.add_argument("--users", type=int, default=2500, help="demo users")
    ap.add_argument("--seed", type=int, default=7, help="demo store seed")
    ap.add_argument("--restarts", type=int, default=3, help="warm restarts after the first")
    ap.add_argument("--data-dir", type=Path, help="reuse a data dir; default: a fresh one")
    ap.add_argument("--start-timeout", type=float, default=1800.0, help="seconds to SERVING")
    ap.add_argument("--settle", type=float, default=10.0, help="seconds before new words")
    ap.add_argument("serve_args", nargs="*", help="extra `kgrec serve` flags, after --")
    args = ap.parse_args(argv)
    if args.restarts < 0 or args.products < 1:
        ap.error("--restarts must be >= 0 and --products >= 1")
    serve_args = [
        "--demo-products", str(args.products), "--demo-users", str(args.users),
        "--seed", str(args.seed), *args.serve_args,
    ]  # fmt: skip

    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"kgrec start-up benchmark, {now}, commit {_commit()}")
    print(f"os.cpu_count() {os.cpu_count()}; load average before {_loadavg()}")
    print(f"demo store {args.products} products, {args.users} users, seed {args.seed}")
    with tempfile.TemporaryDirectory(prefix="kgrec-startup-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        fresh = not (data_dir / "models").is_dir()
        first = "first start (fresh data dir)" if fresh else "first start of this run"
        one_start(data_dir, serve_args, args.start_timeout, first, args.settle)
        warm = [
            one_start(
                data_dir, serve_args, args.start_timeout, f"warm restart {i + 1}", args.settle
            )
            for i in range(args.restarts)
        ]
    print(f"\nload average after {_loadavg()}")
    if warm:
        new_words = [ms for r in warm for ms in r.new_words_ms]
        serving = [r.serving_s for r in warm]
        cpu = [r.server_cpu_s for r in warm]
        print(
            f"warm restart to SERVING: median {statistics.median(serving):.2f} s "
            f"(min {min(serving):.2f}, max {max(serving):.2f}, n={len(warm)}); server CPU "
            f"median {statistics.median(cpu):.2f} s; first Recommend median "
            f"{statistics.median(r.first_call_s for r in warm) * 1000:.0f} ms; first turns "
            f"with new words median {statistics.median(new_words):.1f} ms, max "
            f"{max(new_words):.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
