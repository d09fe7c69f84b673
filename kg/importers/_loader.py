"""The batching loop every importer shares: parse, skip bad rows, write batches, checkpoint.

A parser is a generator of :class:`Skip` (a bad row, with its line number and reason) or
``(line, row)`` pairs. :func:`load_source` groups the good rows into batches of
``options.batch_size``, hands each batch of ``(line, row)`` pairs to a writer (which calls the
store's batched ``UNWIND`` upserts and returns the number of rows written; a row the graph
rejects, e.g. one naming an unknown item, it reports with ``ctx.report.bad``), and records the
position of the batch's last row in the checkpoint once the store has acknowledged it. Rows
at or before a checkpointed position are counted as ``resumed`` and not written again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from tqdm import tqdm

from ..store import DEFAULT_BATCH, GraphStore
from .checkpoint import Checkpoint
from .report import ImportReport

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How to run an import.

    Args:
        batch_size: rows per ``UNWIND`` batch (and per checkpoint).
        strict: validate every source first and write nothing when any row is bad.
        state_dir: where the resume checkpoint lives; ``None`` disables resuming.
        progress: show a tqdm progress bar on stderr.
        dry_run: parse and validate only; nothing reaches the store.
        target: names the store in checkpoint keys (default: the store's URI; the embedded
            store's socket may move between runs, so the admin CLI passes its data dir).
        movie_list: ``inspired`` only: a movie-list CSV whose titles join the catalog
            (:mod:`kg.importers.inspired`).
    """

    batch_size: int = DEFAULT_BATCH
    strict: bool = False
    state_dir: Path | None = None
    progress: bool = False
    dry_run: bool = False
    target: str = ""
    movie_list: Path | None = None


@dataclass(frozen=True, slots=True)
class Skip:
    """A bad row: where it is and why it was skipped."""

    line: int
    reason: str


Parsed = Skip | tuple[int, T]


@dataclass
class ImportContext(Generic[T]):
    """Everything a running import shares across its sources."""

    store: GraphStore
    options: ImportOptions
    report: ImportReport
    checkpoint: Checkpoint
    #: Rows of shared nodes (categories, brands, ...) this run has written, by (label, id):
    #: a node that many rows name is written once, not once per batch.
    written: dict[tuple[str, str], object] = field(default_factory=dict)

    def unwritten(self, label: str, rows: Iterable[Any]) -> list[Any]:
        """The rows (dicts with an ``id``) that differ from what this run wrote; marks them."""
        out = []
        for row in rows:
            key = (label, row["id"])
            if self.written.get(key) != row:
                self.written[key] = row
                out.append(row)
        return out


def count_lines(path: Path) -> int:
    """Newline count of a file (for the progress bar's total), read in 1 MiB blocks."""
    n = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            n += block.count(b"\n")
    return n


def load_source(
    ctx: ImportContext[T],
    name: str,
    path: Path,
    records: Iterable[Parsed[T]],
    write: Callable[[list[tuple[int, T]]], int],
    *,
    total: int | None = None,
    validate: Callable[[list[tuple[int, T]]], object] | None = None,
) -> None:
    """Stream ``records`` into ``write`` in batches, checkpointing after each batch.

    In a dry run nothing is written; ``validate`` (read-only checks against the graph that
    report bad rows, e.g. unknown items) is called with each batch instead.
    """
    stats = ctx.report.source(name)
    key = f"{ctx.report.kind}|{name}|{path.resolve()}|{ctx.options.target or ctx.store.uri}"
    dry = ctx.options.dry_run
    start = 0 if dry else ctx.checkpoint.position(key, path)
    size = max(1, ctx.options.batch_size)
    batch: list[tuple[int, T]] = []
    last = 0
    t0 = time.perf_counter()
    bar = tqdm(total=total, desc=name, unit="row", disable=not ctx.options.progress, leave=False)

    def flush() -> None:
        if batch and dry and validate is not None:
            validate(batch)
        elif batch and not dry:
            stats.written += write(batch)
            ctx.checkpoint.commit(key, path, last)
        batch.clear()

    try:
        for item in records:
            stats.read += 1
            bar.update()
            if isinstance(item, Skip):
                ctx.report.bad(name, path, item.line, item.reason)
                continue
            line, row = item
            if line <= start:
                stats.resumed += 1
                continue
            batch.append((line, row))
            last = line
            if len(batch) >= size:
                flush()
        flush()
    finally:
        bar.close()
        stats.seconds += time.perf_counter() - t0
    if not dry:
        ctx.checkpoint.done(key)


def numbered_lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, str] | Skip]:
    """``(line_number, text)`` without the line terminator; blank lines left out.

    A line that does not decode in ``encoding`` comes out as a :class:`Skip`.
    """
    with path.open("rb") as f:
        for n, raw in enumerate(f, start=1):
            try:
                text = raw.decode(encoding).rstrip("\r\n")
            except UnicodeDecodeError as e:
                yield Skip(n, f"not valid {encoding}: {e.reason} at byte {e.start}")
                continue
            if text.strip():
                yield n, text
