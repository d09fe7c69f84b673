"""A conversational dataset as a recommender trains on it: the catalog, its KG neighbourhoods,
and the dialogues.

Readers for ReDial (a ``redial-dev``-style folder), INSPIRED (its dialogue ``tsv``) and the
documented JSONL conversation log (:mod:`models.crs.conversation_log`) all give one
:class:`ConversationCorpus`, so ``kgrec train --conversations`` and ``bench.crs_bench`` fit
the same scorer from the same data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kgrec.errors import ConfigError

from .crs_dialogue import CrsDialogue

__all__ = ["ConversationCorpus", "read_corpus"]


@dataclass
class ConversationCorpus:
    """Attributes:
    name: what the data is called in logs and tables.
    kind: ``redial``, ``inspired`` or ``jsonl`` (picks the scorer preset).
    item_ids: the catalog, in a fixed order.
    titles: display titles, in ``item_ids`` order (the scorer's title vectors).
    item_entities: item -> its KG neighbours (empty without a KG).
    dialogues: the conversations, in file order.
    """

    name: str
    kind: str
    item_ids: list[str]
    titles: list[str]
    item_entities: dict[str, set[str]]
    dialogues: list[CrsDialogue]


def read_corpus(
    path: Path, kind: str | None = None, movie_list: Path | None = None
) -> ConversationCorpus:
    """The corpus at ``path``: a ReDial folder (``movies_with_mentions.csv`` inside), an
    INSPIRED dialogue ``tsv`` (or its folder), or a JSONL conversation log; ``kind`` forces
    one of ``redial``, ``inspired``, ``jsonl``. ``movie_list`` (INSPIRED only): a movie CSV
    whose titles join the catalog, as ``kgrec graph import inspired --movie-list`` imports
    them (:func:`kg.importers.inspired.movie_rows`)."""
    from kg.importers.inspired import DIALOG_FILE
    from kg.importers.redial import MOVIES_FILE

    path = Path(path)
    if kind is None:
        if path.is_dir() and (path / MOVIES_FILE).exists():
            kind = "redial"
        elif path.suffix == ".tsv" or (path.is_dir() and (path / DIALOG_FILE).exists()):
            kind = "inspired"
        elif path.suffix in (".jsonl", ".json"):
            kind = "jsonl"
        else:
            raise ConfigError(
                f"{path}: not a ReDial folder, an INSPIRED .tsv or a .jsonl conversation log "
                "(say which with --format redial|inspired|jsonl)"
            )
    readers: dict[str, Callable[[Path], ConversationCorpus]] = {
        "redial": _redial,
        "inspired": _inspired,
        "jsonl": _jsonl,
    }
    if kind not in readers:
        raise ConfigError(f"unknown conversation format {kind!r}; valid: {', '.join(readers)}")
    if not path.exists():
        raise ConfigError(f"{path} does not exist")
    if movie_list is not None:
        if kind != "inspired":
            raise ConfigError("a movie list (--movie-list) goes with INSPIRED dialogues only")
        if not Path(movie_list).is_file():
            raise ConfigError(f"{movie_list} is not a file")
        return _inspired(path, Path(movie_list))
    return readers[kind](path)


def _redial(folder: Path) -> ConversationCorpus:
    from kg.importers import Skip
    from kg.importers.redial import KG_DIR, MOVIES_FILE, build_kg, read_movies

    from .redial_reader import read_redial

    movies = [r[1] for r in read_movies(folder / MOVIES_FILE) if not isinstance(r, Skip)]
    ids = [m["id"] for m in movies]
    titles = {m["id"].split(":", 1)[1]: m["title"] for m in movies}
    entities: dict[str, set[str]] = {}
    if (folder / KG_DIR).is_dir():
        for item in build_kg(folder / KG_DIR, set(ids)).triples:
            if isinstance(item, Skip):
                continue
            head, tail = item[1]["head"], item[1]["tail"]
            entities.setdefault(head, set()).add(tail)
            entities.setdefault(tail, set()).add(head)
    dialogues = list(read_redial(folder / "kgsf_valid_data.jsonl", titles))
    names = [str(m["title"]) for m in movies]
    return ConversationCorpus("ReDial-dev", "redial", ids, names, entities, dialogues)


def _inspired(path: Path, movie_list: Path | None = None) -> ConversationCorpus:
    from kg.importers.inspired import DIALOG_FILE, movie_rows

    from .inspired_reader import read_inspired

    source = path / DIALOG_FILE if path.is_dir() else path
    rows = movie_rows(source, movie_list)
    ids = [r["id"] for r in rows]
    names = [str(r["title"]) for r in rows]
    return ConversationCorpus(
        "INSPIRED-dev", "inspired", ids, names, {}, list(read_inspired(source))
    )


def _jsonl(path: Path) -> ConversationCorpus:
    from .conversation_log import read_conversation_log

    log = read_conversation_log(path)
    return ConversationCorpus(
        path.stem, "jsonl", log.item_ids, log.titles, log.item_entities, log.dialogues
    )
