"""Soak: many distinct messages against one live server; do memory and latency stay flat?

    python -m bench.soak --messages 50000 --concurrency 4 [--no-train-model] [--seed 0]

Starts ``kgrec serve`` (a small demo store and, unless ``--no-train-model``, the small trained
model, whose scorer embeds every new query text) as a child process, then sends ``--messages``
Recommend calls, every message different (shopper words plus a made-up product-ish word,
so no embedding or parse is ever a cache hit), each a new conversation or a follow-up of a
recent one. It prints the server's RSS after the warm-up, after the first window and at the
end, and over the first and the last window of messages (``--window``, default a fifth: the
first and last 10,000 of 50,000) the Recommend latency (p50, p95), the server's own CPU time
per call (user + system, from ``/proc``) and the load average, with the ratios last / first;
it exits 1 when a call failed or the server died.

Wall-clock latency also measures whatever else the machine runs: the CPU time per call and the
load average beside it tell growth inside the server from a busier machine. On a shared box,
run it ahead of the other work, e.g. ``nice -n -10 python -m bench.soak ...`` (as root).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc

from bench.fuzz import rss_mib
from kgrec.v1 import recommender_pb2 as pb
from kgrec.v1 import recommender_pb2_grpc as pb_grpc

COLORS = ("red", "blue", "black", "white", "green", "grey", "pink", "brown", "navy", "olive")
THINGS = (
    "running shoes", "boots", "hoodie", "jacket", "headphones", "backpack", "sandals",
    "t-shirt", "jeans", "blanket", "lamp", "yoga mat", "sneakers", "speaker", "watch",
)  # fmt: skip
EXTRAS = ("under {p}", "between {lo} and {p}", "not Nike", "for travel", "waterproof", "")
FOLLOW_UPS = ("cheaper", "more like the second one", "not that brand", "something {w}")
SYLLABLES = ("ka", "lo", "mi", "ter", "zu", "vex", "ran", "bo", "qui", "sel", "dor", "fa")


def made_up_word(i: int) -> str:
    """A distinct pronounceable word for every ``i`` (base-12 syllables)."""
    out = []
    while True:
        i, r = divmod(i, len(SYLLABLES))
        out.append(SYLLABLES[r])
        if i == 0:
            return "".join(out)


def message(rng: random.Random, i: int, follow_up: bool) -> str:
    """The ``i``-th message: distinct from every other one by its made-up word."""
    word = made_up_word(i)
    if follow_up:
        return rng.choice(FOLLOW_UPS).format(w=word) + f" {word}"
    extra = rng.choice(EXTRAS).format(p=rng.randrange(30, 300), lo=rng.randrange(5, 30))
    return f"{rng.choice(COLORS)} {rng.choice(THINGS)} {extra} {word}".replace("  ", " ")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (Linux ``/proc``); NaN when unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=5000, help="distinct messages to send")
    ap.add_argument("--concurrency", type=int, default=4, help="client threads")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--demo-products", type=int, default=800)
    ap.add_argument("--demo-users", type=int, default=200)
    ap.add_argument("--no-train-model", action="store_true", help="serve without a model")
    ap.add_argument("--data-dir", type=Path, help="reuse a data dir (default: a fresh temp dir)")
    ap.add_argument("--window", type=int, help="messages per compared window (default n / 5)")
    args = ap.parse_args(argv)
    if args.messages < 10 or args.concurrency < 1:
        ap.error("--messages must be >= 10 and --concurrency >= 1")
    from server.serve_process import ServeProcess

    serve_args = ["--demo-products", str(args.demo_products)]
    serve_args += ["--demo-users", str(args.demo_users), "--log-level", "WARNING"]
    if args.no_train_model:
        serve_args.append("--no-train-model")
    rng = random.Random(args.seed)
    n = args.messages
    tenth = max(1, min(args.window or n // 5, n // 2))
    latencies: list[float] = [float("nan")] * n
    failures: list[str] = []
    sessions: list[str] = []
    lock = threading.Lock()
    counter = iter(range(n))
    rss_marks: dict[str, float] = {}
    cpu_marks: dict[str, tuple[float, float]] = {}  # name -> (server CPU s, 1-min load)
    with tempfile.TemporaryDirectory(prefix="kgrec-soak-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        with ServeProcess(data_dir, *serve_args) as srv:
            proc = srv._proc
            assert proc is not None
            with grpc.insecure_channel(srv.target) as channel:
                stub = pb_grpc.RecommenderServiceStub(channel)
                for i in range(20):  # warm-up, not counted
                    stub.Recommend(pb.RecommendRequest(message=f"warm {made_up_word(n + i)}"))
                rss_marks["after warm-up"] = rss_mib(proc.pid)
                cpu_marks["start"] = (cpu_seconds(proc.pid), os.getloadavg()[0])

                def worker() -> None:
                    while True:
                        with lock:
                            i = next(counter, None)
                            if i is None:
                                return
                            follow = bool(sessions) and rng.random() < 0.4
                            session = rng.choice(sessions) if follow else ""
                            text = message(rng, i, follow)
                        started = time.perf_counter()
                        try:
                            resp = stub.Recommend(
                                pb.RecommendRequest(message=text, session_id=session, limit=10),
                                timeout=60,
                            )
                        except grpc.RpcError as e:
                            with lock:
                                failures.append(f"{e.code().name}: {e.details()}")  # type: ignore[attr-defined]
                            continue
                        took = (time.perf_counter() - started) * 1000
                        with lock:
                            latencies[i] = took
                            if not session:
                                sessions.append(resp.session_id)
                                del sessions[:-200]  # follow-ups go to recent conversations
                            if i == tenth:
                                rss_marks["after the first window"] = rss_mib(proc.pid)
                                cpu_marks["first"] = (cpu_seconds(proc.pid), os.getloadavg()[0])
                            if i == n - tenth:
                                cpu_marks["last"] = (cpu_seconds(proc.pid), os.getloadavg()[0])
                            if i % max(1, n // 20) == 0:
                                print(f"  {i}/{n}", file=sys.stderr, flush=True)

                t0 = time.perf_counter()
                with ThreadPoolExecutor(args.concurrency) as pool:
                    for future in [pool.submit(worker) for _ in range(args.concurrency)]:
                        future.result()
                seconds = time.perf_counter() - t0
                alive = proc.poll() is None
                rss_marks["at the end"] = rss_mib(proc.pid)
                cpu_marks["end"] = (cpu_seconds(proc.pid), os.getloadavg()[0])
    first = [x for x in latencies[:tenth] if x == x]
    last = [x for x in latencies[-tenth:] if x == x]
    p50 = (percentile(first, 0.5), percentile(last, 0.5))
    p95 = (percentile(first, 0.95), percentile(last, 0.95))
    rss_ratio = rss_marks["at the end"] / rss_marks["after the first window"]
    cpu_ms = (
        (cpu_marks["first"][0] - cpu_marks["start"][0]) * 1000 / tenth,
        (cpu_marks["end"][0] - cpu_marks["last"][0]) * 1000 / tenth,
    )
    load = (cpu_marks["first"][1], cpu_marks["end"][1])
    model = "off" if args.no_train_model else "on"
    print(
        f"messages:           {n} distinct, {seconds:.0f} s ({n / seconds:.1f}/s), "
        f"concurrency {args.concurrency}, model {model}"
    )
    print(f"failed calls:       {len(failures)}" + (f" (first: {failures[0]})" if failures else ""))
    print(f"server alive:       {'yes' if alive else 'NO'}")
    print("server RSS MiB:     " + ", ".join(f"{k} {v:.0f}" for k, v in rss_marks.items()))
    print(f"RSS end / first:    {rss_ratio:.3f}")
    w = f"{tenth:,}"
    print(
        f"Recommend p50 ms:   first {w} {p50[0]:.1f}, last {w} {p50[1]:.1f} "
        f"(ratio {p50[1] / p50[0]:.3f})"
    )
    print(f"Recommend p95 ms:   first {w} {p95[0]:.1f}, last {w} {p95[1]:.1f}")
    print(
        f"server CPU ms/call: first {w} {cpu_ms[0]:.1f}, last {w} {cpu_ms[1]:.1f} "
        f"(ratio {cpu_ms[1] / cpu_ms[0]:.3f})"
    )
    print(f"load average (1m):  end of first {load[0]:.2f}, end of last {load[1]:.2f}")
    return 0 if alive and not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
