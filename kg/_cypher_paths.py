"""Path rows to :class:`kgrec.domain.KgPath`: the part of :meth:`CypherStore.paths` above the
query (which rows to keep, in which order)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kgrec.domain import KgPath, PathNode

from ._cypher_base import _str


def path_order(row: dict[str, Any]) -> tuple[Any, ...]:
    """Shorter paths first, then by the source's place in the caller's list (what the shopper
    said first), then by relations and node ids: the same order on every backend."""
    nodes = [str(n[1]) for n in row["nodes"]]
    return (row["hops"], row["source_pos"], row["item_pos"], row["rels"], nodes, row["starts"])


def take_paths(
    rows: Iterable[dict[str, Any]],
    out: dict[str, list[KgPath]],
    seen: set[tuple[Any, ...]],
    k: int,
) -> None:
    """Add each row's path to ``out[item]`` until it holds ``k``; a path that visits a node
    twice, or was seen before (``seen``, updated), is skipped."""
    for row in rows:
        nodes, rels, starts = row["nodes"], row["rels"], row["starts"]
        ids = [n[1] for n in nodes]
        key = (tuple(ids), tuple(rels))
        found = out[row["item_id"]]
        if len(set(ids)) != len(ids) or key in seen or len(found) >= k:
            continue
        seen.add(key)
        path_nodes = tuple(
            PathNode(id=_str(n[1]), label=_str(n[0]), name=_str(n[2])) for n in nodes
        )
        # edge j joins ids[j] and ids[j + 1]: forward when it starts at ids[j]
        forward = tuple(start == ids[j] for j, start in enumerate(starts))
        found.append(
            KgPath(nodes=path_nodes, relations=tuple(str(r) for r in rels), forward=forward)
        )


__all__ = ["path_order", "take_paths"]
