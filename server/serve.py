"""``kgrec serve``: bring up graph DB, demo store, model and gRPC server in one process.

Start-up order: graph store (embedded FalkorDB child in the data dir unless ``graph_uri`` names
another) -> schema -> demo catalog on an empty graph (unless disabled) -> newest model
checkpoint, training a small one on the demo data when none exists -> intent parser, linker,
explainer -> gRPC server. The text encoders load in a thread from the start, and the graph DB
child may be spawned before the heavy imports (``server/preload.py``); the parser's and the
linker's lexicon tables come from ``data_dir/cache`` when the lexicon has not changed.
``SIGHUP`` (or the admin RPC ``ReloadModel``) swaps in the newest checkpoint of the model dir
while serving (``server/reload.py``). Shutdown runs in reverse:
server drains, then the store closes and the graph DB child stops cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kg.embedded import GRAPH_SUBDIR
from kg.store import GraphStore

from .app import RunningServer
from .builder import LINKABLE_LABELS, make_reply_explainer
from .deadline import DeadlineGuardedStore
from .pipeline import Pipeline
from .preload import TextModels, quiet_library_progress
from .reload import ModelReloader, load_model, scorer_options
from .settings import Settings

if TYPE_CHECKING:
    from kg import EmbeddedFalkorDB
    from kg.demo import DemoData
    from models.scoring import ItemScorer

    from .worker_slot import WorkerSlot

log = logging.getLogger(__name__)

__all__ = [
    "LINKABLE_LABELS",
    "Runtime",
    "announce",
    "build_runtime",
    "make_reply_explainer",
    "quiet_library_progress",
    "reload_on_sighup",
    "run",
]


def _bars_shown() -> bool:
    """Progress bars only on a terminal: in a log file they are a mess of carriage returns."""
    return sys.stderr.isatty()


class _AboveBars:
    """A log handler's stream that prints above the tqdm bars instead of through them."""

    def __init__(self, stream: object) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        from tqdm import tqdm

        tqdm.write(text, file=self.stream, end="")  # type: ignore[arg-type]

    def flush(self) -> None:
        self.stream.flush()  # type: ignore[attr-defined]


@contextlib.contextmanager
def stage(what: str, *, quiet: Sequence[str] = ()) -> Iterator[list[str]]:
    """A start-up stage: one log line as it begins, one with its time as it ends (plus any
    note the body appends to the yielded list).

    On a terminal the stage's own bar (demo rows, training epochs) is the one progress display:
    the ``quiet`` loggers' INFO lines, which repeat what the bar shows, are held back, and other
    log lines print above the bar. Elsewhere (a log file) every line is logged as usual.
    """
    log.info("%s ...", what)
    started = time.perf_counter()
    notes: list[str] = []
    with contextlib.ExitStack() as undo:
        if _bars_shown():
            for handler in logging.getLogger().handlers:
                if isinstance(handler, logging.StreamHandler) and handler.stream in (
                    sys.stderr,
                    sys.stdout,
                ):
                    old = handler.setStream(_AboveBars(handler.stream))  # type: ignore[arg-type]
                    undo.callback(handler.setStream, old)
            for name in quiet:
                logger = logging.getLogger(name)
                undo.callback(logger.setLevel, logger.level)
                logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
        yield notes
    took = time.perf_counter() - started
    log.info("%s: done in %.1f s%s", what, took, "".join(f"; {n}" for n in notes))


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
    on_loaded: list[Callable[[], None]] | None = None,
    embedded: EmbeddedFalkorDB | None = None,
) -> GraphStore:
    """The configured store; starts the embedded FalkorDB child when no URI is set (or waits
    for ``embedded``, the child :func:`server.preload.spawn_embedded_graph` spawned early),
    with a supervisor that restarts it if it dies (stopped before the child on shutdown).

    A Neo4j or FalkorDB server named by URI is not ours to restart: its driver reconnects
    when it comes back, and health reports NOT_SERVING until then. Appends to ``on_stop`` what
    stops the child, and to ``on_loaded`` what to call after a bulk load (the child's log
    compaction, so neither a crash restart nor the first Ctrl-C replays the load)."""
    from kg import EmbeddedFalkorDB, open_store
    from kg.embedded_supervisor import EmbeddedSupervisor

    from .metrics import METRICS

    on_loaded = [] if on_loaded is None else on_loaded

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
    if embedded is None:
        embedded = EmbeddedFalkorDB(Path(settings.data_dir) / GRAPH_SUBDIR)
    on_stop.append(embedded.stop)  # also when it fails to come up: a spawned child stops
    embedded.start()
    supervisor = EmbeddedSupervisor(
        embedded,
        backoff=settings.graph_restart_backoff_seconds,
        on_restart=METRICS.graph_restarts.inc,
    ).start()
    on_stop.append(supervisor.stop)
    on_loaded.append(embedded.compact)  # snapshot the load now, not at the first Ctrl-C
    return open_store(embedded.uri, graph=settings.graph_name)


def ensure_demo(store: GraphStore, settings: Settings) -> DemoData | None:
    """Load the demo catalog into an empty graph (skipped when any product exists).

    Returns the generated demo when it loaded one (for :func:`ensure_model` to train on without
    generating it a second time), else ``None``.
    """
    from kg.demo import load_demo

    if store.has_products():
        return None
    what = (
        f"empty graph: generating and loading the demo store ({settings.demo_products} "
        f"products, {settings.demo_users} users)"
    )
    with stage(what, quiet=("kg.demo",)) as notes:
        summary = load_demo(
            store,
            Path(settings.data_dir),
            seed=settings.seed,
            n_products=settings.demo_products,
            n_users=settings.demo_users,
            progress=True,
        )
        notes.append(", ".join(f"{n} {kind}" for kind, n in summary.counts.items()))
    return summary.data


def ensure_model(settings: Settings, demo: DemoData | None = None) -> ItemScorer | None:
    """The newest model in the model dir, of whatever kind it is (a GNN checkpoint, a
    conversational scorer); trains a small GNN on the demo data if none exists (on ``demo``
    when given, the demo just loaded; else generated from the settings)."""
    from models.scoring import latest_checkpoint

    model_dir = settings.models_path
    checkpoint = latest_checkpoint(model_dir)
    if checkpoint is None:
        if not (settings.demo and settings.train_model):
            log.warning("no model checkpoint in %s: ranking by KG match and popularity", model_dir)
            return None
        checkpoint = train_demo_model(settings, model_dir, demo)
    scorer = load_model(checkpoint, scorer_options(settings))
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
    config = TrainConfig.small()
    budget = f", at most ~{config.max_seconds:.0f} s of epochs" if config.max_seconds else ""
    what = f"no model yet: training a small one on the demo store (once{budget})"
    with stage(what, quiet=("models",)) as notes:
        dataset = RecDataset.from_rows(
            demo.products,
            demo.interactions,
            [],  # brand / category / attribute edges come from the product rows themselves
            image_root=Path(settings.data_dir),
        )
        checkpoint = train(dataset, config, model_dir, progress=_bars_shown())
        notes.append(f"saved {checkpoint}")
    log.debug("train_demo_model took %.1f s", time.perf_counter() - started)
    return checkpoint


def build_runtime(
    settings: Settings,
    *,
    graph: EmbeddedFalkorDB | None = None,
    worker: WorkerSlot | None = None,
) -> Runtime:
    """Everything ``kgrec serve`` serves with, in the order of the module docstring; ``graph``
    is the embedded graph DB child when the caller spawned it early; ``worker``: this
    process's place among several (``server/workers.py``). The text encoders load in a thread
    meanwhile (:class:`~server.preload.TextModels`)."""
    import torch

    from .builder import build_pipeline

    torch.set_num_threads(settings.torch_threads)
    text_models = TextModels(settings).start()
    on_stop: list[Callable[[], None]] = []
    try:
        on_loaded: list[Callable[[], None]] = []
        with stage("opening the graph DB"):
            store = open_graph(settings, on_stop, on_loaded, graph)
            on_stop.append(store.close)
            store.init_schema()
        demo = ensure_demo(store, settings) if settings.demo else None
        if demo is not None and on_loaded:
            with stage("saving a snapshot of the demo graph"):
                for after_load in on_loaded:
                    after_load()
        with stage("loading the model"):
            scorer = ensure_model(settings, demo)
        with stage("waiting for the text encoders (loading in the background)"):
            name_encoder = text_models.name_encoder()
        with stage("building the intent parser and the entity linker"):
            # the pipeline's graph calls check the call's deadline, inside long steps too
            pipeline = build_pipeline(
                settings,
                DeadlineGuardedStore(store),  # type: ignore[arg-type]
                scorer,
                name_encoder=name_encoder,
                worker=worker,
            )
            on_stop.append(pipeline.close)  # bandit state and impression log, before the graph
    except BaseException:
        Runtime(store=None, pipeline=None, on_stop=on_stop).close()  # type: ignore[arg-type]
        raise
    return Runtime(store=store, pipeline=pipeline, on_stop=on_stop)


def _announce(settings: Settings, running: RunningServer) -> None:
    announce(settings, running.port)


def announce(settings: Settings, port: int) -> None:
    """The line that says the server is up on ``port`` (once, whatever the worker count;
    :data:`server.serve_process.ANNOUNCE` finds it) and how to talk to it."""
    target = f"localhost:{port}"
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


@contextlib.contextmanager
def reload_on_sighup(reloader: ModelReloader) -> Iterator[None]:
    """While the block runs, ``SIGHUP`` reloads the newest model (``reloader.reload``) in the
    background; a failed load is logged and the old model keeps serving. A no-op where the
    platform has no SIGHUP."""
    sighup = getattr(signal, "SIGHUP", None)
    if sighup is None:
        yield
        return
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    def on_sighup() -> None:
        log.info("SIGHUP: reloading the newest model from %s", reloader.model_dir)
        task = loop.create_task(reloader.reload_logged(), name="kgrec-reload")
        tasks.add(task)  # held until done (the loop keeps only weak references)
        task.add_done_callback(tasks.discard)

    loop.add_signal_handler(sighup, on_sighup)
    try:
        yield
    finally:
        loop.remove_signal_handler(sighup)


async def run(
    settings: Settings,
    *,
    graph: EmbeddedFalkorDB | None = None,
    worker: WorkerSlot | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT; SIGHUP swaps in the newest model of the model dir.
    ``graph``: the embedded graph DB child, when the caller spawned it early. As a
    ``worker`` of several, it tells the parent when it listens instead of announcing."""
    from .app import serve_forever

    runtime = build_runtime(settings, graph=graph, worker=worker)
    # Everything loaded so far (models, lexicon, caches) lives as long as the process: move it
    # out of the cyclic GC's reach, so full collections while serving (and at exit) do not
    # walk those few hundred thousand objects again (~1 s each on a busy machine).
    gc.freeze()
    reloader = ModelReloader(runtime.pipeline, settings.models_path, scorer_options(settings))
    with reload_on_sighup(reloader):
        await serve_forever(
            settings,
            runtime.pipeline,
            on_stop=[runtime.close],
            on_start=(
                functools.partial(_announce, settings)
                if worker is None
                else lambda _: worker.tell_parent("ready")
            ),
            worker=worker,
        )
