"""Read INSPIRED dialogues (``dialog_data/*.tsv``) into :class:`CrsDialogue`.

Utterances already name movies in words; the ``movies`` column lists their canonical
``"Title (Year)"`` strings (``;``-separated), which become ids ``inspired:<slug of title>``.
A recommender utterance's targets are the movies it mentions that nobody mentioned earlier in
the dialogue (INSPIRED has no ``suggested`` flag; a first mention by the recommender is the
closest reading of "the recommender suggested it").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from itertools import groupby
from pathlib import Path

from kg.importers._inspired_files import (
    inspired_item_id,
    inspired_rows,
    read_inspired_titles,
    split_movies,
)

from .crs_dialogue import RECOMMENDER, SEEKER, CrsDialogue, CrsMessage

_SPACES = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """Quotes back from ``QUOTATION_MARK``; U+FFFD (mojibake in the source, which the server
    rejects as not-UTF-8 text) dropped; whitespace collapsed."""
    text = text.replace("QUOTATION_MARK", '"').replace("\ufffd", " ")
    return _SPACES.sub(" ", text).strip()


def parse_inspired_dialogue(dialog_id: str, rows: Iterable[Mapping[str, str]]) -> CrsDialogue:
    """The rows of one ``dialog_id`` (in file order) -> :class:`CrsDialogue`."""
    seen: set[str] = set()
    messages: list[CrsMessage] = []
    for row in rows:
        role = RECOMMENDER if (row.get("speaker") or "").upper() == "RECOMMENDER" else SEEKER
        ids = tuple(dict.fromkeys(inspired_item_id(t) for t in split_movies(row.get("movies", ""))))
        targets = tuple(i for i in ids if i not in seen) if role == RECOMMENDER else ()
        seen.update(ids)
        messages.append(CrsMessage(role, clean_text(row.get("text") or ""), ids, targets))
    return CrsDialogue(dialog_id, tuple(messages))


def read_inspired(path: Path) -> Iterator[CrsDialogue]:
    """Every dialogue of an INSPIRED ``tsv`` file (rows of a dialogue are contiguous)."""
    for dialog_id, rows in groupby(inspired_rows(path), key=lambda r: r.get("dialog_id") or ""):
        yield parse_inspired_dialogue(dialog_id, rows)


__all__ = [
    "clean_text",
    "inspired_item_id",
    "parse_inspired_dialogue",
    "read_inspired",
    "read_inspired_titles",
    "split_movies",
]
