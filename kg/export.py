"""Export the whole graph as re-importable JSONL (the format: :mod:`kg.export_format`).

Every node, then every relationship, in pages. ``kgrec graph import export <file>`` reads the
file back through :func:`kg.importers.export_file.import_export`; exporting, dropping and
importing gives identical stats. Vector properties (``embedding``) are written as plain
lists of floats.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import queries as q
from ._cypher_base import cypher_store
from .exceptions import SchemaNameError
from .export_format import FORMAT_VERSION, header
from .store import GraphStore

logger = logging.getLogger(__name__)

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
    cypher = cypher_store(store)
    labels = sorted(str(r[0]) for r in cypher.run_read(q.EXPORT_LABELS))
    for lab in labels:
        try:
            q.export_nodes(lab, 0, PAGE)  # refuses a label off the allow-list
        except SchemaNameError:
            skipped.append(f"label {lab!r}")
            continue
        skip = 0
        while True:
            rows = cypher.run_read(*q.export_nodes(lab, skip, PAGE))
            for node_id, node_labels, props in rows:
                props = {k: v for k, v in dict(props).items() if k != "id"}
                # a node with several labels is exported once, under its first one
                if node_labels and node_labels[0] == lab:
                    yield {"node": {"label": lab, "id": node_id, "props": _jsonable(props)}}
            if len(rows) < PAGE:
                break
            skip += PAGE


def _rel_lines(store: GraphStore, skipped: list[str]) -> Iterator[dict[str, Any]]:
    cypher = cypher_store(store)
    types = sorted(str(r[0]) for r in cypher.run_read(q.EXPORT_REL_TYPES))
    for rel in types:
        try:
            q.export_relationships(rel, 0, PAGE)  # refuses a type off the allow-list
        except SchemaNameError:
            skipped.append(f"relationship type {rel!r}")
            continue
        skip = 0
        while True:
            rows = cypher.run_read(*q.export_relationships(rel, skip, PAGE))
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
            f.write(json.dumps(header()) + "\n")
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


__all__ = ["FORMAT_VERSION", "PAGE", "ExportCounts", "export_graph"]
