"""``kgrec serve``: bring up graph DB, demo store, model and gRPC server in one process.

Start-up order: graph store (embedded FalkorDB child in the data dir unless ``graph_uri`` names
another) -> schema -> demo catalog on an empty graph (unless disabled) -> newest model
checkpoint, training a small one on the demo data when none exists (on a restart, the
checkpoint loads first, while the graph DB loads its data) -> intent parser, linker,
explainer -> gRPC server. The text encoders load in a thread from the start, and the graph DB
child may be spawned before the heavy imports (``server/preload.py``); the parser's and the
linker's lexicon tables come from ``data_dir/cache`` when the lexicon has not changed. The
start-up runs with the cyclic GC paused, and what it loaded is frozen before the GC runs again.
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kg.store import GraphStore
from kgrec.startup_cache import paused_gc

from .app import RunningServer
from .builder import LINKABLE_LABELS, make_reply_explainer
from .deadline import DeadlineGuardedStore
from .pipeline import Pipeline
from .preload import TextModels, quiet_library_progress
from .reload import ModelReloader, load_model, scorer_options
from .settings import Settings
from .startup import announce, open_catalog, stage, train_demo_model

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
    log.info("model %s loaded from %s: %r", scorer.version, checkpoint, scorer)
    return scorer


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
    from threadpoolctl import threadpool_limits

    from models.scoring import latest_checkpoint

    from .builder import build_pipeline

    torch.set_num_threads(settings.torch_threads)
    # numpy's OpenBLAS too: its threads spin while they wait, and with the graph DB, the
    # snapshot and the text models loading beside them, the item statistics' one matrix
    # product (milliseconds alone) stalled for seconds in some warm starts
    threadpool_limits(settings.torch_threads, user_api="blas")
    text_models = TextModels(settings).start()
    on_stop: list[Callable[[], None]] = []
    try:
        # a restart's model needs no graph: it loads while the graph DB child loads its data
        restart = latest_checkpoint(settings.models_path) is not None
        if restart:
            with stage("loading the model"):
                scorer = ensure_model(settings)
        store, demo = open_catalog(settings, on_stop, graph)
        store.warm()  # the candidate filter snapshot builds in a thread meanwhile
        if not restart:
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


#: The cyclic GC's first threshold while serving (CPython's default is 700 allocations).
GC_YOUNG_THRESHOLD = 20_000


def settle_heap(young: int = GC_YOUNG_THRESHOLD) -> None:
    """Set the cyclic GC up for serving, once start-up has loaded what lives as long as the
    process.

    Everything loaded so far (models, lexicon, indexes) is moved out of the GC's reach
    (``gc.freeze``), so full collections while serving (and at exit) do not walk those few
    hundred thousand objects again. And the youngest generation is collected after
    ``young`` (:data:`GC_YOUNG_THRESHOLD`) allocations instead of 700: one turn allocates tens of
    thousands of containers (a product read alone builds a list per value), so at 700 the
    objects of a turn still running were promoted and the older generations, with the
    record caches that grow while serving, were walked again and again. Collections happen
    as before, only less often; memory held by cycles waits a little longer.
    """
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(young, older, oldest)


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

    with paused_gc():  # what start-up loads lives on: frozen, never walked (settle_heap)
        runtime = build_runtime(settings, graph=graph, worker=worker)
        settle_heap()
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
