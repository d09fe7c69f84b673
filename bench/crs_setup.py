"""What a conversational benchmark run stands on: the datasets, the fold split, the graph and
the pipeline.

:class:`BenchData` is one dataset (ReDial-dev or INSPIRED-dev: its corpus and how the graph is
loaded with it), :func:`folds` splits its dialogues, :meth:`BenchData.for_fold` gives what a
fold's recommender is built from, :func:`graph` imports it into a fresh embedded FalkorDB and
:func:`make_pipeline` builds the server's pipeline over that graph. Shared by
:mod:`bench.crs_bench`, :mod:`bench.crs_tune` and :mod:`bench.crs_links`.

A fold's catalog never comes from the dialogues it is scored on. ReDial's is ReDial's movie
table, the same for every fold. INSPIRED has no movie table, and its importer's catalog is the
titles the imported dialogues name; so each fold imports (and trains on) a file of its
training dialogues only, with ReDial's movie table as the ``--movie-list`` — what a user runs
with ``kgrec graph import inspired TRAIN.tsv --movie-list movies_with_mentions.csv`` and
``kgrec train --conversations TRAIN.tsv --movie-list movies_with_mentions.csv``. A target
outside the fold's catalog is a miss (the tables' coverage column counts them).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from kg.importers import Checkpoint, ImportContext, ImportOptions, ImportReport
from kg.store import GraphStore
from models.crs import CrsDialogue
from models.crs.conversation_corpus import ConversationCorpus, read_corpus
from server.replay import MAX_MESSAGE_CHARS

log = logging.getLogger(__name__)


@dataclass
class BenchData:
    """One dataset: its corpus (catalog, KG neighbourhoods, dialogues) and how the
    server's graph is loaded with it."""

    corpus: ConversationCorpus
    importer: Any  # callable(ctx, path)
    import_path: Path
    options: ImportOptions = field(default_factory=ImportOptions)
    #: ``(data, fold_of, f, workdir) -> fold f's data``, built from its training dialogues
    #: only; ``None``: one catalog and graph serve every fold (the dialogues only pick the
    #: training set)
    split: Callable[[BenchData, Sequence[int], int, Path], BenchData] | None = None

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

    @property
    def per_fold(self) -> bool:
        """Does each fold have its own catalog (and graph)?"""
        return self.split is not None

    def for_fold(
        self, fold_of: Sequence[int], f: int, workdir: Path, share: float = 1.0
    ) -> tuple[BenchData, list[CrsDialogue]]:
        """(what fold ``f``'s recommender is built from, its training dialogues): the
        dialogues of the other folds; with :attr:`split`, a dataset read from a file of those
        dialogues alone (its catalog, and so its graph, too). ``workdir``: where such a file
        goes. ``share``: the training dialogues are that share of them (:func:`share_of`);
        the catalog stays the whole fold's."""
        if self.split is None:
            data, train = self, [d for i, d in enumerate(self.dialogues) if fold_of[i] != f]
        else:
            data = self.split(self, fold_of, f, workdir)
            train = data.dialogues
        return data, share_of(train, share)


def redial_data(root: Path) -> BenchData:
    from kg.importers.redial import import_redial

    folder = root / "redial-dev"
    return BenchData(read_corpus(folder, "redial"), import_redial, folder)


def inspired_data(root: Path) -> BenchData:
    """INSPIRED-dev; each fold's catalog: the titles its training dialogues name plus ReDial's
    movie table (:func:`inspired_fold`)."""
    from kg.importers.inspired import DIALOG_FILE, import_inspired
    from kg.importers.redial import MOVIES_FILE

    path = root / "inspired-dev" / DIALOG_FILE
    movies = root / "redial-dev" / MOVIES_FILE
    return BenchData(
        read_corpus(path, "inspired", movies),
        import_inspired,
        path,
        ImportOptions(movie_list=movies),
        inspired_fold,
    )


def inspired_fold(data: BenchData, fold_of: Sequence[int], f: int, workdir: Path) -> BenchData:
    """Fold ``f`` of an INSPIRED dataset: its training dialogues' rows written to a ``tsv``
    in ``workdir``, read and imported as a user would (``read_corpus`` / ``import_inspired``
    with the dataset's movie list)."""
    path = workdir / f"inspired-train-fold{f}.tsv"
    write_inspired_subset(data.import_path, path, [k != f for k in fold_of])
    corpus = read_corpus(path, "inspired", data.options.movie_list)
    return BenchData(corpus, data.importer, path, data.options)


def write_inspired_subset(source: Path, out: Path, keep: Sequence[bool]) -> None:
    """Copy the header and the rows of the dialogues ``keep`` selects (by position, as
    :func:`models.crs.inspired_reader.read_inspired` yields them: runs of rows with one
    ``dialog_id``; blank lines dropped) from one INSPIRED ``tsv`` to ``out``."""
    with source.open(encoding="utf-8", newline="") as f:
        header, *lines = [line for line in f if line.strip("\r\n")]
    if header.split("\t", 1)[0].strip() != "dialog_id":
        raise ValueError(f"{source}: the first column is not dialog_id")
    position, last = -1, None
    kept = [header]
    for line in lines:
        dialog_id = line.split("\t", 1)[0]
        if dialog_id != last:
            position, last = position + 1, dialog_id
        if keep[position]:
            kept.append(line)
    if position + 1 != len(keep):
        raise ValueError(f"{source}: {position + 1} dialogues, {len(keep)} fold flags")
    with out.open("w", encoding="utf-8", newline="") as f:
        f.writelines(kept)


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


T = TypeVar("T")


def share_of(dialogues: Sequence[T], share: float, seed: int = 0) -> list[T]:
    """A seeded ``share`` of ``dialogues`` (at least one), in their order: the first
    ``round(share * n)`` of one permutation of the positions, so a smaller share's subset
    is part of a larger one's (a learning curve adds dialogues, it does not redraw them)."""
    if share >= 1:
        return list(dialogues)
    keep = max(1, round(share * len(dialogues)))
    picked = np.random.default_rng(seed).permutation(len(dialogues))[:keep]
    return [dialogues[int(i)] for i in np.sort(picked)]


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
                store, data.options, ImportReport(data.name), Checkpoint(None)
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
    demote_shown: bool = True,
    data_dir: Path | None = None,
    encoder_dtype: str = "auto",
) -> Any:
    """The server's pipeline over ``store``, built by the builder ``kgrec serve`` uses
    (:func:`server.builder.build_pipeline`) with the settings this bench changes: ``pool``
    candidates per turn, ``hide_named_items``, ``demote_shown`` and ``encoder_dtype`` (which
    the builder sets for the process: call :func:`after_serving` once the replay is done).
    ``parser``: an intent parser already loaded (one per run rather than one per fold)."""
    from server.builder import build_pipeline
    from server.settings import Settings

    settings = Settings(
        demo=False,
        candidate_pool=pool,
        hide_named_items=hide_named_items,
        demote_shown=demote_shown,
        encoder_dtype=encoder_dtype,
        max_message_chars=MAX_MESSAGE_CHARS,
        **({"data_dir": data_dir} if data_dir is not None else {}),
    )
    return build_pipeline(settings, store, scorer, parser=parser, lexicon=lexicon)


def after_serving() -> None:
    """MiniLM forwards in float32 again after a served replay: the next fold's scorer is fitted
    (and its offline rows scored) as ``kgrec train`` encodes, not in the served dtype."""
    from kgrec.minilm import set_inference_dtype

    set_inference_dtype("float32")
