"""The import kinds by name, and :func:`run_import`, which runs one with its report.

``--strict`` runs the parsers once without writing (a dry run); when any row is bad the
import stops there, having written nothing, and the report lists every bad row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from kgrec.errors import ConfigError, InvalidInputError

from ..store import GraphStore
from ._loader import ImportContext, ImportOptions
from .checkpoint import Checkpoint
from .export_file import import_export
from .inspired import import_inspired
from .interactions import import_interactions
from .movielens import import_movielens
from .products import import_products
from .redial import import_redial
from .report import ImportReport
from .triples import import_triples

logger = logging.getLogger(__name__)

Importer = Callable[[ImportContext[Any], Path], None]


#: Every import kind, by the name ``kgrec graph import <kind>`` takes.
IMPORTERS: dict[str, Importer] = {
    "export": import_export,
    "inspired": import_inspired,
    "interactions": import_interactions,
    "movielens": import_movielens,
    "products": import_products,
    "redial": import_redial,
    "triples": import_triples,
}

#: Kinds whose path is a directory; the others take a file.
DIRECTORY_KINDS = frozenset({"movielens", "redial"})


def get_importer(kind: str) -> Importer:
    try:
        return IMPORTERS[kind]
    except KeyError:
        raise ConfigError(
            f"unknown import kind {kind!r}; valid: {', '.join(sorted(IMPORTERS))}"
        ) from None


def check_path(kind: str, path: Path) -> Path:
    """The path made absolute, or ``InvalidInputError`` saying what is wrong with it."""
    p = path.expanduser()
    if not p.exists():
        raise InvalidInputError("path", f"{path} does not exist")
    if kind in DIRECTORY_KINDS and not p.is_dir():
        raise InvalidInputError("path", f"{path}: {kind} takes a directory")
    if kind not in DIRECTORY_KINDS and not p.is_file():
        raise InvalidInputError("path", f"{path}: {kind} takes a file")
    return p.resolve()


def run_import(
    store: GraphStore, kind: str, path: Path, options: ImportOptions | None = None
) -> ImportReport:
    """Import ``path`` as ``kind`` into ``store``; returns the report (also when interrupted).

    Raises ``ConfigError`` for an unknown kind, ``InvalidInputError`` for a bad path; store
    errors (e.g. ``GraphUnavailableError``) propagate, with committed batches checkpointed.
    """
    options = options or ImportOptions()
    importer = get_importer(kind)
    path = check_path(kind, path)
    if options.strict and not options.dry_run:
        check = _run(store, kind, importer, path, replace(options, dry_run=True))
        if check.bad_rows:
            return check
    return _run(store, kind, importer, path, options)


def _run(
    store: GraphStore, kind: str, importer: Importer, path: Path, options: ImportOptions
) -> ImportReport:
    report = ImportReport(kind, dry_run=options.dry_run)
    ctx: ImportContext[Any] = ImportContext(store, options, report, Checkpoint(options.state_dir))
    try:
        importer(ctx, path)
    except KeyboardInterrupt:
        report.interrupted = True
        logger.warning("import interrupted; committed batches are checkpointed")
    return report.finish()
