"""Export the whole graph as re-importable JSONL, and import such a file.

Format (one JSON object per line)::

    {"kgrec_export": 1}                                               header
    {"node": {"label": "Product", "id": "p1", "props": {...}}}        every node, by label
    {"rel": {"type": "IN_CATEGORY", "start_label": "Product", "start": "p1",
             "end_label": "Category", "end": "cat:x", "props": {...}}}  every relationship

Nodes come before relationships, so a file imports in one pass. ``props`` holds every
property except ``id``. Relationships carrying an ``event_id`` (interactions) are merged on
it; the others are merged on (start, type, end). ``kgrec graph import export <file>`` reads it
back through :func:`import_export`; exporting, dropping and importing gives identical stats.
Vector properties (``embedding``) are written as plain lists of floats.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import queries as q
from . import schema
from .exceptions import SchemaNameError
from .importers._cypher import read, write
from .importers._loader import ImportContext, Skip, count_lines, load_source, numbered_lines
from .store import GraphStore

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
PAGE = 20_000


@dataclass(frozen=True, slots=True)
class ExportCounts:
    nodes: int
    relationships: int
    path: Path


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _node_lines(store: GraphStore, skipped: list[str]) -> Iterator[dict[str, Any]]:
    labels = sorted(str(r[0]) for r in read(store, q.EXPORT_LABELS))
    for lab in labels:
        try:
            query = q.export_nodes(lab)
        except SchemaNameError:
            skipped.append(f"label {lab!r}")
            continue
        skip = 0
        while True:
            rows = read(store, query, {"skip": skip, "limit": PAGE})
            for node_id, node_labels, props in rows:
                props = {k: v for k, v in dict(props).items() if k != "id"}
                # a node with several labels is exported once, under its first one
                if node_labels and node_labels[0] == lab:
                    yield {"node": {"label": lab, "id": node_id, "props": _jsonable(props)}}
            if len(rows) < PAGE:
                break
            skip += PAGE


def _rel_lines(store: GraphStore, skipped: list[str]) -> Iterator[dict[str, Any]]:
    types = sorted(str(r[0]) for r in read(store, q.EXPORT_REL_TYPES))
    for rel in types:
        try:
            query = q.export_relationships(rel)
        except SchemaNameError:
            skipped.append(f"relationship type {rel!r}")
            continue
        skip = 0
        while True:
            rows = read(store, query, {"skip": skip, "limit": PAGE})
            for start_label, start, end_label, end, props in rows:
                yield {
                    "rel": {
                        "type": rel,
                        "start_label": start_label,
                        "start": start,
                        "end_label": end_label,
                        "end": end,
                        "props": _jsonable(dict(props)),
                    }
                }
            if len(rows) < PAGE:
                break
            skip += PAGE


def export_graph(store: GraphStore, out: Path) -> ExportCounts:
    """Write every node and relationship to ``out`` (atomically: a temp file, then rename)."""
    out = out.expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    skipped: list[str] = []
    nodes = rels = 0
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps({"kgrec_export": FORMAT_VERSION}) + "\n")
            for obj in _node_lines(store, skipped):
                f.write(json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n")
                nodes += 1
            for obj in _rel_lines(store, skipped):
                f.write(json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n")
                rels += 1
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would have created it
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for what in skipped:
        logger.warning("not exported (not on the schema allow-list): %s", what)
    return ExportCounts(nodes=nodes, relationships=rels, path=out)


# -- import -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Node:
    label: str
    id: str
    props: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Rel:
    type: str
    start_label: str
    start: str
    end_label: str
    end: str
    props: dict[str, Any]


def _str_field(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"missing or non-string {key!r}")
    return value


def parse_export(path: Path) -> Iterator[tuple[int, _Node | _Rel] | Skip]:
    header_seen = False
    for item in numbered_lines(path):
        if isinstance(item, Skip):
            yield item
            continue
        line, text = item
        try:
            obj = json.loads(text)
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")
            if not header_seen:
                if obj.get("kgrec_export") != FORMAT_VERSION:
                    yield Skip(line, f"not a kgrec export (version {FORMAT_VERSION}) header")
                    return
                header_seen = True
                continue
            if isinstance(obj.get("node"), dict):
                n = obj["node"]
                props = n.get("props") or {}
                if not isinstance(props, dict):
                    raise ValueError("props must be an object")
                label = schema.label(_str_field(n, "label"))
                yield line, _Node(label, _str_field(n, "id"), props)
            elif isinstance(obj.get("rel"), dict):
                r = obj["rel"]
                props = r.get("props") or {}
                if not isinstance(props, dict):
                    raise ValueError("props must be an object")
                rel_type = _str_field(r, "type")
                q.import_relationships(  # validates the labels and the type
                    _str_field(r, "start_label"), rel_type, _str_field(r, "end_label"), False
                )
                yield (
                    line,
                    _Rel(
                        rel_type,
                        r["start_label"],
                        _str_field(r, "start"),
                        r["end_label"],
                        _str_field(r, "end"),
                        props,
                    ),
                )
            else:
                raise ValueError('expected a "node" or a "rel" object')
        except SchemaNameError as e:
            yield Skip(line, e.message)
        except ValueError as e:
            yield Skip(line, str(e))


def _write_export_batch(ctx: ImportContext[Any], batch: list[tuple[int, _Node | _Rel]]) -> int:
    nodes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rels: dict[tuple[str, str, str, bool], list[dict[str, Any]]] = defaultdict(list)
    for _, item in batch:
        if isinstance(item, _Node):
            nodes[item.label].append({"id": item.id, "props": item.props})
        else:
            key = item.props.get("event_id")
            keyed = isinstance(key, str) and bool(key)
            rels[(item.start_label, item.type, item.end_label, keyed)].append(
                {"start": item.start, "end": item.end, "key": key, "props": item.props}
            )
    for label, rows in nodes.items():
        write(ctx.store, q.import_nodes(label), {"rows": rows})
    for (a, rel, b, keyed), rows in rels.items():
        write(ctx.store, q.import_relationships(a, rel, b, keyed), {"rows": rows})
    return len(batch)


def import_export(ctx: ImportContext[Any], path: Path) -> None:
    """Load a file written by :func:`export_graph` (nodes first, then relationships)."""
    records = parse_export(path)
    write_batch = lambda batch: _write_export_batch(ctx, batch)  # noqa: E731
    load_source(ctx, "export", path, records, write_batch, total=count_lines(path))
