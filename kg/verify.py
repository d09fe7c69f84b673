"""Consistency checks of a graph: what ``kgrec graph verify`` reports.

=============================  ===============================================================
check                          a problem when
=============================  ===============================================================
nodes without id               a node has no ``id`` (nothing can reference or MERGE it)
unknown labels                 a node has no allow-listed label (:data:`kg.schema.LABELS`)
dangling <TYPE>                a core relationship joins the wrong kinds of node, e.g. an
                               ``IN_CATEGORY`` that does not end at a Category
dangling imported relations    an imported relation does not join two Product/Entity nodes
orphan entities                an Entity that no relationship reaches
products without category      a Product with no ``IN_CATEGORY`` to a Category
duplicate aliases <Label>      two Brands / Categories / Attributes answer to the same name or
                               alias (case-insensitive; attributes compare ``name=value``),
                               so linking cannot tell them apart
repeated aliases <Label>       one node lists the same alias twice
=============================  ===============================================================

Products and entities may share names (two films called "Hamlet"; two actors of one name):
they are told apart by context, so only the lexicon labels are checked for shared names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import queries as q
from . import schema
from ._cypher_base import cypher_store
from .store import GraphStore

#: (start label, core type, end label) every core relationship must join.
CORE_ENDPOINTS: tuple[tuple[str, str, str], ...] = (
    (schema.PRODUCT, schema.IN_CATEGORY, schema.CATEGORY),
    (schema.PRODUCT, schema.HAS_BRAND, schema.BRAND),
    (schema.PRODUCT, schema.HAS_ATTRIBUTE, schema.ATTRIBUTE),
    (schema.CATEGORY, schema.SUBCATEGORY_OF, schema.CATEGORY),
    (schema.USER, schema.INTERACTED, schema.PRODUCT),
)

#: Labels whose names must be unambiguous (what the linker's lexicon holds).
LEXICON_LABELS: tuple[str, ...] = (schema.BRAND, schema.CATEGORY, schema.ATTRIBUTE)


@dataclass(frozen=True, slots=True)
class Problem:
    """One failed check: how many offending things, and the first few of them."""

    check: str
    count: int
    examples: tuple[Any, ...]

    def __str__(self) -> str:
        shown = ", ".join(_show(e) for e in self.examples)
        more = " ..." if self.count > len(self.examples) else ""
        return f"{self.check}: {self.count} (e.g. {shown}{more})"


def _show(example: Any) -> str:
    if isinstance(example, list | tuple):
        return "(" + " ".join(_show(x) for x in example) + ")"
    return str(example)


def checks() -> list[tuple[str, str, dict[str, Any]]]:
    """Every check as (name, query, extra params); each query returns one row (n, examples)."""
    out: list[tuple[str, str, dict[str, Any]]] = [
        ("nodes without id", q.VERIFY_NODES_WITHOUT_ID, {}),
        ("unknown labels", q.VERIFY_UNKNOWN_LABELS, {"labels": list(schema.LABELS)}),
    ]
    for start, rel, end in CORE_ENDPOINTS:
        out.append((f"dangling {rel}", *q.verify_core_endpoints(rel, start, end)))
    core = sorted(schema.CORE_REL_TYPES)
    out += [
        ("dangling imported relations", q.VERIFY_IMPORTED_ENDPOINTS, {"core": core}),
        ("orphan entities", q.VERIFY_ORPHAN_ENTITIES, {}),
        ("products without category", q.VERIFY_PRODUCTS_WITHOUT_CATEGORY, {}),
    ]
    for lab in LEXICON_LABELS:
        out.append((f"duplicate aliases {lab}", *q.verify_shared_surfaces(lab)))
    for lab in schema.NAMED_LABELS:
        out.append((f"repeated aliases {lab}", *q.verify_repeated_aliases(lab)))
    return out


def verify_graph(store: GraphStore, limit: int = 5) -> list[Problem]:
    """Run every check; the problems found (empty when the graph is consistent)."""
    problems = []
    for name, query, params in checks():
        rows = cypher_store(store).run_read(query, {"limit": int(limit), **params})
        count, examples = (int(rows[0][0]), rows[0][1] or []) if rows else (0, [])
        if count:
            problems.append(Problem(name, count, tuple(examples)))
    return problems


__all__ = ["CORE_ENDPOINTS", "LEXICON_LABELS", "Problem", "checks", "verify_graph"]
