"""INSPIRED movies: one Product per ``"Title (Year)"`` string the dialogue file mentions, plus
the titles of an optional movie list.

INSPIRED ships no movie table with its dialogues (``movie_database.tsv`` is not in the dev
folder), so the catalog is every title in the file's ``movies`` and ``movie_dict`` columns
[inspired:<slug of the title>], with the title without the year as an alias. There is no KG.

A catalog built from the dialogues alone holds only the movies those dialogues mention: fine
for serving the dialogues one trained on, but a recommender trained on some dialogues and
asked about new ones can then never rank a movie the new ones bring up. ``movie_list``
(``kgrec graph import inspired FILE --movie-list CSV``; ``kgrec train --conversations FILE
--movie-list CSV`` reads the same) adds the titles of a movie table from elsewhere — a CSV
with a ``movieName`` or ``title`` column, e.g. ReDial's ``movies_with_mentions.csv`` —
under the same ``inspired:<slug>`` ids, so a listed movie the dialogues name is one item.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from kgrec.errors import InvalidInputError

from ..types import ProductRow
from ._inspired_files import inspired_item_id, read_inspired_titles
from ._loader import ImportContext, load_source
from .redial import clean_title, title_aliases

DIALOG_FILE = "dialog_dev.tsv"
#: The columns of a movie list that hold the title, in the order they are looked for.
TITLE_COLUMNS = ("movieName", "title")


def read_movie_list(path: Path) -> dict[str, str]:
    """id -> title of every row of a movie-list CSV (first of :data:`TITLE_COLUMNS` present;
    whitespace collapsed; rows without a title skipped; the first spelling of an id kept)."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        column = next((c for c in TITLE_COLUMNS if c in (reader.fieldnames or ())), None)
        if column is None:
            raise InvalidInputError(
                "movie_list", f"{path}: needs a column named one of {', '.join(TITLE_COLUMNS)}"
            )
        titles: dict[str, str] = {}
        for row in reader:
            title = clean_title(row.get(column) or "")
            if title:
                titles.setdefault(inspired_item_id(title), title)
    return titles


def _rows(titles: dict[str, str]) -> list[ProductRow]:
    return [{"id": i, "title": t, "aliases": title_aliases(t)} for i, t in sorted(titles.items())]


def movie_rows(path: Path, movie_list: Path | None = None) -> list[ProductRow]:
    """The products of one INSPIRED dialogue ``tsv`` file and, with ``movie_list``, of that
    list's titles the dialogues do not name (a title the dialogues name keeps their
    spelling); sorted by id."""
    titles = read_inspired_titles(path)
    if movie_list is not None:
        for i, t in read_movie_list(movie_list).items():
            titles.setdefault(i, t)
    return _rows(titles)


def import_inspired(ctx: ImportContext[Any], path: Path) -> None:
    """``path``: an INSPIRED dialogue ``tsv`` file, or a folder holding ``dialog_dev.tsv``;
    ``ctx.options.movie_list``: a movie list whose titles join the catalog."""
    source = path / DIALOG_FILE if path.is_dir() else path
    store, size = ctx.store, ctx.options.batch_size
    titles = read_inspired_titles(source)

    def write(batch: list[tuple[int, ProductRow]]) -> int:
        return store.upsert_products([r for _, r in batch], size)

    movie_list = ctx.options.movie_list
    if movie_list is not None:  # first, so a title the dialogues name keeps their spelling
        listed = {i: t for i, t in read_movie_list(movie_list).items() if i not in titles}
        load_source(ctx, "movie list", movie_list, list(enumerate(_rows(listed), start=2)), write)
    load_source(ctx, "movies", source, list(enumerate(_rows(titles), start=1)), write)


__all__ = ["TITLE_COLUMNS", "import_inspired", "movie_rows", "read_movie_list"]
