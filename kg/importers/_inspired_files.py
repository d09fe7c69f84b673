"""Reading INSPIRED's dialogue ``tsv``: rows, movie ids and titles (no dialogue types here:
:mod:`models.crs.inspired_reader` builds dialogues from these rows)."""

from __future__ import annotations

import ast
import csv
import re
import sys
from collections.abc import Iterator
from pathlib import Path

_NON_WORD = re.compile(r"[^0-9a-z]+")
_SPACES = re.compile(r"\s+")


def inspired_item_id(title: str) -> str:
    """``"Toy Story (1995)"`` -> ``"inspired:toy-story-1995"``."""
    slug = _NON_WORD.sub("-", title.casefold()).strip("-")
    return f"inspired:{slug or 'untitled'}"


def split_movies(cell: str) -> list[str]:
    """``"Braveheart (1995);  Saving Private Ryan (1998)"`` -> two clean titles."""
    return [_SPACES.sub(" ", t).strip() for t in cell.split(";") if t.strip()]


def inspired_rows(path: Path) -> Iterator[dict[str, str]]:
    """The rows of an INSPIRED dialogue ``tsv`` (tab-separated, no quoting)."""
    csv.field_size_limit(min(sys.maxsize, 1 << 30))
    with path.open(encoding="utf-8", newline="") as f:
        yield from csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)


def read_inspired_titles(path: Path) -> dict[str, str]:
    """id -> canonical title of every movie the file mentions (``movies`` and ``movie_dict``)."""
    titles: dict[str, str] = {}
    for row in inspired_rows(path):
        names = split_movies(row.get("movies", ""))
        try:
            mapping = ast.literal_eval(row.get("movie_dict") or "{}")
        except (ValueError, SyntaxError):
            mapping = {}
        if isinstance(mapping, dict):
            names += [_SPACES.sub(" ", str(k)).strip() for k in mapping]
        for name in names:
            if name:
                titles.setdefault(inspired_item_id(name), name)
    return titles
