"""Three-way merge of a session's serialised dialogue state, for optimistic concurrency.

A turn or a Feedback call reads the session (state *base*, version *v*), computes its own
new state (*mine*) and writes it only if the stored version is still *v*
(:meth:`kg.store.GraphStore.save_session_state` with ``version``). When another call wrote
first (*theirs*), :func:`merge_states` keeps both sides' changes and the write is retried on
top of *theirs*; nothing either call did is lost ("not Nike" and five DISMISSes at once all
stay). The merge works on the JSON object field by field, knowing nothing of its meaning:

- a field only one side changed takes that side's value;
- a list of ids or words (strings, numbers) both changed: *theirs*, minus what *mine*
  removed from *base*, plus what *mine* added (in *mine*'s order, once);
- anything else both changed (a number, a string, an object, a list of objects such as the
  last ranking, which is one value): *mine* (the later writer).
"""

from __future__ import annotations

import json
from typing import Any, TypeGuard


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _is_set_like(value: Any) -> TypeGuard[list[Any]]:
    return isinstance(value, list) and all(
        isinstance(x, str | int | float | bool) or x is None for x in value
    )


def _merge_lists(base: list[Any], mine: list[Any], theirs: list[Any]) -> list[Any]:
    base_keys = {_key(x) for x in base}
    mine_keys = {_key(x) for x in mine}
    removed = base_keys - mine_keys
    out = [x for x in theirs if _key(x) not in removed]
    seen = {_key(x) for x in out}
    for x in mine:
        k = _key(x)
        if k not in base_keys and k not in seen:
            out.append(x)
            seen.add(k)
    return out


def merge_objects(base: dict[str, Any], mine: dict[str, Any], theirs: dict[str, Any]) -> dict:
    """The field-by-field merge described in the module docstring."""
    out = dict(theirs)
    for name in dict.fromkeys([*base, *mine, *theirs]):
        b, m, t = base.get(name), mine.get(name), theirs.get(name)
        if _key(m) == _key(b):
            continue  # mine left it alone: theirs stands
        if _key(t) == _key(b):
            out[name] = m
        elif _is_set_like(m) and _is_set_like(t):
            out[name] = _merge_lists(b if isinstance(b, list) else [], m, t)
        else:
            out[name] = m
        if name not in mine:
            out.pop(name, None)
    return out


def merge_states(base: str, mine: str, theirs: str) -> str:
    """Merge serialised states (JSON objects; ``""`` is the empty state)."""
    merged = merge_objects(
        json.loads(base) if base else {},
        json.loads(mine) if mine else {},
        json.loads(theirs) if theirs else {},
    )
    return json.dumps(merged, separators=(",", ":"))


__all__ = ["merge_objects", "merge_states"]
