"""The category ids of a request's filters, checked against the graph before the turn starts.

A filter on a category the graph does not have can only ever return nothing, and the reply
would echo the raw id ("I could not find anything in category:shoes"): a client that guessed
the id format (``category:shoes`` for ``cat:shoes``) learns nothing from that. So an unknown
id is an ``INVALID_ARGUMENT`` naming ``filters.category_ids``, the ids that are wrong, a
likely meant id where one matches, and what real ids look like. The message is bounded: at
most :data:`MAX_LISTED` ids, each cut to :data:`MAX_ID_CHARS` characters.

The known categories are the pipeline's lexicon (read when the server starts). A pipeline
built without one knows no category and checks nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from kg.types import LexiconEntry
from kgrec.errors import InvalidInputError

FIELD = "filters.category_ids"
#: Unknown ids named in the message; the rest are counted.
MAX_LISTED = 5
#: Longer ids are cut to this many characters in the message.
MAX_ID_CHARS = 48
#: How many real ids the message gives as examples.
EXAMPLES = 3


def _shown(entity_id: str) -> str:
    if len(entity_id) > MAX_ID_CHARS:
        entity_id = entity_id[: MAX_ID_CHARS - 1] + "…"
    return repr(entity_id)


def _key(text: str) -> str:
    """``"category:Running shoes"`` and ``"cat:running-shoes"`` both -> ``"running-shoes"``."""
    tail = text.rsplit(":", 1)[-1]
    return "-".join(tail.lower().replace("_", " ").split())


def _meant(unknown: str, categories: Mapping[str, LexiconEntry]) -> str | None:
    """The known id ``unknown`` most likely stands for: same slug after the prefix, or a
    category whose name is that slug; None when nothing matches."""
    key = _key(unknown)
    for entity_id, entry in categories.items():
        if _key(entity_id) == key or _key(entry.name) == key:
            return entity_id
    return None


def check_category_ids(ids: Sequence[str], entities: Mapping[str, LexiconEntry]) -> None:
    """Raise :class:`InvalidInputError` if an id of ``ids`` is not a known Category node.

    ``entities`` maps node ids to their lexicon entries (any labels; only ``Category`` counts).
    """
    if not ids:
        return
    categories = {i: e for i, e in entities.items() if e.label == "Category"}
    if not categories:
        return
    unknown = [i for i in ids if i not in categories]
    if not unknown:
        return
    raise InvalidInputError(FIELD, _message(unknown, categories))


def _message(unknown: Sequence[str], categories: Mapping[str, LexiconEntry]) -> str:
    parts = []
    for entity_id in unknown[:MAX_LISTED]:
        meant = _meant(entity_id, categories)
        parts.append(
            f"{_shown(entity_id)} (did you mean {meant!r}?)" if meant else _shown(entity_id)
        )
    more = len(unknown) - MAX_LISTED
    listed = ", ".join(parts) + (f" and {more} more" if more > 0 else "")
    noun = "id" if len(unknown) == 1 else "ids"
    return (
        f"unknown category {noun} {listed}; category ids are graph node ids such as "
        f"{_examples(categories)}"
    )


def _examples(categories: Iterable[str]) -> str:
    return ", ".join(repr(i) for i in sorted(categories)[:EXAMPLES])


__all__ = ["FIELD", "MAX_ID_CHARS", "MAX_LISTED", "check_category_ids"]
