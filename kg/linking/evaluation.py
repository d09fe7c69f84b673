"""The labelled linking set (``kg/data/linking_eval.jsonl``) and how linkers are scored on it.

Each line: ``mention``, ``domain`` (``demo`` | ``movielens``), ``label_hint`` (or null) and the
gold ``entity_id`` (null: NIL, the mention is not in the graph). Lexicons for both domains are
built from the same rows the demo generator and the MovieLens importer write, so ids agree
with a loaded graph. ``bench/linking_bench.py`` prints the numbers; the tests keep a floor.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg.store import GraphStore
from kg.types import LexiconEntry

from .entity_linker import EntityLinker
from .lexicon_rows import lexicon_from_rows
from .link_candidate import LinkCandidate

DOMAINS = ("demo", "movielens")
EVAL_PATH = Path(__file__).resolve().parent.parent / "data" / "linking_eval.jsonl"


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

    from kg.importers import _movielens_rows as ml
    from kg.importers._loader import Skip
    from kg.importers._movielens_files import MovieLensFiles, read_imdb
    from kg.importers._movielens_kg import build_kg

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
    graph = build_kg(files, imdb, quiet)  # type: ignore[arg-type]
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
    writers: dict[str, Callable[[list[Any]], int]] = {
        "categories": store.upsert_categories,
        "brands": store.upsert_brands,
        "attributes": store.upsert_attributes,
        "products": store.upsert_products,
        "entities": store.upsert_entities,
    }
    for kind, batch in rows.items():
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


__all__ = [
    "DOMAINS",
    "EVAL_PATH",
    "Example",
    "Outcome",
    "calibration",
    "demo_lexicon",
    "demo_rows",
    "load_eval",
    "load_into_store",
    "metrics",
    "movielens_lexicon",
    "movielens_rows",
    "run",
    "sweep",
]
