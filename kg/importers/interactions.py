"""User-item interactions from CSV: ``user_id,item_id,type,value,ts[,event_id]``.

The header line is optional (recognised when its first field is ``user_id``). ``type`` is an
:class:`kgrec.domain.EventType` value; ``value`` defaults to 1; ``ts`` is unix seconds or
ISO-8601. Without an ``event_id`` the row gets a deterministic one (a hash of the other
fields), so importing a file twice writes each event once. Users are created as needed; a row
naming an item that is not a Product of the graph is reported as bad and skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from kgrec.domain import EventType

from ..types import InteractionRow
from . import _existing
from ._fields import FieldError, optional_str, parse_float, parse_ts, read_csv, required
from ._loader import ImportContext, Skip, count_lines, load_source

COLUMNS = ["user_id", "item_id", "type", "value", "ts", "event_id"]
_TYPES = {e.value for e in EventType}


def event_id_for(user_id: str, item_id: str, type_: str, value: float, ts: float | None) -> str:
    """A stable id for an event given without one: equal rows get equal ids."""
    key = f"{user_id}\x1f{item_id}\x1f{type_}\x1f{value!r}\x1f{ts!r}"
    return "ev:" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:20]


def row_from_fields(fields: dict[str, str]) -> InteractionRow:
    f: dict[str, object] = dict(fields)
    user, item = required(f, "user_id"), required(f, "item_id")
    type_ = required(f, "type").lower()
    if type_ not in _TYPES:
        raise FieldError(f"type {type_!r} is not one of {', '.join(sorted(_TYPES))}")
    value = parse_float(f.get("value"), "value")
    value = 1.0 if value is None else value
    ts = parse_ts(f.get("ts"))
    event_id = optional_str(f, "event_id") or event_id_for(user, item, type_, value, ts)
    row: InteractionRow = {
        "user_id": user,
        "item_id": item,
        "type": type_,
        "value": value,
        "event_id": event_id,
    }
    if ts is not None:
        row["ts"] = ts
    return row


def _has_header(path: Path) -> bool:
    with path.open("rb") as f:
        first = f.readline().decode("utf-8", errors="replace")
    return first.lstrip("\ufeff").split(",", 1)[0].strip().lower() == "user_id"


def parse_interactions(path: Path) -> Iterator[tuple[int, InteractionRow] | Skip]:
    records = read_csv(path, fieldnames=None if _has_header(path) else COLUMNS)
    for item in records:
        if isinstance(item, Skip):
            yield item
            continue
        line, fields = item
        try:
            yield line, row_from_fields(fields)
        except FieldError as e:
            yield Skip(line, str(e))


def known_items(
    ctx: ImportContext[InteractionRow],
    pairs: list[tuple[int, InteractionRow]],
    source: str,
    path: Path,
) -> list[InteractionRow]:
    """The rows whose item is a Product; the others are reported as bad rows."""
    items = list(dict.fromkeys(r["item_id"] for _, r in pairs))
    unknown = set(_existing.missing(ctx.store, "Product", items))
    rows: list[InteractionRow] = []
    for line, r in pairs:
        if r["item_id"] in unknown:
            ctx.report.bad(source, path, line, f"unknown item_id {r['item_id']!r}")
        else:
            rows.append(r)
    return rows


def write_interactions(
    ctx: ImportContext[InteractionRow],
    pairs: list[tuple[int, InteractionRow]],
    source: str,
    path: Path,
) -> int:
    """The events whose item exists (the store creates missing users; known event ids are
    left as they are); unknown items are reported as bad rows."""
    rows = known_items(ctx, pairs, source, path)
    if rows:
        ctx.store.add_interactions(rows, ctx.options.batch_size)
    return len(rows)


def import_interactions(
    ctx: ImportContext[InteractionRow], path: Path, source: str = "interactions"
) -> None:
    load_source(
        ctx,
        source,
        path,
        parse_interactions(path),
        lambda batch: write_interactions(ctx, batch, source, path),
        total=count_lines(path),
        validate=lambda batch: known_items(ctx, batch, source, path),
    )
