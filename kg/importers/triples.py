"""Knowledge-graph triples from a TSV file: ``head <TAB> relation <TAB> tail``.

A header line (``head relation tail``, or RecBole's ``head_id:token ...``) is recognised and
skipped. Relation names go through the allow-list normaliser :func:`kg.schema.relation_type`;
a name it rejects makes the row bad. Heads and tails are node ids; an id that is not yet a
node of the graph becomes an ``Entity`` named after its id (import products and entities first
to get real names).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..exceptions import SchemaNameError
from ..schema import relation_type
from ..types import EntityRow, TripleRow
from . import _existing
from ._fields import name_from_id
from ._loader import ImportContext, Skip, count_lines, load_source, numbered_lines

_HEADERS = ({"head", "relation", "tail"}, {"head_id:token", "relation_id:token", "tail_id:token"})


def normalise_relation(name: str) -> str:
    """The allow-listed relationship type for a source relation name; ``ValueError`` if none."""
    try:
        return relation_type(name)
    except SchemaNameError as e:
        raise ValueError(e.message) from e


def parse_triples(path: Path) -> Iterator[tuple[int, TripleRow] | Skip]:
    first = True
    for item in numbered_lines(path):
        if isinstance(item, Skip):
            yield item
            continue
        line, text = item
        parts = [p.strip() for p in text.split("\t")]
        if first:
            first = False
            if {p.lower() for p in parts} in _HEADERS:
                continue
        if len(parts) != 3:
            yield Skip(
                line, f"expected 3 tab-separated fields (head, relation, tail), got {len(parts)}"
            )
            continue
        head, relation, tail = parts
        if not head or not relation or not tail:
            yield Skip(line, "empty head, relation or tail")
            continue
        try:
            rel = normalise_relation(relation)
        except ValueError as e:
            yield Skip(line, f"relation {relation!r} not allowed: {e}")
            continue
        yield line, {"head": head, "relation": rel, "tail": tail}


def write_triples(ctx: ImportContext[TripleRow], pairs: list[tuple[int, TripleRow]]) -> int:
    rows = [r for _, r in pairs]
    ids = list(dict.fromkeys(i for r in rows for i in (r["head"], r["tail"])))
    missing = _existing.missing(ctx.store, None, ids)
    if missing:
        entities: list[EntityRow] = [{"id": i, "name": name_from_id(i)} for i in missing]
        ctx.store.upsert_entities(entities, ctx.options.batch_size)
    ctx.store.add_triples(rows, ctx.options.batch_size)  # returns only the new relationships
    return len(rows)


def import_triples(ctx: ImportContext[TripleRow], path: Path) -> None:
    load_source(
        ctx,
        "triples",
        path,
        parse_triples(path),
        lambda batch: write_triples(ctx, batch),
        total=count_lines(path),
    )
