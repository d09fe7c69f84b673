"""The ground floor of the Cypher stores: the backend primitives, the public query methods
importers use, and the mapping of result rows to records.

Rows are read by the column tuples of :mod:`kg.types` (:func:`named`), the same tuples the
queries of :mod:`kg.queries` build their RETURN clauses from.
"""

from __future__ import annotations

import math
import threading
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar

from kgrec.errors import ConfigError, InvalidInputError

from ._product_cache import ProductCache
from .dialect import Dialect
from .store import GraphStore
from .types import (
    PRODUCT_COLUMNS,
    SESSION_COLUMNS,
    STORED_EVENT_COLUMNS,
    ProductRecord,
    SessionRecord,
    StoredEvent,
)

Params = dict[str, Any]
Row = list[Any]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Written:
    """What a write query returned and changed."""

    rows: list[Row]
    nodes_created: int = 0
    relationships_created: int = 0


def batched(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    if size < 1:
        raise InvalidInputError("batch_size", f"must be >= 1, got {size}")
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def _str(value: Any, default: str = "") -> str:
    return default if value is None else str(value)


def _aliases(row: Any) -> list[str]:
    return [str(a) for a in (row.get("aliases") or ()) if a]


def _float_or_none(value: Any, field: str = "price") -> float | None:
    if value is None or value == "":
        return None
    try:
        f = float(value)
    except (TypeError, ValueError) as e:
        raise InvalidInputError(field, f"not a number: {value!r}") from e
    return f if math.isfinite(f) else None


def _float(value: Any, field: str) -> float:
    f = _float_or_none(value, field)
    return 0.0 if f is None else f


def _require_id(row: Any, key: str = "id") -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidInputError(key, f"every row needs a non-empty string {key!r}: {row!r}")
    return value


def named(columns: Sequence[str], row: Row) -> dict[str, Any]:
    """A result row as ``{column: value}``; a row of another width is a query/record mismatch
    and raises ``ValueError``."""
    return dict(zip(columns, row, strict=True))


def product_record(row: Row) -> ProductRecord:
    """Map a row of :data:`kg.queries.PRODUCTS` (:data:`kg.types.PRODUCT_COLUMNS`)."""
    r = named(PRODUCT_COLUMNS, row)
    attrs = sorted(
        {a[0]: a for a in (r["attributes"] or ()) if a and a[0] is not None}.values(),
        key=lambda a: a[0],
    )
    brand = r["brand"] if r["brand"] and r["brand"][0] is not None else None
    category = r["category"] if r["category"] and r["category"][0] is not None else None
    price = r["price"]
    return ProductRecord(
        id=r["id"],
        title=_str(r["title"]),
        description=_str(r["description"]),
        price=None if price is None else float(price),
        currency=_str(r["currency"], "USD") or "USD",
        image_ref=_str(r["image_ref"]),
        brand_id=_str(brand[0]) if brand else "",
        brand=_str(brand[1]) if brand else "",
        category_id=_str(category[0]) if category else "",
        category=_str(category[1]) if category else "",
        attributes=tuple((_str(a[1]), _str(a[2])) for a in attrs),
        attribute_ids=tuple(_str(a[0]) for a in attrs),
        popularity=float(r["popularity"] or 0.0),
    )


def session_record(row: Row) -> SessionRecord:
    """Map a session row (:data:`kg.types.SESSION_COLUMNS`)."""
    r = named(SESSION_COLUMNS, row)
    return SessionRecord(
        id=r["id"],
        user_id=_str(r["user_id"]),
        created_at=float(r["created_at"] or 0.0),
        updated_at=float(r["updated_at"] or 0.0),
        state=_str(r["state"]),
        version=int(r["version"] or 0),
    )


def stored_event(row: Row) -> StoredEvent:
    """Map a row of :data:`kg.queries.USER_EVENTS` (:data:`kg.types.STORED_EVENT_COLUMNS`)."""
    r = named(STORED_EVENT_COLUMNS, row)
    return StoredEvent(
        event_id=_str(r["event_id"]),
        user_id=_str(r["user_id"]),
        item_id=_str(r["item_id"]),
        type=_str(r["type"]),
        value=float(r["value"] or 0.0),
        ts=float(r["ts"] or 0.0),
    )


class CypherBase(GraphStore):
    """What a backend provides (``_read``, ``_write``, ``_ddl``, ``_create_unique_ids``) and
    the public query methods built on them."""

    dialect: Dialect

    def __init__(
        self,
        *,
        embedding_dim: int | None = None,
        cache_ttl: float = 60.0,
        filter_index: bool = True,
    ) -> None:
        self.embedding_dim = embedding_dim
        self.filter_index = filter_index
        self._cache = ProductCache(ttl=cache_ttl)
        self._filters_lock = threading.Lock()
        self._filters_thread: threading.Thread | None = None

    # -- backend primitives -------------------------------------------------------------------

    @abstractmethod
    def _read(self, query: str, params: Params | None = None) -> list[Row]:
        """Run a read-only query (read routing); rows as lists in column order."""

    @abstractmethod
    def _write(self, query: str, params: Params | None = None) -> Written:
        """Run a write query in one transaction."""

    @abstractmethod
    def _ddl(self, statement: str, params: Params | None = None) -> None:
        """Run a schema statement; "already exists" is success."""

    @abstractmethod
    def _create_unique_ids(self) -> None:
        """Unique ``id`` on every label."""

    # -- public queries (importers, export, verify) -------------------------------------------

    def run_read(self, query: str, params: Params | None = None) -> list[Row]:
        """Run a read-only query of :mod:`kg.queries`; rows as lists in column order.

        For the graph admin tooling (importers, export, verify); the query must come from
        :mod:`kg.queries` (values as parameters, names through the schema allow-lists).
        """
        return self._read(query, params)

    def run_write(self, query: str, params: Params | None = None) -> Written:
        """Run a write query of :mod:`kg.queries` in one transaction (as :meth:`run_read`).
        An import writes through here, so the cached catalog facts are dropped."""
        written = self._write(query, params)
        self._cache.clear()
        return written


def cypher_store(store: GraphStore) -> CypherBase:
    """``store`` as a Cypher store, or ``ConfigError`` for a store that cannot run Cypher."""
    if not isinstance(store, CypherBase):
        raise ConfigError(f"{type(store).__name__} cannot run the graph admin queries")
    return store


__all__ = [
    "CypherBase",
    "Params",
    "Row",
    "Written",
    "batched",
    "cypher_store",
    "named",
    "product_record",
    "session_record",
    "stored_event",
]


def degree_summary(degrees: Iterable[int]) -> dict[str, float]:
    """min / mean / p50 / p99 / max of product degrees (``{}`` with no product)."""
    ds = sorted(degrees)
    if not ds:
        return {}

    def pct(q: float) -> float:
        return float(ds[min(len(ds) - 1, int(q * (len(ds) - 1) + 0.5))])

    return {
        "min": float(ds[0]),
        "mean": sum(ds) / len(ds),
        "p50": pct(0.5),
        "p99": pct(0.99),
        "max": float(ds[-1]),
    }
