"""The JSONL export format, shared by the writer (:mod:`kg.export`) and the reader
(:mod:`kg.importers.export_file`), which must not import each other.

One JSON object per line::

    {"kgrec_export": 1}                                               header
    {"node": {"label": "Product", "id": "p1", "props": {...}}}        every node, by label
    {"rel": {"type": "IN_CATEGORY", "start_label": "Product", "start": "p1",
             "end_label": "Category", "end": "cat:x", "props": {...}}}  every relationship

Nodes come before relationships, so a file imports in one pass. ``props`` holds every
property except ``id``. Relationships carrying an ``event_id`` (interactions) are merged on
it; the others are merged on (start, type, end).
"""

from __future__ import annotations

from typing import Any

#: The version the header line names; a reader refuses any other.
FORMAT_VERSION = 1

#: The key of the header line.
HEADER_KEY = "kgrec_export"


def header() -> dict[str, Any]:
    """The first line of an export file."""
    return {HEADER_KEY: FORMAT_VERSION}


def is_header(obj: dict[str, Any]) -> bool:
    """Whether ``obj`` is the header of a file in this format version."""
    return obj.get(HEADER_KEY) == FORMAT_VERSION


__all__ = ["FORMAT_VERSION", "HEADER_KEY", "header", "is_header"]
