"""Bulk importers: products (JSONL/CSV), triples (TSV), interactions (CSV), MovieLens-100K
with its Freebase KG, and re-import of ``kgrec graph export`` files.

Every importer streams its source through the store's batched ``UNWIND`` upserts, is
idempotent (MERGE on ids), resumable (a checkpoint after every batch), reports bad rows with
file and line number, and ends with an :class:`ImportReport`.
"""

from __future__ import annotations

from ._loader import ImportContext, ImportOptions, Skip
from .checkpoint import Checkpoint
from .registry import DIRECTORY_KINDS, IMPORTERS, get_importer, run_import
from .report import BadRow, ImportReport, SourceStats

__all__ = [
    "DIRECTORY_KINDS",
    "IMPORTERS",
    "BadRow",
    "Checkpoint",
    "ImportContext",
    "ImportOptions",
    "ImportReport",
    "Skip",
    "SourceStats",
    "get_importer",
    "run_import",
]
