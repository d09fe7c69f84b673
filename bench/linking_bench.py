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
import json
import logging
import random
import statistics
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import kg.linking
from kg.linking import (
    EntityLinker,
    LinkCandidate,
    LinkerConfig,
    MiniLMNameEncoder,
    NameEncoder,
    StaticMiniLMEncoder,
)
from kg.linking.lexicon_rows import lexicon_from_rows
from kg.store import GraphStore
from kg.types import LexiconEntry

logger = logging.getLogger(__name__)

DOMAINS = ("demo", "movielens")
EVAL_PATH = Path(kg.linking.__file__).resolve().parent.parent / "data" / "linking_eval.jsonl"


@dataclass(frozen=True, slots=True)
class Example:
    line: int
    mention: str
    domain: str
    label_hint: str | None
    gold: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    example: Example
    ranked: tuple[LinkCandidate, ...]  # with nil_threshold 0: every candidate

    def top(self, threshold: float) -> str | None:
        if self.ranked and self.ranked[0].score >= threshold:
            return self.ranked[0].entity_id
        return None


def load_eval(path: Path | None = None) -> list[Example]:
    text = (path or EVAL_PATH).read_text("utf-8")
    out = []
    for i, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            row = json.loads(line)
            out.append(
                Example(i, row["mention"], row["domain"], row.get("label_hint"), row["entity_id"])
            )
    return out


# -- lexicons ---------------------------------------------------------------------------------


def demo_rows(seed: int = 7) -> dict[str, list[Any]]:
    """Brands, categories and attributes of the generated demo store."""
    from kg.demo.generator import generate_demo

    data = generate_demo(seed=seed, n_products=1, n_users=0)
    return {"categories": data.categories, "brands": data.brands, "attributes": data.attributes}


def movielens_rows(data_dir: Path) -> dict[str, list[Any]]:
    """Movies (Product), genres (Category), years (Attribute), Freebase and IMDb people
    (Entity), from the MovieLens importer's own row builders, so ids agree with an imported
    graph."""
    from types import SimpleNamespace

    from kg.importers import movielens as ml
    from kg.importers._loader import Skip
    from kg.importers._movielens_files import MovieLensFiles, read_imdb

    files = MovieLensFiles.find(data_dir)
    imdb = {}
    if files.imdb is not None:
        imdb = {r[1].item_id: r[1] for r in read_imdb(files.imdb) if not isinstance(r, Skip)}
    genres = [r[1] for r in ml.read_genres(files.genre) if not isinstance(r, Skip)]
    genre_ids = [g["id"] for g in genres]
    movies = [
        r[1] for r in ml.read_items(files.item, genre_ids, imdb, {}) if not isinstance(r, Skip)
    ]
    quiet = SimpleNamespace(report=SimpleNamespace(bad=lambda *a, **k: None))
    graph = ml.build_kg(files, imdb, quiet)  # type: ignore[arg-type]
    entities = [e for _, rows in graph.entities for e in rows]
    entities += [e for item in graph.people if not isinstance(item, Skip) for e in item[1][0]]
    years = {m.year["id"]: m.year for m in movies if m.year is not None}
    return {
        "categories": [ml.ROOT_CATEGORY, *genres],
        "products": [m.product for m in movies],
        "attributes": list(years.values()),
        "entities": entities,
    }


def demo_lexicon(seed: int = 7) -> list[LexiconEntry]:
    """What ``GraphStore.lexicon()`` returns after loading the demo store."""
    return lexicon_from_rows(**demo_rows(seed))


def movielens_lexicon(data_dir: Path) -> list[LexiconEntry]:
    """What ``GraphStore.lexicon(all named labels)`` returns after a MovieLens import."""
    return lexicon_from_rows(**movielens_rows(data_dir))


_LABELS = {
    "categories": "Category",
    "brands": "Brand",
    "attributes": "Attribute",
    "products": "Product",
    "entities": "Entity",
}


def load_into_store(store: GraphStore, rows: dict[str, list[Any]]) -> list[str]:
    """Write the rows (nodes only: linking needs names, not edges); returns their labels."""
    store.init_schema()
    writers = {
        "categories": store.upsert_categories,
        "brands": store.upsert_brands,
        "attributes": store.upsert_attributes,
        "products": store.upsert_products,
        "entities": store.upsert_entities,
    }
    for kind, batch in rows.items():
        if kind == "categories":  # parents first is not required by MERGE, but be explicit
            batch = sorted(batch, key=lambda r: r.get("parent_id") is not None)
        writers[kind](batch)
    return [_LABELS[k] for k in rows]


# -- evaluation -------------------------------------------------------------------------------


def run(linker: EntityLinker, examples: Iterable[Example], k: int = 5) -> list[Outcome]:
    return [
        Outcome(ex, tuple(linker.link(ex.mention, label_hint=ex.label_hint, k=k)))
        for ex in examples
    ]


def metrics(outcomes: Sequence[Outcome], threshold: float) -> dict[str, float]:
    n = len(outcomes)
    pairs = [(o.top(threshold), o.example.gold) for o in outcomes]
    linked = [(p, g) for p, g in pairs if p is not None]
    in_kb = [(p, g) for p, g in pairs if g is not None]
    nil_pred = [g for p, g in pairs if p is None]
    nil_gold = [p for p, g in pairs if g is None]
    recall5 = [
        any(c.entity_id == o.example.gold for c in o.ranked if c.score >= threshold)
        for o in outcomes
        if o.example.gold is not None
    ]
    return {
        "n": n,
        "acc@1": _ratio(sum(p == g for p, g in pairs), n),
        "precision": _ratio(sum(p == g for p, g in linked), len(linked)),
        "recall": _ratio(sum(p == g for p, g in in_kb), len(in_kb)),
        "recall@5": _ratio(sum(recall5), len(recall5)),
        "nil_precision": _ratio(sum(g is None for g in nil_pred), len(nil_pred)),
        "nil_recall": _ratio(sum(p is None for p in nil_gold), len(nil_gold)),
        "n_nil": len(nil_gold),
    }


def _ratio(a: float, b: int) -> float:
    return a / b if b else float("nan")


def latency(
    linkers: dict[str, EntityLinker],
    examples: Sequence[Example],
    messages: int,
    seed: int,
) -> dict[str, tuple[float, float]]:
    """p50/p95 milliseconds of three ``link()`` calls, per domain and overall."""
    rng = random.Random(seed)
    times: dict[str, list[float]] = {d: [] for d in linkers}
    by_domain = {d: [e for e in examples if e.domain == d] for d in linkers}
    for _ in range(messages):
        for domain, linker in linkers.items():
            pool = by_domain[domain]
            if not pool:
                continue
            batch = [rng.choice(pool) for _ in range(3)]
            linker.clear_cache()
            start = time.perf_counter()
            for ex in batch:
                linker.link(ex.mention, label_hint=ex.label_hint)
            times[domain].append((time.perf_counter() - start) * 1000)
    out = {d: _p50_p95(t) for d, t in times.items() if t}
    out["overall"] = _p50_p95([x for t in times.values() for x in t])
    return out


def _p50_p95(xs: list[float]) -> tuple[float, float]:
    xs = sorted(xs)
    return statistics.median(xs), xs[min(len(xs) - 1, int(0.95 * len(xs)))]


def calibration(outcomes: Sequence[Outcome]) -> list[tuple[str, int, float]]:
    """(score bin, count, accuracy of the top-1 candidate) over outcomes with a candidate."""
    bins = [(0.0, 0.4), (0.4, 0.5), (0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.01)]
    rows = []
    for lo, hi in bins:
        sel = [o for o in outcomes if o.ranked and lo <= o.ranked[0].score < hi]
        acc = _ratio(sum(o.ranked[0].entity_id == o.example.gold for o in sel), len(sel))
        rows.append((f"[{lo:.1f},{min(hi, 1.0):.1f})", len(sel), acc))
    return rows


def sweep(outcomes: Sequence[Outcome]) -> tuple[float, dict[str, float]]:
    """The threshold with the best accuracy@1 on even lines, and the odd lines' metrics at it."""
    even = [o for o in outcomes if o.example.line % 2 == 0]
    odd = [o for o in outcomes if o.example.line % 2 == 1]
    grid = [round(0.30 + 0.02 * i, 2) for i in range(31)]
    best = max(grid, key=lambda t: (metrics(even, t)["acc@1"], -abs(t - 0.5)))
    return best, metrics(odd, best)


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
    best, held_out = sweep(outcomes)
    print(f"\n== NIL threshold chosen on even lines: {best}; odd lines at it:\n  {_fmt(held_out)}")

    lat = latency(linkers, examples, args.messages, args.seed)
    print(f"\n== latency of a 3-mention message ({args.messages} messages per domain)")
    for name, (p50, p95) in lat.items():
        print(f"{name:>10}: p50 {p50:.2f} ms  p95 {p95:.2f} ms")

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
