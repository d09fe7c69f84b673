"""Read ReDial dialogues (the KGSF ``*_data.jsonl`` files) into :class:`CrsDialogue`.

A movie mention ``@<movieId>`` is replaced by its title (the dialogue's own ``movieMentions``
name, else the catalog title, whitespace collapsed) and its id becomes ``redial:<movieId>``.
A recommender message (sender = ``respondentWorkerId``) that mentions a movie with
``respondentQuestions[movieId].suggested == 1`` has that movie as a target.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .crs_dialogue import RECOMMENDER, SEEKER, CrsDialogue, CrsMessage

MENTION = re.compile(r"@(\d+)")
_SPACES = re.compile(r"\s+")


def redial_item_id(movie_id: str | int) -> str:
    return f"redial:{movie_id}"


def clean_title(title: str) -> str:
    """``"Cosmos  (2015)"`` -> ``"Cosmos (2015)"``."""
    return _SPACES.sub(" ", title).strip()


def _suggested(questions: Any, movie_id: str) -> bool:
    if not isinstance(questions, dict):
        return False
    answer = questions.get(movie_id)
    return isinstance(answer, dict) and answer.get("suggested") == 1


def _substitute(
    raw: str, names: Mapping[str, str], titles: Mapping[str, str]
) -> tuple[str, list[str]]:
    """``raw`` with every known ``@id`` written as its title, and the ids in order."""
    ids: list[str] = []

    def title(m: re.Match[str]) -> str:
        movie = m.group(1)
        name = names.get(movie) or titles.get(movie)
        if not name:
            return m.group(0)
        ids.append(movie)
        return name

    return MENTION.sub(title, raw), ids


def parse_redial_dialogue(
    record: Mapping[str, Any], titles: Mapping[str, str] | None = None
) -> CrsDialogue:
    """One ``jsonl`` record -> :class:`CrsDialogue`; ``titles`` maps movieId -> catalog title."""
    titles = titles or {}
    names = {str(k): clean_title(str(v)) for k, v in (record.get("movieMentions") or {}).items()}
    recommender = record.get("respondentWorkerId")
    questions = record.get("respondentQuestions") or {}
    messages: list[CrsMessage] = []
    for msg in record.get("messages") or ():
        text, ids = _substitute(str(msg.get("text") or ""), names, titles)
        role = RECOMMENDER if msg.get("senderWorkerId") == recommender else SEEKER
        movies = tuple(dict.fromkeys(ids))
        targets: tuple[str, ...] = ()
        if role == RECOMMENDER:
            targets = tuple(redial_item_id(m) for m in movies if _suggested(questions, m))
        messages.append(CrsMessage(role, text, tuple(redial_item_id(m) for m in movies), targets))
    return CrsDialogue(str(record.get("conversationId", "")), tuple(messages))


def read_redial(path: Path, titles: Mapping[str, str] | None = None) -> Iterator[CrsDialogue]:
    """Every dialogue of a ReDial/KGSF ``jsonl`` file, in file order (ids numbered when absent)."""
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            dialogue = parse_redial_dialogue(json.loads(line), titles)
            if not dialogue.id:
                dialogue = CrsDialogue(f"line{n}", dialogue.messages)
            yield dialogue


__all__ = ["clean_title", "parse_redial_dialogue", "read_redial", "redial_item_id"]
