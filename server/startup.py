"""The start-up steps ``kgrec serve`` runs once, whatever its process count: the graph store,
the demo catalog on an empty graph, a small model trained when none exists, each logged as a
stage (``server/serve.py``'s docstring has the order); and the line that announces the server
once it listens.

Kept free of torch and the pipeline at import (training imports them when it runs), so the
parent of ``kgrec serve --workers N`` (``server/workers.py``), which runs these steps and then
only supervises, does not hold a model's worth of memory next to its workers.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kg.store import GraphStore
from kgrec.startup_cache import running_gc

from .preload import embedded_graph
from .settings import Settings

if TYPE_CHECKING:
    from kg import EmbeddedFalkorDB
    from kg.demo import DemoData

log = logging.getLogger("server.serve")  # the start-up's log lines, as before the move

__all__ = ["announce", "ensure_demo", "open_graph", "stage", "train_demo_model"]


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
    from kg import open_store
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
        embedded = embedded_graph(settings)
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


def open_catalog(
    settings: Settings, on_stop: list[Callable[[], None]], embedded: EmbeddedFalkorDB | None
) -> tuple[GraphStore, DemoData | None]:
    """The graph opened (:func:`open_graph`; its close appended to ``on_stop``) with its
    schema, and the demo catalog loaded into it when it is empty (:func:`ensure_demo`), the
    load then snapshotted: the start-up ``kgrec serve`` and its worker parent share."""
    on_loaded: list[Callable[[], None]] = []
    with stage("opening the graph DB"):
        store = open_graph(settings, on_stop, on_loaded, embedded)
        on_stop.append(store.close)
        store.init_schema()
    demo = ensure_demo(store, settings) if settings.demo else None
    if demo is not None and on_loaded:
        with stage("saving a snapshot of the demo graph"):
            for after_load in on_loaded:
                after_load()
    return store, demo


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


def train_demo_model(settings: Settings, model_dir: Path, demo: DemoData | None = None) -> Path:
    """Train a small model on ``demo``, generating it from the settings when not given (a
    restart whose graph is loaded but that has no checkpoint yet)."""
    from kg.demo import generate_demo
    from models.config import TrainConfig
    from models.data import RecDataset
    from models.training import train

    from .preload import static_encoder

    started = time.perf_counter()
    static_encoder(settings)  # the items' text vectors from the table the server then reads
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
        with running_gc():  # start-up pauses the GC; training makes garbage as it goes
            checkpoint = train(dataset, config, model_dir, progress=_bars_shown())
        notes.append(f"saved {checkpoint}")
    log.debug("train_demo_model took %.1f s", time.perf_counter() - started)
    return checkpoint


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
