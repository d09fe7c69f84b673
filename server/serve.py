"""``kgrec serve``: bring up graph DB, demo store, model and gRPC server in one process.

Start-up order: graph store (embedded FalkorDB child in the data dir unless ``graph_uri`` names
another) -> schema -> demo catalog on an empty graph (unless disabled) -> newest model
checkpoint, training a small one on the demo data when none exists -> intent parser, linker,
explainer -> gRPC server. Shutdown runs in reverse: server drains, then the store closes and
the graph DB child stops cleanly.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kg.embedded import GRAPH_SUBDIR
from kg.store import GraphStore
from kg.types import LexiconEntry
from models.explain import Explainer
from models.intent import IntentConfig

from .app import RunningServer
from .deadline import DeadlineGuardedStore
from .pipeline import Pipeline, PipelineConfig
from .settings import Settings

if TYPE_CHECKING:
    from kg.demo import DemoData

log = logging.getLogger(__name__)

LINKABLE_LABELS = ("Brand", "Category", "Attribute", "Entity", "Product")


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


def open_graph(
    settings: Settings,
    on_stop: list[Callable[[], None]],
    after_load: list[Callable[[], None]] | None = None,
) -> GraphStore:
    """The configured store; starts the embedded FalkorDB child when no URI is set, with a
    supervisor that restarts it if it dies (stopped before the child on shutdown).

    A Neo4j or FalkorDB server named by URI is not ours to restart: its driver reconnects
    when it comes back, and health reports NOT_SERVING until then. ``after_load`` gets what to
    call after a bulk load (the embedded child's log compaction, so a crash restart is fast).
    """
    from kg import EmbeddedFalkorDB, open_store
    from kg.embedded import EmbeddedSupervisor

    from .metrics import METRICS

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
    supervisor = EmbeddedSupervisor(
        embedded,
        backoff=settings.graph_restart_backoff_seconds,
        on_restart=METRICS.graph_restarts.inc,
    ).start()
    on_stop.append(supervisor.stop)
    if after_load is not None:
        after_load.append(embedded.compact)
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


def ensure_model(settings: Settings, demo: DemoData | None = None) -> object | None:
    """The newest checkpoint as a Scorer; trains a small one on the demo data if none exists
    (on ``demo`` when given, the demo just loaded; else generated from the settings)."""
    from models.scoring import Scorer, latest_checkpoint

    model_dir = settings.models_path
    checkpoint = latest_checkpoint(model_dir)
    if checkpoint is None:
        if not (settings.demo and settings.train_model):
            log.warning("no model checkpoint in %s: ranking by KG match and popularity", model_dir)
            return None
        checkpoint = train_demo_model(settings, model_dir, demo)
    scorer = Scorer.load(checkpoint, cache_rows=settings.embedding_cache_rows)
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


def make_reply_explainer(
    settings: Settings, intent_config: IntentConfig, lexicon: Sequence[LexiconEntry]
) -> Explainer:
    """The template explainer, or with ``explainer = "llm-rewrite"`` the template reply polished
    by the configured LLM (remote when ``llm_endpoint_url`` is set, else local) and checked."""
    from models.explain import FaithfulnessChecker, LLMRewriteExplainer, make_explainer
    from models.intent import make_parser

    if settings.explainer != "llm-rewrite":
        return make_explainer(settings.explainer)
    backend = "llm-remote" if settings.llm_endpoint_url else "llm-local"
    completer = make_parser(backend, dataclasses.replace(intent_config, backend=backend), lexicon)
    checker = FaithfulnessChecker(e.name for e in lexicon if e.label != "Attribute")
    return LLMRewriteExplainer(completer, checker)  # type: ignore[arg-type]


def build_runtime(settings: Settings) -> Runtime:
    import torch

    from kg.linking import EntityLinker, StaticMiniLMEncoder
    from models.intent import make_parser

    torch.set_num_threads(settings.torch_threads)
    on_stop: list[Callable[[], None]] = []
    after_load: list[Callable[[], None]] = []
    try:
        store = open_graph(settings, on_stop, after_load)
        on_stop.append(store.close)
        store.init_schema()
        demo = ensure_demo(store, settings) if settings.demo else None
        if demo is not None:
            for compact in after_load:
                compact()
        scorer = ensure_model(settings, demo)
        lexicon = store.lexicon(LINKABLE_LABELS)
        intent_config = IntentConfig(
            backend=settings.intent_backend,
            endpoint_url=settings.llm_endpoint_url or None,
            remote_model=settings.llm_remote_model,
            llm_model_path=settings.llm_model_path or None,
        )
        parser = make_parser(settings.intent_backend, intent_config, lexicon)
        # static MiniLM token vectors: embeddings for mentions at ~0.2 ms each
        encoder = StaticMiniLMEncoder(cache_dir=Path(settings.data_dir) / "cache")
        linker = EntityLinker(lexicon, store=store, encoder=encoder)
        parser.parse("warm up the intent model")  # first real turn should not pay for loading
        pipeline = Pipeline(
            # checks the call's deadline before each graph call, inside long steps too
            DeadlineGuardedStore(store),  # type: ignore[arg-type]
            parser,
            linker,
            make_reply_explainer(settings, intent_config, lexicon),
            scorer=scorer,  # type: ignore[arg-type]
            config=PipelineConfig(session_ttl_s=settings.session_ttl_seconds),
            lexicon=lexicon,
        )
    except BaseException:
        Runtime(store=None, pipeline=None, on_stop=on_stop).close()  # type: ignore[arg-type]
        raise
    return Runtime(store=store, pipeline=pipeline, on_stop=on_stop)


def _announce(running: RunningServer) -> None:
    target = f"localhost:{running.port}"
    print(
        f"kgrec is serving on {target} (Ctrl-C stops it). Talk to it with:\n"
        f"  .venv/bin/kgrec chat --target {target}\n"
        f'  grpcurl -plaintext -d \'{{"message": "red running shoes under 100, not Nike"}}\' '
        f"{target} kgrec.v1.RecommenderService/Recommend",
        flush=True,
    )


async def run(settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT."""
    from .app import serve_forever

    runtime = build_runtime(settings)
    await serve_forever(settings, runtime.pipeline, on_stop=[runtime.close], on_start=_announce)
