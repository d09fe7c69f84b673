"""What an import did: rows read, written, skipped, resumed, timings, and every bad row.

A bad row is never dropped silently: it is recorded with its file and line number, logged, and
listed in the summary (the first ``max_listed`` of them; the count is always exact).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BadRow:
    """A source row that could not be imported and was skipped."""

    path: str
    line: int  # 1-based line number in ``path`` (0 when the problem is not tied to a line)
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass(slots=True)
class SourceStats:
    """Counters for one source (one file, or one step of a multi-file import)."""

    read: int = 0  # rows parsed from the source, good and bad
    written: int = 0  # rows sent to the store in this run
    skipped: int = 0  # bad rows (also in ``ImportReport.bad_rows``)
    resumed: int = 0  # good rows already committed by an interrupted earlier run
    seconds: float = 0.0


@dataclass
class ImportReport:
    """Counters of one ``kgrec graph import`` run, per source and in total."""

    kind: str
    sources: dict[str, SourceStats] = field(default_factory=dict)
    bad_rows: list[BadRow] = field(default_factory=list)
    interrupted: bool = False
    dry_run: bool = False
    started: float = field(default_factory=time.perf_counter)
    seconds: float = 0.0

    # -- recording ------------------------------------------------------------------------------

    def source(self, name: str) -> SourceStats:
        return self.sources.setdefault(name, SourceStats())

    def bad(self, source: str, path: Path | str, line: int, reason: str) -> None:
        row = BadRow(str(path), line, reason)
        self.bad_rows.append(row)
        self.source(source).skipped += 1
        logger.info("skipped bad row %s", row)

    def finish(self) -> ImportReport:
        self.seconds = time.perf_counter() - self.started
        return self

    # -- totals ---------------------------------------------------------------------------------

    @property
    def read(self) -> int:
        return sum(s.read for s in self.sources.values())

    @property
    def written(self) -> int:
        return sum(s.written for s in self.sources.values())

    @property
    def skipped(self) -> int:
        return sum(s.skipped for s in self.sources.values())

    @property
    def resumed(self) -> int:
        return sum(s.resumed for s in self.sources.values())

    @property
    def rows_per_second(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0

    def summary(self, max_listed: int = 20) -> str:
        """A human-readable table: one line per source, a total, then the bad rows."""
        width = max([len(n) for n in self.sources] + [5])
        head = f"{'source':<{width}}  {'read':>9} {'written':>9} {'skipped':>8} {'resumed':>8}"
        lines = [f"import {self.kind}" + (" (dry run: nothing written)" if self.dry_run else "")]
        lines.append(head + f" {'seconds':>8} {'rows/s':>9}")
        for name, s in self.sources.items():
            rate = s.written / s.seconds if s.seconds > 0 else 0.0
            lines.append(
                f"{name:<{width}}  {s.read:>9,} {s.written:>9,} {s.skipped:>8,} {s.resumed:>8,}"
                f" {s.seconds:>8.2f} {rate:>9,.0f}"
            )
        lines.append(
            f"{'total':<{width}}  {self.read:>9,} {self.written:>9,} {self.skipped:>8,}"
            f" {self.resumed:>8,} {self.seconds:>8.2f} {self.rows_per_second:>9,.0f}"
        )
        if self.bad_rows:
            lines.append(f"{len(self.bad_rows)} bad row(s) skipped:")
            lines.extend(f"  {row}" for row in self.bad_rows[:max_listed])
            if len(self.bad_rows) > max_listed:
                lines.append(f"  ... and {len(self.bad_rows) - max_listed} more")
        if self.interrupted:
            lines.append("interrupted: run the same command again to resume")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        """Counters as plain data (for ``--json`` and benchmarks)."""
        return {
            "kind": self.kind,
            "read": self.read,
            "written": self.written,
            "skipped": self.skipped,
            "resumed": self.resumed,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second, 1),
            "interrupted": self.interrupted,
            "sources": {
                name: {
                    "read": s.read,
                    "written": s.written,
                    "skipped": s.skipped,
                    "resumed": s.resumed,
                    "seconds": round(s.seconds, 3),
                }
                for name, s in self.sources.items()
            },
            "bad_rows": [str(r) for r in self.bad_rows],
        }
