"""Import throughput into the embedded FalkorDB: generated products and triples.

    nice -n 10 .venv/bin/python -m bench.import_bench [--products 100000] [--triples 1000000]

Writes a products JSONL file (each product with a category path, a brand and two attributes)
and a triples TSV (product -> entity, 8 relation types, 1 in 5 tails a new entity id) into a
temp dir, imports both with ``kgrec graph import``'s code path (``run_import``) into a fresh
embedded FalkorDB, and prints rows/s per import (plus JSON with ``--json``). The rows/s of
the triples include creating the entities their tails name.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from kg import EmbeddedFalkorDB, open_store
from kg.importers import ImportOptions, run_import

RELATIONS = [
    "similar_to",
    "made_by",
    "stars",
    "directed_by",
    "has_theme",
    "set_in",
    "based_on",
    "awarded",
]


def write_products(path: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            row = {
                "id": f"prod:{i:07d}",
                "title": f"Product {i} {rng.choice(['red', 'blue', 'green'])} edition",
                "description": "Generated for the import benchmark. " * 3,
                "price": round(rng.uniform(1, 500), 2),
                "category": f"Dept {i % 20} > Aisle {i % 400}",
                "brand": f"Brand {rng.randrange(2000)}",
                "attributes": {
                    "color": rng.choice(["red", "blue", "green", "black"]),
                    "size": str(rng.randrange(30, 50)),
                },
            }
            f.write(json.dumps(row) + "\n")


def write_triples(path: Path, n: int, n_products: int, seed: int) -> None:
    rng = random.Random(seed)
    n_entities = max(1, n // 5)
    with path.open("w", encoding="utf-8") as f:
        for _ in range(n):
            head = f"prod:{rng.randrange(n_products):07d}"
            tail = f"ent:{rng.randrange(n_entities)}"
            f.write(f"{head}\t{rng.choice(RELATIONS)}\t{tail}\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--products", type=int, default=100_000)
    p.add_argument("--triples", type=int, default=1_000_000)
    p.add_argument("--batch-size", type=int, default=5_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    results: dict[str, object] = {"batch_size": args.batch_size}
    with tempfile.TemporaryDirectory(prefix="kgrec-import-bench-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        write_products(root / "products.jsonl", args.products, args.seed)
        write_triples(root / "triples.tsv", args.triples, args.products, args.seed)
        results["generate_s"] = round(time.perf_counter() - t, 2)
        with EmbeddedFalkorDB(root / "db", start_timeout=120) as db:
            store = open_store(db.uri, read_timeout_ms=None)
            store.init_schema()
            options = ImportOptions(batch_size=args.batch_size, state_dir=root / "state")
            for kind, file in (("products", "products.jsonl"), ("triples", "triples.tsv")):
                report = run_import(store, kind, root / file, options)
                results[kind] = {
                    "rows": report.written,
                    "bad_rows": len(report.bad_rows),
                    "seconds": round(report.seconds, 2),
                    "rows_per_s": round(report.rows_per_second),
                }
                print(f"{kind:<9} {report.written:>10,} rows {report.seconds:>8.1f} s "
                      f"{report.rows_per_second:>10,.0f} rows/s", file=sys.stderr)  # fmt: skip
            stats = store.stats()
            results["nodes"] = stats.nodes
            results["relationships"] = sum(stats.relationships.values())
            store.close()
    if args.json:
        print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
