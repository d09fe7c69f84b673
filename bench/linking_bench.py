"""Entity-linking benchmark on the labelled set ``kg/data/linking_eval.jsonl``.

    .venv/bin/python -m bench.linking_bench --data ../shared/data

Builds one linker per domain — ``demo`` from :func:`kg.demo.generator.generate_demo` rows,
``movielens`` from the MovieLens importer's rows (``--data``); with ``--store`` the rows go
into a throw-away embedded FalkorDB whose lexicon and fulltext index the linker uses — and
prints per domain and
overall: accuracy@1, precision and recall of non-NIL links, NIL precision/recall, recall@5,
a calibration table (top-1 score bin → accuracy), a NIL-threshold sweep (chosen on even lines,
scored on odd lines), and p50/p95 latency of a 3-mention message (three ``link()`` calls on
mentions drawn from the set, mention-embedding cache cleared before each message).
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from kg.linking import (
    EntityLinker,
    LinkerConfig,
    MiniLMNameEncoder,
    NameEncoder,
    StaticMiniLMEncoder,
)
from kg.linking.evaluation import (
    Example,
    calibration,
    demo_rows,
    load_eval,
    load_into_store,
    metrics,
    movielens_rows,
    run,
    sweep,
)
from kg.linking.lexicon_rows import lexicon_from_rows
from kg.store import GraphStore

logger = logging.getLogger(__name__)


def latency(
    linkers: dict[str, EntityLinker],
    examples: Sequence[Example],
    messages: int,
    seed: int,
) -> dict[str, tuple[float, float, float, float]]:
    """Wall-clock p50/p95 and this thread's CPU p50/p95 (milliseconds) of three ``link()``
    calls, per domain and overall. On a shared, overloaded machine the wall-clock tail is
    mostly the process waiting for a core; CPU time leaves that out (and also the database
    server's own work, which runs in another process)."""
    rng = random.Random(seed)
    wall: dict[str, list[float]] = {d: [] for d in linkers}
    cpu: dict[str, list[float]] = {d: [] for d in linkers}
    by_domain = {d: [e for e in examples if e.domain == d] for d in linkers}
    for _ in range(messages):
        for domain, linker in linkers.items():
            pool = by_domain[domain]
            if not pool:
                continue
            batch = [rng.choice(pool) for _ in range(3)]
            linker.clear_cache()
            start, start_cpu = time.perf_counter(), time.thread_time()
            for ex in batch:
                linker.link(ex.mention, label_hint=ex.label_hint)
            wall[domain].append((time.perf_counter() - start) * 1000)
            cpu[domain].append((time.thread_time() - start_cpu) * 1000)
    out = {d: (*_p50_p95(wall[d]), *_p50_p95(cpu[d])) for d in linkers if wall[d]}
    out["overall"] = (
        *_p50_p95([x for t in wall.values() for x in t]),
        *_p50_p95([x for t in cpu.values() for x in t]),
    )
    return out


def _p50_p95(xs: list[float]) -> tuple[float, float]:
    xs = sorted(xs)
    return statistics.median(xs), xs[min(len(xs) - 1, int(0.95 * len(xs)))]


def _fmt(m: dict[str, float]) -> str:
    keys = ("acc@1", "precision", "recall", "recall@5", "nil_precision", "nil_recall")
    return f"n={m['n']:>3} (NIL {m['n_nil']:>3})  " + "  ".join(f"{k} {m[k]:.3f}" for k in keys)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=Path("../shared/data"), help="shared data root")
    p.add_argument("--eval", type=Path, default=None, help="JSONL set (default: package data)")
    p.add_argument(
        "--encoder",
        choices=("static", "contextual", "none"),
        default="static",
        help="static: token vectors distilled from MiniLM (default); contextual: full MiniLM "
        "pass per mention; none: lexical signals only",
    )
    p.add_argument(
        "--cache-dir", type=Path, default=Path("var/cache"), help="static token table cache"
    )
    p.add_argument("--messages", type=int, default=300, help="3-mention messages timed per domain")
    p.add_argument("--threads", type=int, default=None, help="torch threads for the encoder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--store",
        action="store_true",
        help="load the nodes into a throw-away embedded FalkorDB: lexicon from the store and "
        "its fulltext index as a signal",
    )
    p.add_argument("--show-errors", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    examples = load_eval(args.eval)
    config = LinkerConfig()
    encoder: NameEncoder | None = None
    if args.encoder == "contextual":
        encoder = MiniLMNameEncoder(threads=args.threads)
    elif args.encoder == "static":
        start = time.perf_counter()
        static = StaticMiniLMEncoder(cache_dir=args.cache_dir, threads=args.threads)
        if not static.complete:
            static.precompute()
        encoder = static
        print(f"static token table ready in {time.perf_counter() - start:.1f}s")
    domains: dict[str, dict[str, list[Any]]] = {"demo": demo_rows()}
    if (args.data / "movielens-100k").is_dir() or (args.data / "u.data").is_file():
        domains["movielens"] = movielens_rows(args.data)
    else:
        print(f"no MovieLens files under {args.data}; movielens examples skipped", file=sys.stderr)
    with _stores(args.store, list(domains)) as stores:
        linkers: dict[str, EntityLinker] = {}
        for domain, rows in domains.items():
            start = time.perf_counter()
            store = stores.get(domain)
            if store is not None:
                lexicon = store.lexicon(load_into_store(store, rows))
            else:
                lexicon = lexicon_from_rows(**rows)
            linkers[domain] = EntityLinker(lexicon, store=store, encoder=encoder, config=config)
            print(
                f"{domain}: {len(lexicon)} surfaces"
                f"{' (from the store, fulltext on)' if store else ''}, "
                f"ready in {time.perf_counter() - start:.1f}s"
            )
        examples = [e for e in examples if e.domain in linkers]
        return _report(args, config, linkers, examples)


@contextmanager
def _stores(use_store: bool, domains: list[str]) -> Iterator[dict[str, GraphStore]]:
    """One graph per domain in a throw-away embedded FalkorDB (or none)."""
    if not use_store:
        yield {}
        return
    import tempfile

    import kg

    with tempfile.TemporaryDirectory() as tmp, kg.EmbeddedFalkorDB(tmp) as server:
        stores = {d: kg.open_store(server.uri, graph=f"linking_{d}") for d in domains}
        try:
            yield stores
        finally:
            for st in stores.values():
                st.close()


def _report(
    args: argparse.Namespace,
    config: LinkerConfig,
    linkers: dict[str, EntityLinker],
    examples: list[Example],
) -> int:

    # score everything once with no NIL cut, then apply thresholds afterwards
    open_linkers = {d: _with_threshold(lk, 0.0) for d, lk in linkers.items()}
    outcomes = [
        o for d, lk in open_linkers.items() for o in run(lk, [e for e in examples if e.domain == d])
    ]
    threshold = config.nil_threshold
    print(f"\n== quality at nil_threshold={threshold} (encoder: {args.encoder})")
    for domain in linkers:
        mine = [o for o in outcomes if o.example.domain == domain]
        print(f"{domain:>10}: {_fmt(metrics(mine, threshold))}")
    print(f"{'overall':>10}: {_fmt(metrics(outcomes, threshold))}")

    print("\n== calibration (top-1 score bin: count, accuracy)")
    for name, count, acc in calibration(outcomes):
        print(f"  {name:>10}: {count:>4}  {acc:.3f}")
    print("\n== NIL threshold (overall): acc@1, NIL precision, NIL recall")
    for t in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
        m = metrics(outcomes, t)
        print(f"  {t:.2f}: {m['acc@1']:.3f}  {m['nil_precision']:.3f}  {m['nil_recall']:.3f}")
    best, held_out = sweep(outcomes)
    print(f"\n== NIL threshold chosen on even lines: {best}; odd lines at it:\n  {_fmt(held_out)}")

    lat = latency(linkers, examples, args.messages, args.seed)
    print(f"\n== latency of a 3-mention message ({args.messages} messages per domain)")
    for name, (p50, p95, cpu50, cpu95) in lat.items():
        print(
            f"{name:>10}: wall p50 {p50:.2f} ms  p95 {p95:.2f} ms   "
            f"cpu p50 {cpu50:.2f} ms  p95 {cpu95:.2f} ms"
        )

    if args.show_errors:
        print("\n== errors")
        for o in outcomes:
            pred = o.top(threshold)
            if pred != o.example.gold:
                got = o.ranked[0] if o.ranked else None
                print(
                    f"  [{o.example.domain}] {o.example.mention!r} hint={o.example.label_hint} "
                    f"gold={o.example.gold} got={got}"
                )
    return 0


def _with_threshold(linker: EntityLinker, threshold: float) -> EntityLinker:
    return linker.with_config(replace(linker.config, nil_threshold=threshold))


if __name__ == "__main__":
    raise SystemExit(main())
