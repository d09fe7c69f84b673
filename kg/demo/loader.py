"""Load the demo store into a :class:`~kg.store.GraphStore`: :func:`load_demo`.

Order follows the graph's dependencies: schema, categories (roots first), brands, attributes,
products (which link to all three), users, then interactions (users -> products). Each kind
goes in batches through the store's idempotent ``upsert_*`` / ``add_interactions`` methods,
so loading twice leaves the graph as loading once. ``<data_dir>/demo.json`` is written last:
its presence says a complete load with those parameters finished.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tqdm import tqdm

from kg.store import DEFAULT_BATCH, GraphStore

from .demo_data import DemoData
from .generator import generate_demo

log = logging.getLogger(__name__)

MANIFEST = "demo.json"
#: Bump when the generator's output for a given seed changes.
GENERATOR_VERSION = 1


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What :func:`load_demo` did: rows sent per kind, rows the store reported, timings (s).

    ``data`` is the generated demo itself, so a caller that also trains on it (``kgrec serve``
    on a first start) need not generate it again; it is left out of the manifest and repr.
    """

    seed: int
    n_products: int
    n_users: int
    counts: dict[str, int]  # rows generated and sent, by kind
    written: dict[str, int]  # what the store's methods returned, by kind
    images: int
    generate_s: float
    images_s: float
    load_s: float
    total_s: float
    data: DemoData | None = field(default=None, repr=False, compare=False)


def demo_manifest(data_dir: Path) -> dict[str, Any] | None:
    """The manifest of the demo loaded with this data dir, or ``None`` if none finished."""
    path = Path(data_dir) / MANIFEST
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        log.warning("ignoring unreadable demo manifest %s: %s", path, e)
        return None


def demo_loaded(
    data_dir: Path, *, seed: int = 7, n_products: int = 6000, n_users: int = 2500
) -> bool:
    """Whether a complete load of exactly this demo (and generator version) is recorded."""
    m = demo_manifest(data_dir)
    return m is not None and (
        m.get("generator_version"),
        m.get("seed"),
        m.get("n_products"),
        m.get("n_users"),
    ) == (GENERATOR_VERSION, seed, n_products, n_users)


def _write_manifest(data_dir: Path, summary: DemoSummary) -> None:
    recorded = {f.name: getattr(summary, f.name) for f in fields(summary) if f.name != "data"}
    payload = {"generator_version": GENERATOR_VERSION, **recorded}
    path = Path(data_dir) / MANIFEST
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def load_demo(
    store: GraphStore,
    data_dir: Path,
    *,
    seed: int = 7,
    n_products: int = 6000,
    n_users: int = 2500,
    progress: bool = True,
    batch_size: int = DEFAULT_BATCH,
) -> DemoSummary:
    """Generate the demo, write its images under ``data_dir`` and load it into ``store``.

    Args:
        store: an open graph store; ``init_schema`` is called first.
        data_dir: where ``images/`` and ``demo.json`` go (created if missing).
        seed, n_products, n_users: passed to :func:`~kg.demo.generate_demo`.
        progress: show a tqdm bar (only when stderr is a terminal).
        batch_size: rows per store call.
    """
    started = time.perf_counter()
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    data = generate_demo(seed=seed, n_products=n_products, n_users=n_users)
    generated = time.perf_counter()
    n_images = data.render_images(data_dir)
    rendered = time.perf_counter()
    log.info("demo images: %d written in %.2fs", n_images, rendered - generated)

    store.init_schema()
    stages: list[tuple[str, Callable[..., int], Sequence[Any]]] = [
        ("categories", store.upsert_categories, data.categories),
        ("brands", store.upsert_brands, data.brands),
        ("attributes", store.upsert_attributes, data.attributes),
        ("products", store.upsert_products, data.products),
        ("users", store.upsert_users, data.users),
        ("interactions", store.add_interactions, data.interactions),
    ]
    counts: dict[str, int] = {}
    written: dict[str, int] = {}
    show = progress and sys.stderr.isatty()
    total = sum(len(rows) for _, _, rows in stages)
    with tqdm(total=total, desc="demo", unit="row", disable=not show) as bar:
        for name, method, rows in stages:
            bar.set_postfix_str(name)
            written[name] = 0
            for start in range(0, len(rows), batch_size):
                batch = list(rows[start : start + batch_size])
                written[name] += int(method(batch, batch_size=batch_size))
                bar.update(len(batch))
            counts[name] = len(rows)
    loaded = time.perf_counter()

    summary = DemoSummary(
        seed=seed,
        n_products=n_products,
        n_users=n_users,
        counts=counts,
        written=written,
        images=n_images,
        generate_s=round(generated - started, 3),
        images_s=round(rendered - generated, 3),
        load_s=round(loaded - rendered, 3),
        total_s=round(loaded - started, 3),
        data=data,
    )
    _write_manifest(data_dir, summary)
    log.info("demo loaded: %s in %.2fs", counts, summary.total_s)
    return summary


__all__ = [
    "GENERATOR_VERSION",
    "MANIFEST",
    "DemoSummary",
    "demo_loaded",
    "demo_manifest",
    "load_demo",
]
