"""The JSONL conversation-log format a shop can produce, and its reader.

One JSON object per line (folded here), of two types (blank lines and lines starting with
``//`` are skipped)::

    {"type": "item", "id": "prod:001548", "title": "Trail runner 2",
     "entities": ["brand:saucony", "cat:running-shoes"]}
    {"type": "conversation", "id": "c-1842", "messages": [
        {"role": "shopper", "text": "running shoes like my old Pegasus", "items": ["prod:000311"]},
        {"role": "assistant", "text": "Try the Trail runner 2", "items": ["prod:001548"],
         "recommended": ["prod:001548"], "accepted": ["prod:001548"]}
    ]}

* ``role``: ``shopper`` / ``seeker`` / ``user``, or ``assistant`` / ``recommender`` / ``agent``.
* ``items``: catalog ids the message mentions, in order.
* ``recommended``: the ids the assistant recommended in that message (a subset of, or in
  addition to, ``items``); ``accepted`` (optional): those the shopper took up. When
  ``accepted`` is present only accepted recommendations are learning targets; otherwise every
  recommendation is.
* Item lines are optional: an id mentioned but never described joins the catalog with its id
  as title and no KG entities.

Every problem is reported with its line number (:class:`~kgrec.errors.InvalidInputError`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kgrec.errors import InvalidInputError

from .crs_dialogue import RECOMMENDER, SEEKER, CrsDialogue, CrsMessage

__all__ = ["ConversationLog", "read_conversation_log"]

ROLES = {
    "shopper": SEEKER,
    "seeker": SEEKER,
    "user": SEEKER,
    "assistant": RECOMMENDER,
    "recommender": RECOMMENDER,
    "agent": RECOMMENDER,
}


@dataclass
class ConversationLog:
    item_ids: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    item_entities: dict[str, set[str]] = field(default_factory=dict)
    dialogues: list[CrsDialogue] = field(default_factory=list)


def _ids(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidInputError(where, "must be a list of non-empty id strings")
    return tuple(dict.fromkeys(value))


def _message(raw: Any, where: str) -> CrsMessage:
    if not isinstance(raw, dict):
        raise InvalidInputError(where, "a message must be an object")
    role = ROLES.get(str(raw.get("role", "")).lower())
    if role is None:
        raise InvalidInputError(f"{where}.role", f"must be one of {', '.join(ROLES)}")
    text = raw.get("text", "")
    if not isinstance(text, str):
        raise InvalidInputError(f"{where}.text", "must be a string")
    items = _ids(raw.get("items"), f"{where}.items")
    recommended = _ids(raw.get("recommended"), f"{where}.recommended")
    if role == SEEKER and recommended:
        raise InvalidInputError(f"{where}.recommended", "only assistant messages recommend")
    if "accepted" in raw:
        accepted = set(_ids(raw.get("accepted"), f"{where}.accepted"))
        recommended = tuple(i for i in recommended if i in accepted)
    mentioned = tuple(dict.fromkeys((*items, *recommended)))
    return CrsMessage(role, text, mentioned, recommended)


def read_conversation_log(path: Path) -> ConversationLog:
    """Read ``path`` (see the module docstring for the format)."""
    log = ConversationLog()
    described: dict[str, tuple[str, set[str]]] = {}
    mentioned: dict[str, None] = {}
    with Path(path).open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            line = line.strip()
            if not line or line.startswith("//"):
                continue
            where = f"{path}:{n}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise InvalidInputError(where, f"not JSON: {e.msg}") from e
            kind = obj.get("type") if isinstance(obj, dict) else None
            if kind == "item":
                item_id = obj.get("id")
                if not isinstance(item_id, str) or not item_id:
                    raise InvalidInputError(f"{where}.id", "an item needs a non-empty id")
                title = obj.get("title") or item_id
                entities = set(_ids(obj.get("entities"), f"{where}.entities"))
                described[item_id] = (str(title), entities)
            elif kind == "conversation":
                raw = obj.get("messages")
                if not isinstance(raw, list) or not raw:
                    raise InvalidInputError(f"{where}.messages", "must be a non-empty list")
                messages = tuple(_message(m, f"{where}.messages[{k}]") for k, m in enumerate(raw))
                for m in messages:
                    mentioned.update(dict.fromkeys(m.item_ids))
                log.dialogues.append(CrsDialogue(str(obj.get("id", n)), messages))
            else:
                raise InvalidInputError(f"{where}.type", "must be 'item' or 'conversation'")
    for item_id in (*described, *mentioned):
        if item_id in log.item_entities:
            continue
        title, entities = described.get(item_id, (item_id, set()))
        log.item_ids.append(item_id)
        log.titles.append(title)
        log.item_entities[item_id] = entities
    if not log.dialogues:
        raise InvalidInputError(str(path), "no conversation lines")
    return log
