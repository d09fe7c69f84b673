"""Recommend latency of the real service: ``kgrec serve`` on the embedded default.

    python -m bench.serve_latency [--data-dir DIR] [--requests 200] [--concurrency 8]

Starts ``kgrec serve`` (demo store, trained model unless ``--no-train-model``) as a child
process, warms it up, then prints start-up time, sequential latency percentiles over a mix of
messages (new sessions and follow-up turns) and throughput with concurrent clients.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc

from kgrec.v1 import recommender_pb2 as pb
from kgrec.v1 import recommender_pb2_grpc as pb_grpc
from server.serve_process import ServeProcess

MESSAGES = [
    "red running shoes under 100, not Nike",
    "wireless headphones between 50 and 150",
    "a blue hoodie, not Adidas",
    "something for yoga",
    "leather boots under 120",
    "cozy blanket",
    "gifts for a runner",
    "black backpack for travel",
]
FOLLOW_UPS = ["cheaper", "more like the second one", "not that brand"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def one_conversation(stub: pb_grpc.RecommenderServiceStub, first: str) -> list[float]:
    timings: list[float] = []
    session = ""
    for message in [first, *FOLLOW_UPS]:
        started = time.perf_counter()
        resp = stub.Recommend(
            pb.RecommendRequest(message=message, session_id=session, limit=10, explain=True),
            timeout=60,
        )
        timings.append((time.perf_counter() - started) * 1000)
        session = resp.session_id
    return timings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, help="reuse a data dir (default: a fresh temp dir)")
    ap.add_argument("--requests", type=int, default=200, help="sequential requests to time")
    ap.add_argument("--concurrency", type=int, default=8, help="clients for the throughput run")
    ap.add_argument("serve_args", nargs="*", help="extra `kgrec serve` flags, after --")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="kgrec-bench-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        started = time.perf_counter()
        with ServeProcess(data_dir, "--log-level", "WARNING", *args.serve_args) as srv:
            ready_s = time.perf_counter() - started
            with grpc.insecure_channel(srv.target) as channel:
                stub = pb_grpc.RecommenderServiceStub(channel)
                for message in MESSAGES:  # warm-up
                    one_conversation(stub, message)
                seq: list[float] = []
                while len(seq) < args.requests:
                    seq += one_conversation(stub, MESSAGES[len(seq) % len(MESSAGES)])
                total = args.requests
                t0 = time.perf_counter()
                with ThreadPoolExecutor(args.concurrency) as pool:
                    convs = list(
                        pool.map(
                            lambda i: one_conversation(stub, MESSAGES[i % len(MESSAGES)]),
                            range(max(total // 4, args.concurrency)),
                        )
                    )
                wall = time.perf_counter() - t0
                n_conc = sum(len(c) for c in convs)
    print(
        f"start-up to serving: {ready_s:.1f} s (data dir {'reused' if args.data_dir else 'fresh'})"
    )
    print(f"sequential Recommend, {len(seq)} calls (new session + 3 follow-ups, explain=true):")
    print(
        f"  p50 {percentile(seq, 0.50):.1f} ms  p95 {percentile(seq, 0.95):.1f} ms  "
        f"p99 {percentile(seq, 0.99):.1f} ms  mean {statistics.mean(seq):.1f} ms"
    )
    print(
        f"concurrent: {n_conc} calls with {args.concurrency} clients in {wall:.1f} s "
        f"= {n_conc / wall:.1f} calls/s"
    )


if __name__ == "__main__":
    main()
