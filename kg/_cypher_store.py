"""The backend-independent half of the graph store: everything above "run this Cypher".

:class:`CypherStore` implements :class:`kg.store.GraphStore` on top of four primitives a
backend provides (``_read``, ``_write``, ``_ddl``, ``_create_unique_ids``) plus ``ping``,
``close`` and ``drop_all``. The Cypher comes from :mod:`kg.queries` and :mod:`kg.dialect`;
the primitives and row mapping live in :mod:`kg._cypher_base`, sessions and feedback in
:mod:`kg._cypher_sessions`, candidates and product records in :mod:`kg._cypher_candidates`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from kgrec.domain import KgPath
from kgrec.errors import InvalidInputError

from . import queries, schema
from ._cypher_base import (
    Params,
    Row,
    Written,
    _aliases,
    _float,
    _float_or_none,
    _require_id,
    _str,
    batched,
    cypher_store,
    degree_summary,
    product_record,
)
from ._cypher_candidates import CypherCandidates
from ._cypher_paths import path_order, take_paths
from .dialect import EDGE_INDEXES
from .store import DEFAULT_BATCH
from .types import (
    PATH_COLUMNS,
    PATH_TRIP_COLUMNS,
    AttributeRow,
    BrandRow,
    CategoryRow,
    EntityHit,
    EntityRow,
    GraphStats,
    InteractionRow,
    LexiconEntry,
    ProductRow,
    TripleRow,
    UserRow,
)

logger = logging.getLogger(__name__)


class CypherStore(CypherCandidates):
    """Shared implementation; subclasses connect to one database."""

    # -- schema -------------------------------------------------------------------------------

    def init_schema(self) -> None:
        self._create_unique_ids()
        for rel, prop in EDGE_INDEXES:
            self._ddl(self.dialect.edge_index(rel, prop))
        for prop in schema.PRODUCT_INDEXED_PROPS:
            self._ddl(self.dialect.node_index(schema.PRODUCT, prop))
        for lab in schema.FULLTEXT_FIELDS:
            self._ddl(*self.dialect.fulltext_create(lab))
        if self.embedding_dim:
            self._ddl(self.dialect.vector_create(self.embedding_dim))

    # -- bulk loading -------------------------------------------------------------------------

    def _load(
        self, query: str, rows: Iterable[Any], batch_size: int, norm: Callable[[Any], Params]
    ) -> int:
        n = 0
        for chunk in batched(rows, batch_size):
            self._write(query, {"rows": [norm(r) for r in chunk]})
            n += len(chunk)
        return n

    def _replace_links(self, src: str, rel: str, dst: str, rows: list[Params]) -> None:
        if rows:
            self._write(*queries.unlink_stale(src, rel, dst, rows))
            self._write(*queries.link(src, rel, dst, rows))

    def upsert_categories(
        self, rows: Iterable[CategoryRow], batch_size: int = DEFAULT_BATCH
    ) -> int:
        # Parents may come after children: write all nodes first, then the tree edges.
        all_rows = [self._named(r) | {"parent_id": r.get("parent_id")} for r in rows]
        n = self._load(queries.UPSERT_CATEGORIES, all_rows, batch_size, lambda r: r)
        for chunk in batched(all_rows, batch_size):
            links = [
                {"id": r["id"], "targets": [r["parent_id"]] if r["parent_id"] else []}
                for r in chunk
            ]
            self._replace_links(schema.CATEGORY, schema.SUBCATEGORY_OF, schema.CATEGORY, links)
        if all_rows:  # ancestors changed only in the written categories' subtrees
            ids = {"ids": [r["id"] for r in all_rows]}
            self._write(queries.REFRESH_SUBTREE_ANCESTORS, ids)
            self._write(queries.REFRESH_SUBTREE_FILTER_PROPS, ids)
            self._cache.clear()
        return n

    def upsert_brands(self, rows: Iterable[BrandRow], batch_size: int = DEFAULT_BATCH) -> int:
        self._cache.clear()
        return self._load(queries.UPSERT_BRANDS, rows, batch_size, self._named)

    def upsert_attributes(
        self, rows: Iterable[AttributeRow], batch_size: int = DEFAULT_BATCH
    ) -> int:
        def norm(r: AttributeRow) -> Params:
            return self._named(r) | {"value": _str(r.get("value"))}

        self._cache.clear()
        return self._load(queries.UPSERT_ATTRIBUTES, rows, batch_size, norm)

    def upsert_entities(self, rows: Iterable[EntityRow], batch_size: int = DEFAULT_BATCH) -> int:
        def norm(r: EntityRow) -> Params:
            return self._named(r) | {"type": _str(r.get("type"))}

        self._cache.clear()  # entities are named on explanations' paths and linked in the snapshot
        return self._load(queries.UPSERT_ENTITIES, rows, batch_size, norm)

    def upsert_users(self, rows: Iterable[UserRow], batch_size: int = DEFAULT_BATCH) -> int:
        return self._load(
            queries.UPSERT_USERS,
            rows,
            batch_size,
            lambda r: {"id": _require_id(r), "name": _str(r.get("name"))},
        )

    @staticmethod
    def _named(r: Any) -> Params:
        aliases = _aliases(r)
        name = _str(r.get("name"))
        # an attribute is found by its value first ("red"), then its name ("color")
        value = _str(r.get("value")) if "value" in r else None
        return {
            "id": _require_id(r),
            "name": name,
            "aliases": aliases,
            "search_text": schema.search_text(value, name, aliases),
        }

    def upsert_products(self, rows: Iterable[ProductRow], batch_size: int = DEFAULT_BATCH) -> int:
        """Products; their category, brand and attributes must be loaded first.

        A row that names ``category_id`` / ``brand_id`` / ``attribute_ids`` replaces the
        product's existing links of that kind; a row without the key leaves them alone.
        """
        n = 0
        for chunk in batched(rows, batch_size):
            nodes = []
            cats: list[Params] = []
            brands: list[Params] = []
            attrs: list[Params] = []
            for r in chunk:
                pid = _require_id(r)
                aliases = _aliases(r)
                nodes.append(
                    {
                        "id": pid,
                        "title": _str(r.get("title")),
                        "description": _str(r.get("description")),
                        "price": _float_or_none(r.get("price")),
                        "currency": _str(r.get("currency"), "USD") or "USD",
                        "image_ref": _str(r.get("image_ref")),
                        "aliases": aliases,
                        "search_text": schema.search_text(_str(r.get("title")), aliases),
                    }
                )
                if "category_id" in r:
                    cid = r.get("category_id")
                    cats.append({"id": pid, "targets": [cid] if cid else []})
                if "brand_id" in r:
                    bid = r.get("brand_id")
                    brands.append({"id": pid, "targets": [bid] if bid else []})
                if "attribute_ids" in r:
                    attrs.append(
                        {"id": pid, "targets": [str(a) for a in r.get("attribute_ids") or () if a]}
                    )
            self._write(queries.UPSERT_PRODUCTS, {"rows": nodes})
            self._replace_links(schema.PRODUCT, schema.IN_CATEGORY, schema.CATEGORY, cats)
            self._replace_links(schema.PRODUCT, schema.HAS_BRAND, schema.BRAND, brands)
            self._replace_links(schema.PRODUCT, schema.HAS_ATTRIBUTE, schema.ATTRIBUTE, attrs)
            self._write(queries.REFRESH_FILTER_PROPS, {"ids": [r["id"] for r in nodes]})
            n += len(chunk)
        self._cache.clear()
        return n

    def add_interactions(
        self, rows: Iterable[InteractionRow], batch_size: int = DEFAULT_BATCH
    ) -> int:
        """Returns the number of new interactions (rows with known event ids or unknown
        products are skipped). Creates missing users; keeps ``popularity`` current."""
        created = 0
        for chunk in batched(rows, batch_size):
            params: dict[str, Params] = {}
            for r in chunk:
                event_id = _require_id(r, "event_id")
                etype = _str(r.get("type"))
                value = _float(r.get("value"), "value")
                params.setdefault(  # a repeated event id within the batch: the first wins
                    event_id,
                    {
                        "user_id": _require_id(r, "user_id"),
                        "item_id": _require_id(r, "item_id"),
                        "event_id": event_id,
                        "type": etype,
                        "value": value,
                        "ts": _float(r.get("ts"), "ts"),
                        "idempotency_key": _str(r.get("idempotency_key")) or None,
                        "session_id": _str(r.get("session_id")),
                        "positive": int(schema.is_positive(etype, value)),
                    },
                )
            written = self._write(queries.ADD_INTERACTIONS, {"rows": list(params.values())})
            created += written.relationships_created
        return created

    def add_triples(self, rows: Iterable[TripleRow], batch_size: int = DEFAULT_BATCH) -> int:
        """Returns the number of new relationships. Relation names are normalised with
        :func:`kg.schema.relation_type` (an invalid one raises before anything is written
        for its batch); triples whose head or tail does not exist are skipped."""
        self._cache.clear()  # new edges: new paths, new one-hop neighbours in the snapshot
        created = 0
        for chunk in batched(rows, batch_size):
            by_type: dict[str, list[Params]] = defaultdict(list)
            for r in chunk:
                rel = schema.relation_type(r["relation"])
                by_type[rel].append(
                    {"head": _require_id(r, "head"), "tail": _require_id(r, "tail")}
                )
            for rel, params in sorted(by_type.items()):
                created += self._write(*queries.add_triples(rel, params)).relationships_created
        return created

    # -- reads --------------------------------------------------------------------------------

    def has_products(self) -> bool:
        return bool(self._read(queries.ANY_PRODUCT))

    def stats(self) -> GraphStats:
        nodes = {str(lab): int(n) for lab, n in self._read(queries.COUNT_NODES_BY_LABEL)}
        rels = {str(t): int(n) for t, n in self._read(queries.COUNT_RELATIONSHIPS_BY_TYPE)}
        summary = degree_summary(int(d) for (d,) in self._read(queries.PRODUCT_DEGREES))
        return GraphStats(
            nodes=dict(sorted(nodes.items())),
            relationships=dict(sorted(rels.items())),
            degree=summary,
        )

    def lexicon(
        self, labels: Sequence[str] = ("Brand", "Category", "Attribute")
    ) -> list[LexiconEntry]:
        out: list[LexiconEntry] = []
        for lab in labels:
            for node_id, name, aliases in self._read(*queries.lexicon(lab)):
                name = _str(name)
                seen: set[str] = set()
                for surface in [name, *(aliases or ())]:
                    surface = _str(surface)
                    if surface and surface not in seen:
                        seen.add(surface)
                        out.append(
                            LexiconEntry(entity_id=node_id, label=lab, name=name, surface=surface)
                        )
        return out

    def fulltext(self, text: str, labels: Sequence[str], k: int = 10) -> list[EntityHit]:
        if k <= 0:
            return []
        hits: list[EntityHit] = []
        for lab in labels:
            query, params = self.dialect.fulltext_query(lab, text, k)
            if not params["query"]:
                return []  # no words: nothing can match literally
            for node_id, name, score in self._read(query, params):
                hits.append(
                    EntityHit(entity_id=node_id, label=lab, name=_str(name), score=float(score))
                )
        hits.sort(key=lambda h: (-h.score, h.entity_id))
        return hits[:k]

    def paths(
        self, source_ids: Sequence[str], item_ids: Sequence[str], max_hops: int = 2, k: int = 3
    ) -> dict[str, list[KgPath]]:
        """Paths run source -> ... -> item (edges may point either way along them, and
        ``KgPath.forward`` records which way each points); shorter paths first; a path never
        visits a node twice. Up to ``ONE_TRIP_MAX_HOPS`` hops, each item's paths from the same
        sources are cached (:class:`kg._product_cache.ProductCache`): one round trip for the
        items not seen lately."""
        if not source_ids or not item_ids or k <= 0:
            return {}
        if not 1 <= max_hops <= queries.MAX_PATH_HOPS:
            raise InvalidInputError(
                "max_hops", f"must be in 1..{queries.MAX_PATH_HOPS}, got {max_hops}"
            )
        sources = list(dict.fromkeys(source_ids))
        out: dict[str, list[KgPath]] = {i: [] for i in dict.fromkeys(item_ids)}
        seen: set[tuple[Any, ...]] = set()
        if max_hops <= queries.ONE_TRIP_MAX_HOPS:
            key, generation = (tuple(sources), max_hops, k), self._cache.generation
            known = self._cache.get_paths(key, list(out))
            fresh: dict[str, list[KgPath]] = {i: [] for i in out if i not in known}
            if fresh:  # an item's paths do not depend on the other items asked with it
                into = self._into_item_types() if max_hops == 2 else ()
                cypher, params = queries.paths_one_trip(sources, list(fresh), max_hops, into)
                rows = self._named_rows(PATH_TRIP_COLUMNS, cypher, params)
                take_paths(sorted(rows, key=path_order), fresh, seen, k)
                self._cache.put_paths(key, fresh, generation)
            found = {**known, **fresh}
            return {i: list(found[i]) for i in out if found[i]}
        for hops in range(1, max_hops + 1):
            todo = [i for i, ps in out.items() if len(ps) < k]
            if not todo:
                break
            cypher, params = queries.paths(sources, todo, hops, limit=len(todo) * k * 8)
            rows = self._named_rows(PATH_COLUMNS, cypher, params)
            for r in rows:  # the one-trip order, within the rows this hop's LIMIT kept
                r |= {"hops": hops, "source_pos": sources.index(r["nodes"][0][1]), "item_pos": 0}
            take_paths(sorted(rows, key=path_order), out, seen, k)
        return {i: ps for i, ps in out.items() if ps}

    def _into_item_types(self) -> tuple[str, ...]:
        """The relationship types a two-hop path may enter a product by
        (:func:`kg.queries.into_item_types`), read once per cache lifetime."""
        types = self._cache.get_into_item_types()
        if types is None:
            generation = self._cache.generation
            rows = self._read(queries.RELATIONSHIP_TYPES)
            types = queries.into_item_types([str(r[0]) for r in rows])
            self._cache.put_into_item_types(types, generation)
        return types

    # -- vectors (optional: only with ``embedding_dim``) --------------------------------------

    def set_product_embeddings(
        self, rows: Iterable[tuple[str, Sequence[float]]], batch_size: int = DEFAULT_BATCH
    ) -> int:
        """Store ``Product.embedding`` (``embedding_dim`` floats) for ``(id, vector)`` pairs.

        Not part of :class:`GraphStore`: only this backend family has vector indexes.
        """
        n = 0
        dim = self.embedding_dim
        for chunk in batched(rows, batch_size):
            params = []
            for pid, vec in chunk:
                values = [float(x) for x in vec]
                if dim is not None and len(values) != dim:
                    raise InvalidInputError(
                        "embedding", f"{pid!r}: {len(values)} values, want {dim}"
                    )
                params.append({"id": pid, "embedding": values})
            self._write(self.dialect.vector_set(), {"rows": params})
            n += len(chunk)
        return n

    def nearest_products(self, vector: Sequence[float], k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` products nearest to ``vector`` as ``(id, cosine distance)``, nearest first.

        Needs ``embedding_dim`` (the vector index) and :meth:`set_product_embeddings`.
        """
        if k <= 0:
            return []
        cypher, params = self.dialect.vector_query([float(x) for x in vector], k)
        return [(str(i), float(s)) for i, s in self._read(cypher, params)]


__all__ = [
    "CypherStore",
    "Params",
    "Row",
    "Written",
    "batched",
    "cypher_store",
    "product_record",
]
