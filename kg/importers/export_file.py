"""Import a file written by ``kgrec graph export`` (the format: :mod:`kg.export_format`).

Nodes are merged on their id, relationships on ``event_id`` when they carry one
(interactions) and otherwise on (start, type, end); every exported property is set again.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import queries as q
from .. import schema
from ..exceptions import SchemaNameError
from ..export_format import FORMAT_VERSION, is_header
from ._cypher import write
from ._loader import ImportContext, Skip, count_lines, load_source, numbered_lines


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
                if not is_header(obj):
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
                    _str_field(r, "start_label"), rel_type, _str_field(r, "end_label"), False, []
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
        write(ctx.store, *q.import_nodes(label, rows))
    for (a, rel, b, keyed), rows in rels.items():
        write(ctx.store, *q.import_relationships(a, rel, b, keyed, rows))
    return len(batch)


def import_export(ctx: ImportContext[Any], path: Path) -> None:
    """Load a file written by :func:`kg.export.export_graph` (nodes, then relationships)."""
    records = parse_export(path)
    write_batch = lambda batch: _write_export_batch(ctx, batch)  # noqa: E731
    load_source(ctx, "export", path, records, write_batch, total=count_lines(path))


__all__ = ["import_export", "parse_export"]
