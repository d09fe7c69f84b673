"""What a conversational benchmark run stands on: the datasets, the fold split, the graph and
the pipeline.

:class:`BenchData` is one dataset (ReDial-dev or INSPIRED-dev: its corpus and how the graph is
loaded with it), :func:`folds` splits its dialogues, :func:`graph` imports it into a fresh
embedded FalkorDB and :func:`make_pipeline` builds the server's pipeline over that graph.
Shared by :mod:`bench.crs_bench`, :mod:`bench.crs_tune` and :mod:`bench.crs_links`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kg.importers import Checkpoint, ImportContext, ImportOptions, ImportReport
from kg.store import GraphStore
from models.crs import CrsDialogue
from models.crs.conversation_corpus import ConversationCorpus, mention_prior, read_corpus
from server.replay import MAX_MESSAGE_CHARS

log = logging.getLogger(__name__)


@dataclass
class BenchData:
    """One dataset: its corpus (catalog, KG neighbourhoods, dialogues, prior) and how the
    server's graph is loaded with it."""

    corpus: ConversationCorpus
    importer: Any  # callable(ctx, path)
    import_path: Path

    @property
    def name(self) -> str:
        return self.corpus.name

    @property
    def item_ids(self) -> list[str]:
        return self.corpus.item_ids

    @property
    def titles(self) -> list[str]:
        return self.corpus.titles

    @property
    def dialogues(self) -> list[CrsDialogue]:
        return self.corpus.dialogues


def redial_data(root: Path) -> BenchData:
    from kg.importers.redial import MOVIES_FILE, import_redial

    folder = root / "redial-dev"
    corpus = read_corpus(folder, "redial")
    # ReDial-wide mention counts with every evaluated dialogue's mentions taken out
    corpus.prior = mention_prior(folder / MOVIES_FILE, corpus.dialogues)
    return BenchData(corpus, import_redial, folder)


def inspired_data(root: Path) -> BenchData:
    from kg.importers.inspired import DIALOG_FILE, import_inspired

    path = root / "inspired-dev" / DIALOG_FILE
    return BenchData(read_corpus(path, "inspired"), import_inspired, path)


DATASETS = {"redial": redial_data, "inspired": inspired_data}


def folds(n: int, k: int, seed: int | None = None) -> list[int]:
    """Fold of each dialogue position: ``n % k``; with a ``seed``, the position's place in a
    random permutation ``% k`` (another split of the same sizes, to see whether a difference
    between two settings holds beyond one split)."""
    if seed is None:
        return [i % k for i in range(n)]
    out = [0] * n
    for place, i in enumerate(np.random.default_rng(seed).permutation(n)):
        out[int(i)] = place % k
    return out


@contextmanager
def graph(data: BenchData, workdir: Path) -> Iterator[GraphStore]:
    """A fresh embedded FalkorDB in ``workdir`` with ``data`` imported."""
    from kg import EmbeddedFalkorDB, open_store

    embedded = EmbeddedFalkorDB(workdir / "graph")
    embedded.start()
    try:
        store = open_store(embedded.uri, graph="crs_bench")
        try:
            store.init_schema()
            started = time.perf_counter()
            ctx: ImportContext[Any] = ImportContext(
                store, ImportOptions(), ImportReport(data.name), Checkpoint(None)
            )
            data.importer(ctx, data.import_path)
            report = ctx.report.finish()
            if report.bad_rows:
                log.warning("%d bad rows, first: %s", len(report.bad_rows), report.bad_rows[0])
            log.info(
                "imported %s in %.1f s: %s",
                data.name,
                time.perf_counter() - started,
                store.stats().nodes,
            )
            yield store
        finally:
            store.close()
    finally:
        embedded.stop()


def make_pipeline(
    store: GraphStore,
    scorer: Any,
    pool: int,
    lexicon: Any,
    parser: Any = None,
    *,
    hide_named_items: bool = True,
    data_dir: Path | None = None,
) -> Any:
    """The server's pipeline over ``store``, built by the builder ``kgrec serve`` uses
    (:func:`server.builder.build_pipeline`) with the settings this bench changes: ``pool``
    candidates per turn and ``hide_named_items``. ``parser``: an intent parser already loaded
    (one per run rather than one per fold)."""
    from server.builder import build_pipeline
    from server.settings import Settings

    settings = Settings(
        demo=False,
        candidate_pool=pool,
        hide_named_items=hide_named_items,
        max_message_chars=MAX_MESSAGE_CHARS,
        **({"data_dir": data_dir} if data_dir is not None else {}),
    )
    return build_pipeline(settings, store, scorer, parser=parser, lexicon=lexicon)
