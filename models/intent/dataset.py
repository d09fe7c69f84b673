"""The labelled intent evaluation set and the lexicon it assumes, shipped as package data.

``data/intent_eval.jsonl`` holds one utterance per line::

    {"id": "refine-003", "message": "not that brand",
     "previous": {"message": "show me some Hoka running shoes", "type": "recommend"} | null,
     "type": "refine",
     "mentions": [{"text": "Hoka", "label": "Brand" | ... | null, "negated": false}],
     "price": {"min": 50.0 | null, "max": 80.0 | null, "relative": "cheaper" | null,
               "level": "low" | "high" | null} | null,
     "references": [{"kind": "that_brand", "index": null, "negated": true}],
     "preferences": [{"kind": "audience", "value": "men", "negated": false}],
     "clear_constraints": false,
     "split": "train" | "test"}

``split`` is fixed in the file (``crc32(message, previous) % 10 < 3`` -> test when it was
written) so the partition never moves. ``price.level`` and ``preferences`` may be absent
(read as null and none). ``data/eval_lexicon.json`` maps
``label -> entity id -> [name, alias, ...]``: the graph the set assumes. A few names the set
uses are deliberately missing from it (e.g. "Inception", "Christopher Nolan", "Mizuno") to
measure open-vocabulary extraction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from kg.types import LexiconEntry
from kgrec.domain import IntentType
from kgrec.errors import ConfigError
from models.intent.config import DATA_DIR

EVAL_PATH = DATA_DIR / "intent_eval.jsonl"
LEXICON_PATH = DATA_DIR / "eval_lexicon.json"


@dataclass(frozen=True, slots=True)
class EvalExample:
    """One labelled utterance (see the module docstring for the JSON form)."""

    id: str
    message: str
    type: IntentType
    mentions: tuple[tuple[str, str | None, bool], ...]  # (text, label, negated)
    price: tuple[float | None, float | None, str | None, str | None] | None
    # (min, max, relative, level)
    references: tuple[tuple[str, int | None, bool], ...]  # (kind, index, negated)
    preferences: tuple[tuple[str, str, bool], ...] = ()  # (kind, value, negated)
    clear_constraints: bool = False
    previous_message: str | None = None
    previous_type: IntentType | None = None
    split: str = "train"

    @classmethod
    def from_json(cls, row: dict) -> EvalExample:
        prev = row.get("previous") or None
        price = row.get("price")
        return cls(
            id=row["id"],
            message=row["message"],
            type=IntentType(row["type"]),
            mentions=tuple(
                (m["text"], m.get("label"), bool(m.get("negated", False)))
                for m in row.get("mentions", ())
            ),
            price=None
            if price is None
            else (price.get("min"), price.get("max"), price.get("relative"), price.get("level")),
            references=tuple(
                (r["kind"], r.get("index"), bool(r.get("negated", False)))
                for r in row.get("references", ())
            ),
            preferences=tuple(
                (p["kind"], p["value"], bool(p.get("negated", False)))
                for p in row.get("preferences", ())
            ),
            clear_constraints=bool(row.get("clear_constraints", False)),
            previous_message=prev["message"] if prev else None,
            previous_type=IntentType(prev.get("type", "recommend")) if prev else None,
            split=row.get("split", "train"),
        )


def load_eval_set(path: str | Path | None = None, *, split: str | None = None) -> list[EvalExample]:
    """The labelled utterances; ``split`` ("train" | "test") keeps one part."""
    p = Path(path) if path is not None else EVAL_PATH
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ConfigError(f"cannot read intent eval set {p}: {e}") from e
    out = [EvalExample.from_json(json.loads(line)) for line in lines if line.strip()]
    return [e for e in out if split is None or e.split == split]


def load_lexicon(path: str | Path | None = None) -> list[LexiconEntry]:
    """Lexicon entries (every name and alias) from a ``label -> id -> names`` JSON file."""
    p = Path(path) if path is not None else LEXICON_PATH
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read lexicon {p}: {e}") from e
    return [
        LexiconEntry(entity_id=eid, label=label, name=names[0], surface=surface)
        for label, ids in data.items()
        for eid, names in ids.items()
        for surface in names
    ]


__all__ = ["EVAL_PATH", "LEXICON_PATH", "EvalExample", "load_eval_set", "load_lexicon"]
