"""What every query module shares: backtick-quoting of allow-listed names, the display-name
expression, and RETURN clauses built from a record's column names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import schema
from ..exceptions import SchemaNameError

Params = dict[str, Any]
#: A complete query and its parameters: what every builder returns.
Query = tuple[str, Params]

#: A node's display name: products have titles, attributes values, the rest names.
DISPLAY_NAME = "coalesce({v}.title, {v}.value, {v}.name, {v}.id)"


def quote(name: str) -> str:
    """Backtick-quote an allow-listed name (defence in depth: the name has no backtick)."""
    if "`" in name:
        raise SchemaNameError("name", f"{name!r} contains a backtick")
    return f"`{name}`"


def core_rel(rel: str) -> str:
    """A core relationship type, quoted; any other name is refused."""
    if rel not in schema.CORE_REL_TYPES:
        raise SchemaNameError("relation", f"{rel!r} is not a core relationship type")
    return quote(rel)


def any_rel_type(name: str) -> str:
    """A core type as is, or an imported one through the allow-list normaliser."""
    return name if name in schema.CORE_REL_TYPES else schema.relation_type(name)


def returning(columns: Sequence[str], exprs: Mapping[str, str], wrap: Sequence[int] = ()) -> str:
    """``RETURN expr AS column, ...`` in the order of ``columns`` (a record's column tuple).

    ``exprs`` maps a column to its expression; a column absent from it is returned as the
    variable of that name. A line break goes before each column index in ``wrap``.
    """
    out = []
    for i, col in enumerate(columns):
        expr = exprs.get(col, col)
        if i:
            out.append(",\n       " if i in wrap else ", ")
        out.append(col if expr == col else f"{expr} AS {col}")
    return "RETURN " + "".join(out)
