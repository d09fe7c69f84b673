"""INSPIRED movies: one Product per ``"Title (Year)"`` string the dialogue file mentions.

INSPIRED ships no movie table with its dialogues (``movie_database.tsv`` is not in the dev
folder), so the catalog is every title in the file's ``movies`` and ``movie_dict`` columns
[inspired:<slug of the title>], with the title without the year as an alias. There is no KG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..types import ProductRow
from ._inspired_files import read_inspired_titles
from ._loader import ImportContext, load_source
from .redial import title_aliases

DIALOG_FILE = "dialog_dev.tsv"


def movie_rows(path: Path) -> list[ProductRow]:
    """The products of one INSPIRED dialogue ``tsv`` file, sorted by id."""
    titles = read_inspired_titles(path)
    return [{"id": i, "title": t, "aliases": title_aliases(t)} for i, t in sorted(titles.items())]


def import_inspired(ctx: ImportContext[Any], path: Path) -> None:
    """``path``: an INSPIRED dialogue ``tsv`` file, or a folder holding ``dialog_dev.tsv``."""
    source = path / DIALOG_FILE if path.is_dir() else path
    store, size = ctx.store, ctx.options.batch_size
    rows = list(enumerate(movie_rows(source), start=1))
    load_source(
        ctx, "movies", source, rows, lambda b: store.upsert_products([r for _, r in b], size)
    )


__all__ = ["import_inspired", "movie_rows"]
