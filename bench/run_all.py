"""Every benchmark, one after the other, each printing its own figures.

    python -m bench.run_all --data ../shared/data [--only linking,intent,...] [--quick]

``make bench`` runs this. Each benchmark is its own module (see ``bench/__init__.py``); this
only sequences them, so a failure in one is reported and the rest still run. ``--quick``
passes the small-size options where a benchmark has them (a smoke run, not the figures).
The RecBole side of the MovieLens table needs its own venv, which ``bench.recbole_runner``
creates on first use (several minutes).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

BENCHES: dict[str, tuple[list[str], list[str]]] = {
    # name: (arguments, extra arguments for --quick)
    "linking": (["-m", "bench.linking_bench", "--data", "{data}"], []),
    "intent": (["-m", "bench.intent_bench"], []),
    "serve": (["-m", "bench.serve_latency"], ["--requests", "40"]),
    "load": (["-m", "bench.load"], ["--no-train-model", "--concurrency", "1,8", "--seconds", "5"]),
    "ann": (["-m", "bench.ann"], ["--sizes", "10000,100000"]),
    "import": (["-m", "bench.import_bench"], ["--products", "10000", "--triples", "100000"]),
    "recbole": (["-m", "bench.recbole_runner", "--data", "{data}"], ["--models", "BPR"]),
    "movielens": (
        ["-m", "bench.movielens", "--data", "{data}", "--seeds", "3"],
        ["--variants", "kgrec", "--seeds", "1"],
    ),
    "amazon-book": (["-m", "bench.movielens", "--data", "{data}", "--amazon-book", "--reuse"], []),
    "crs": (["-m", "bench.crs_bench", "--data", "{data}"], ["--limit", "50"]),
    "crs-tune": (["-m", "bench.crs_tune", "--data", "{data}"], ["--dataset", "inspired"]),
    "crs-links": (["-m", "bench.crs_links", "--data", "{data}"], ["--limit", "50"]),
    "feedback-sim": (
        ["-m", "bench.feedback_sim"],
        ["--sessions-per-arm", "100", "--products", "300", "--users", "60"],
    ),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data", help="the shared data folder")
    ap.add_argument("--only", default="", help=f"comma-separated subset of {','.join(BENCHES)}")
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or list(BENCHES)
    unknown = sorted(set(names) - set(BENCHES))
    if unknown:
        ap.error(f"unknown benchmark(s) {unknown}; valid: {', '.join(BENCHES)}")
    failed: list[str] = []
    for name in names:
        cmd, quick = BENCHES[name]
        argv = [sys.executable, *(a.format(data=args.data) for a in cmd)]
        if args.quick:
            argv += quick
        print(f"\n=== {name}: {' '.join(argv[1:])}", flush=True)
        started = time.perf_counter()
        code = subprocess.call(argv)
        print(f"=== {name}: exit {code} after {time.perf_counter() - started:.0f} s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
