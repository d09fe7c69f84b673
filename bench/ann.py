"""Exact against approximate top-100 item search, 10k to 1M items: what the item index uses.

    .venv/bin/python -m bench.ann [--sizes 10000,100000,1000000] [--dim 64] [--queries 200]
        [--nprobe 8,16,32,64] [--hnsw]

Vectors: ``n / 200`` Gaussian clusters in ``dim`` dimensions (centres N(0, 1), items at
centre + N(0, 0.6²)), L2-normalised as the default (cosine) model's item vectors are. Queries are
made as a turn's are: the normalised mean of 1–5 random items plus a random unit vector
(the conversation text), half weight. Per size and method it prints recall@100 against exact
search (mean over queries), query time p50 / p99 in ms (one query at a time, one thread:
a server turn's case), build seconds, and index memory (the serialised FAISS index, or the
matrix for exact). ``models.scoring.item_index`` takes its ``auto`` threshold and ``nprobe``
from these figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from models.scoring.item_index import ExactIndex, FaissIvfIndex, ivf_lists


def catalogue(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    centres = rng.standard_normal((max(1, n // 200), dim)).astype(np.float32)
    items = centres[rng.integers(0, len(centres), n)]
    items += 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    items /= np.linalg.norm(items, axis=1, keepdims=True)
    return items


def queries(items: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((count, items.shape[1]), dtype=np.float32)
    for q in range(count):
        mean = items[rng.integers(0, len(items), rng.integers(1, 6))].mean(0)
        noise = rng.standard_normal(items.shape[1]).astype(np.float32)
        vec = mean / np.linalg.norm(mean) + 0.5 * noise / np.linalg.norm(noise)
        out[q] = vec
    return out


def measure(
    search: Callable[[np.ndarray], np.ndarray], qs: np.ndarray, truth: list[set[int]]
) -> tuple[float, float, float]:
    """(recall@100, p50 ms, p99 ms)."""
    times, hits = [], 0
    for q, want in zip(qs, truth, strict=True):
        t0 = time.perf_counter()
        rows = search(q)
        times.append((time.perf_counter() - t0) * 1000)
        hits += len(want.intersection(rows.tolist()))
    return hits / (100 * len(qs)), float(np.percentile(times, 50)), float(np.percentile(times, 99))


def run_size(n: int, args: argparse.Namespace, faiss: Any) -> None:
    """One catalogue size: every method's row."""
    rng = np.random.default_rng(args.seed)
    items = catalogue(n, args.dim, rng)
    qs = queries(items, args.queries, rng)
    t0 = time.perf_counter()
    exact = ExactIndex(items)
    build = time.perf_counter() - t0
    truth = [set(exact.search(q, 100)[0].tolist()) for q in qs]

    def row(name: str, rec: float, p50: float, p99: float, secs: float, mb: float) -> None:
        print(
            f"{n:>9}  {name:<32} {rec:>10.4f} {p50:>8.2f} {p99:>8.2f} {secs:>8.1f} "
            f"{mb:>8.1f} {mb * 1e6 / n:>11.0f}",
            flush=True,
        )

    rec, p50, p99 = measure(lambda q: exact.search(q, 100)[0], qs, truth)
    row("exact (numpy)", rec, p50, p99, build, items.nbytes / 2**20)
    t0 = time.perf_counter()
    ivf = FaissIvfIndex(items, seed=args.seed)
    build = time.perf_counter() - t0
    mb = len(faiss.serialize_index(ivf._index)) / 2**20
    default = ivf._index.nprobe
    for nprobe in sorted({default, *(int(s) for s in args.nprobe.split(","))}):
        ivf._index.nprobe = nprobe
        rec, p50, p99 = measure(lambda q: ivf.search(q, 100)[0], qs, truth)
        mark = " (default)" if nprobe == default else ""
        row(f"ivf{ivf_lists(n)} nprobe {nprobe}{mark}", rec, p50, p99, build, mb)
    if args.hnsw:
        t0 = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(args.dim, 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.add(items)
        build = time.perf_counter() - t0
        mb = len(faiss.serialize_index(hnsw)) / 2**20
        for ef in (64, 128, 256):
            hnsw.hnsw.efSearch = ef

            def search(q: np.ndarray, index: Any = hnsw) -> np.ndarray:
                return index.search(q[None, :], 100)[1][0]

            rec, p50, p99 = measure(search, qs, truth)
            row(f"hnsw32 ef {ef}", rec, p50, p99, build, mb)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--nprobe", default="8,16,32,64")
    p.add_argument("--hnsw", action="store_true", help="also FAISS HNSW (M 32), for comparison")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    import faiss

    faiss.omp_set_num_threads(1)
    print(f"item search, dim {args.dim}, {args.queries} queries, top 100, one thread")
    print(
        f"{'items':>9}  {'method':<32} {'recall@100':>10} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'build s':>8} {'MB':>8} {'MB/1M items':>11}"
    )
    for n in (int(s) for s in args.sizes.split(",")):
        run_size(n, args, faiss)
    return 0


if __name__ == "__main__":
    sys.exit(main())
