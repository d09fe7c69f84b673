"""``kgrec serve``: bring up graph DB, demo store, model and gRPC server in one process.

Start-up order: graph store (embedded FalkorDB child in the data dir unless ``graph_uri`` names
another) -> schema -> demo catalog on an empty graph (unless disabled) -> newest model
checkpoint, training a small one on the demo data when none exists -> intent parser, linker,
explainer -> gRPC server. Shutdown runs in reverse: server drains, then the store closes and
the graph DB child stops cleanly.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kg.embedded import GRAPH_SUBDIR
from kg.store import GraphStore

from .app import RunningServer
from .builder import LINKABLE_LABELS, make_reply_explainer
from .pipeline import Pipeline
from .settings import Settings

if TYPE_CHECKING:
    from kg.demo import DemoData
    from models.scoring import ItemScorer

log = logging.getLogger(__name__)

__all__ = ["LINKABLE_LABELS", "Runtime", "build_runtime", "make_reply_explainer", "run"]


@dataclass
class Runtime:
    """What ``build_runtime`` started; ``close()`` stops it in reverse order."""

    store: GraphStore
    pipeline: Pipeline
    on_stop: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        while self.on_stop:
            stop = self.on_stop.pop()
            try:
                stop()
            except Exception:  # noqa: BLE001 - keep stopping the rest
                log.exception("error during shutdown")


def open_graph(settings: Settings, on_stop: list[Callable[[], None]]) -> GraphStore:
    """The configured store; starts the embedded FalkorDB child when no URI is set."""
    from kg import EmbeddedFalkorDB, open_store

    if settings.graph_uri:
        scheme = settings.graph_uri.split("://", 1)[0].lower()
        if scheme.startswith(("neo4j", "bolt")):
            return open_store(
                settings.graph_uri,
                graph=settings.graph_name,
                user=settings.neo4j_user,
                password=settings.neo4j_password,
            )
        return open_store(settings.graph_uri, graph=settings.graph_name)
    embedded = EmbeddedFalkorDB(Path(settings.data_dir) / GRAPH_SUBDIR)
    embedded.start()
    on_stop.append(embedded.stop)
    return open_store(embedded.uri, graph=settings.graph_name)


def ensure_demo(store: GraphStore, settings: Settings) -> DemoData | None:
    """Load the demo catalog into an empty graph (skipped when any product exists).

    Returns the generated demo when it loaded one (for :func:`ensure_model` to train on without
    generating it a second time), else ``None``.
    """
    from kg.demo import load_demo

    if store.stats().nodes.get("Product", 0) > 0:
        return None
    log.info("empty graph: loading the demo store (%d products)", settings.demo_products)
    summary = load_demo(
        store,
        Path(settings.data_dir),
        seed=settings.seed,
        n_products=settings.demo_products,
        n_users=settings.demo_users,
        progress=True,
    )
    log.info("demo store loaded: %s", summary)
    return summary.data


def ensure_model(settings: Settings, demo: DemoData | None = None) -> ItemScorer | None:
    """The newest model in the model dir, of whatever kind it is (a GNN checkpoint, a
    conversational scorer); trains a small GNN on the demo data if none exists (on ``demo``
    when given, the demo just loaded; else generated from the settings)."""
    from models.scoring import latest_checkpoint, load_scorer

    model_dir = settings.models_path
    checkpoint = latest_checkpoint(model_dir)
    if checkpoint is None:
        if not (settings.demo and settings.train_model):
            log.warning("no model checkpoint in %s: ranking by KG match and popularity", model_dir)
            return None
        checkpoint = train_demo_model(settings, model_dir, demo)
    scorer = load_scorer(checkpoint)
    log.info("model %s loaded from %s", scorer.version, checkpoint)
    return scorer


def train_demo_model(settings: Settings, model_dir: Path, demo: DemoData | None = None) -> Path:
    """Train a small model on ``demo``, generating it from the settings when not given (a
    restart whose graph is loaded but that has no checkpoint yet)."""
    from kg.demo import generate_demo
    from models.config import TrainConfig
    from models.data import RecDataset
    from models.training import train

    started = time.perf_counter()
    if demo is None:
        demo = generate_demo(
            seed=settings.seed, n_products=settings.demo_products, n_users=settings.demo_users
        )
    dataset = RecDataset.from_rows(
        demo.products,
        demo.interactions,
        [],  # brand / category / attribute edges come from the product rows themselves
        image_root=Path(settings.data_dir),
    )
    checkpoint = train(dataset, TrainConfig.small(), model_dir, progress=True)
    log.info("trained a small model in %.1f s: %s", time.perf_counter() - started, checkpoint)
    return checkpoint


def build_runtime(settings: Settings) -> Runtime:
    import torch

    from .builder import build_pipeline

    torch.set_num_threads(settings.torch_threads)
    on_stop: list[Callable[[], None]] = []
    try:
        store = open_graph(settings, on_stop)
        on_stop.append(store.close)
        store.init_schema()
        demo = ensure_demo(store, settings) if settings.demo else None
        scorer = ensure_model(settings, demo)
        pipeline = build_pipeline(settings, store, scorer)
    except BaseException:
        Runtime(store=None, pipeline=None, on_stop=on_stop).close()  # type: ignore[arg-type]
        raise
    return Runtime(store=store, pipeline=pipeline, on_stop=on_stop)


def _announce(settings: Settings, running: RunningServer) -> None:
    target = f"localhost:{running.port}"
    # with keys / TLS on, the examples pass them (the key from $KGREC_API_KEY, never printed)
    chat_opts = " --tls-ca CA.pem" if settings.tls_cert else ""
    grpcurl_opts = "-cacert CA.pem" if settings.tls_cert else "-plaintext"
    if settings.api_keys:
        grpcurl_opts += ' -H "authorization: Bearer $KGREC_API_KEY"'
    print(
        f"kgrec is serving on {target} (Ctrl-C stops it). Talk to it with:\n"
        f"  .venv/bin/kgrec chat --target {target}{chat_opts}\n"
        f"  grpcurl {grpcurl_opts} "
        f'-d \'{{"message": "red running shoes under 100, not Nike"}}\' '
        f"{target} kgrec.v1.RecommenderService/Recommend",
        flush=True,
    )


async def run(settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT."""
    from .app import serve_forever

    runtime = build_runtime(settings)
    await serve_forever(
        settings,
        runtime.pipeline,
        on_stop=[runtime.close],
        on_start=functools.partial(_announce, settings),
    )
