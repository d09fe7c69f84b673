"""Start-up work that overlaps: the graph DB loads and the text models load while Python imports.

A warm restart of ``kgrec serve`` (graph loaded, model trained) spends its time in three
independent waits: the embedded graph DB reading its snapshot (a child process), importing
torch and building the pipeline (this process), and loading the intent parser's MiniLM and
the static token table the linker and the scorer share (:func:`static_encoder`; computed
once per data dir, then memory-mapped). Run one after the other they added
up; here the graph DB child is spawned before the heavy imports (:func:`spawn_embedded_graph`,
from the main thread so the child still dies with us) and the encoders load in a thread
(:class:`TextModels`) while the main thread opens the graph and loads the checkpoint.

Nothing answers a call before all of it is done: the server starts listening only after
:func:`server.serve.build_runtime` returns, so health is SERVING only when a Recommend is
answered without waiting on a load.

Kept light (no torch, no transformers) so the CLI can import it before the heavy imports.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from kg.embedded import GRAPH_SUBDIR, EmbeddedFalkorDB

from .settings import Settings

if TYPE_CHECKING:
    from kg.linking import StaticMiniLMEncoder

log = logging.getLogger(__name__)

__all__ = [
    "TextModels",
    "embedded_graph",
    "quiet_library_progress",
    "spawn_embedded_graph",
    "static_encoder",
]

#: intent backends whose parser embeds messages with the packaged MiniLM
_MINILM_PARSERS = frozenset({"embedded", "hybrid"})


def quiet_library_progress() -> None:
    """No progress bars from Hugging Face libraries: loading a 103-tensor encoder printed a
    "Loading weights" bar three times per start, in the middle of the log lines."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    with contextlib.suppress(ImportError):
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()


def spawn_embedded_graph(settings: Settings) -> EmbeddedFalkorDB | None:
    """The embedded graph DB child, spawned now and not waited for (``None`` when
    ``graph_uri`` names another store); :func:`server.startup.open_graph` waits for it."""
    if settings.graph_uri:
        return None
    return embedded_graph(settings).spawn()


def embedded_graph(settings: Settings) -> EmbeddedFalkorDB:
    """The embedded graph DB of ``settings.data_dir`` (not started)."""
    return EmbeddedFalkorDB(Path(settings.data_dir) / GRAPH_SUBDIR, fsync=settings.graph_fsync)


_TABLE_LOCK = threading.Lock()


def static_encoder(settings: Settings) -> StaticMiniLMEncoder:
    """The process's static MiniLM encoder (the linker's and the scorer's,
    :meth:`~kg.linking.StaticMiniLMEncoder.shared`) with ``data_dir/cache``'s token table;
    with ``token_table`` on and none saved there yet, the table is computed now and saved
    (once per data dir). Otherwise the MiniLM is loaded now for the tokens still to come."""
    from kg.linking import StaticMiniLMEncoder
    from kgrec.startup_cache import file_lock

    cache_dir = Path(settings.data_dir) / "cache"
    # the preload thread and the demo training may both ask at a first start, and the
    # workers of `kgrec serve --workers N` all start at once: one computes, the rest read it
    with _TABLE_LOCK, file_lock(cache_dir / ".static-token-table.lock"):
        encoder = StaticMiniLMEncoder.shared(cache_dir=cache_dir)
        if settings.token_table and not encoder.complete:
            log.info("computing the static MiniLM token table (once for this data dir) ...")
            started = time.perf_counter()
            encoder.precompute()
            log.info("static MiniLM token table: done in %.1f s", time.perf_counter() - started)
    encoder.warm()
    return encoder


class TextModels:
    """Loads, in a background thread, the intent parser's encoder (a contextual head's MiniLM
    into the process-wide encoder cache the parser reads; a static head's is the table below)
    and the static MiniLM encoder (:func:`static_encoder`).

    :meth:`name_encoder` waits for the thread and returns the linker's encoder, or raises what
    loading it raised. The intent parser needs no hand-over: its first parse finds the encoder
    loaded, or waits on the load in progress; if the preload failed, the parse loads it again
    and raises the real error there.
    """

    def __init__(self, settings: Settings) -> None:
        from .builder import intent_config  # light: no torch until the thread runs

        self._config, self._settings = intent_config(settings), settings
        self._encoder: StaticMiniLMEncoder | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._load, name="kgrec-preload", daemon=True)

    def start(self) -> TextModels:
        self._thread.start()
        return self

    def _load(self) -> None:
        try:
            quiet_library_progress()
            if self._config.backend in _MINILM_PARSERS:
                from models.intent.embedded import EmbeddedIntentParser

                EmbeddedIntentParser.preload(self._config)
        except Exception:  # noqa: BLE001 - the parser loads it again and raises it there
            log.warning("preloading the intent encoder failed", exc_info=True)
        try:
            self._encoder = static_encoder(self._settings)
        except BaseException as e:  # noqa: BLE001 - handed to the caller of name_encoder()
            self._error = e

    def name_encoder(self) -> StaticMiniLMEncoder:
        """The linker's encoder, once loaded (raises what loading it raised)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._encoder is not None
        return self._encoder
