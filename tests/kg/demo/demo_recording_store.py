"""An in-memory ``GraphStore`` that records bulk loads and checks references, for demo tests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from kg.store import DEFAULT_BATCH, GraphStore
from kg.types import (
    AttributeRow,
    BrandRow,
    Candidate,
    CandidateQuery,
    CategoryRow,
    EntityHit,
    EntityRow,
    GraphStats,
    InteractionRow,
    LexiconEntry,
    ProductRecord,
    ProductRow,
    SessionRecord,
    StoredEvent,
    TripleRow,
    UserDataCounts,
    UserRow,
)
from kgrec.domain import FeedbackEvent, FeedbackResult, KgPath


class RecordingStore(GraphStore):
    """Keeps rows by id, logs every call, and fails a load whose references are missing."""

    def __init__(self) -> None:
        self.uri = "memory://"
        self.calls: list[tuple[str, int, int]] = []  # (method, rows in call, batch_size)
        self.nodes: dict[str, dict[str, dict[str, Any]]] = {
            k: {} for k in ("categories", "brands", "attributes", "products", "users")
        }
        self.events: dict[str, InteractionRow] = {}
        self.schema_ready = False

    def _put(self, kind: str, rows: Iterable[Any], batch_size: int) -> int:
        if not self.schema_ready:
            raise AssertionError("init_schema must come before any load")
        rows = list(rows)
        self.calls.append((kind, len(rows), batch_size))
        for row in rows:
            self.nodes[kind][row["id"]] = dict(row)
        return len(rows)

    @staticmethod
    def _need(ids: dict[str, Any], ref: str | None, what: str) -> None:
        if ref is not None and ref not in ids:
            raise AssertionError(f"{what} {ref!r} loaded before it exists")

    # -- lifecycle
    def ping(self) -> None:
        pass

    def close(self) -> None:
        pass

    def init_schema(self) -> None:
        self.calls.append(("init_schema", 0, 0))
        self.schema_ready = True

    def drop_all(self) -> None:
        raise NotImplementedError

    # -- bulk loads
    def upsert_categories(
        self, rows: Iterable[CategoryRow], batch_size: int = DEFAULT_BATCH
    ) -> int:
        rows = list(rows)
        known = set(self.nodes["categories"]) | {r["id"] for r in rows}
        for r in rows:
            self._need(dict.fromkeys(known), r.get("parent_id"), "parent category")
        return self._put("categories", rows, batch_size)

    def upsert_brands(self, rows: Iterable[BrandRow], batch_size: int = DEFAULT_BATCH) -> int:
        return self._put("brands", rows, batch_size)

    def upsert_attributes(
        self, rows: Iterable[AttributeRow], batch_size: int = DEFAULT_BATCH
    ) -> int:
        return self._put("attributes", rows, batch_size)

    def upsert_products(self, rows: Iterable[ProductRow], batch_size: int = DEFAULT_BATCH) -> int:
        rows = list(rows)
        for r in rows:
            self._need(self.nodes["categories"], r.get("category_id"), "category")
            self._need(self.nodes["brands"], r.get("brand_id"), "brand")
            for aid in r.get("attribute_ids", []):
                self._need(self.nodes["attributes"], aid, "attribute")
        return self._put("products", rows, batch_size)

    def upsert_users(self, rows: Iterable[UserRow], batch_size: int = DEFAULT_BATCH) -> int:
        return self._put("users", rows, batch_size)

    def add_interactions(
        self, rows: Iterable[InteractionRow], batch_size: int = DEFAULT_BATCH
    ) -> int:
        rows = list(rows)
        self.calls.append(("interactions", len(rows), batch_size))
        new = 0
        for r in rows:
            self._need(self.nodes["users"], r["user_id"], "user")
            self._need(self.nodes["products"], r["item_id"], "product")
            if r["event_id"] not in self.events:
                self.events[r["event_id"]] = r
                new += 1
        return new

    def upsert_entities(self, rows: Iterable[EntityRow], batch_size: int = DEFAULT_BATCH) -> int:
        raise NotImplementedError

    def add_triples(self, rows: Iterable[TripleRow], batch_size: int = DEFAULT_BATCH) -> int:
        raise NotImplementedError

    # -- reads, sessions: not used by the demo loader
    def stats(self) -> GraphStats:
        raise NotImplementedError

    def lexicon(
        self, labels: Sequence[str] = ("Brand", "Category", "Attribute")
    ) -> list[LexiconEntry]:
        raise NotImplementedError

    def fulltext(self, text: str, labels: Sequence[str], k: int = 10) -> list[EntityHit]:
        raise NotImplementedError

    def candidates(self, query: CandidateQuery) -> list[Candidate]:
        raise NotImplementedError

    def products(self, ids: Sequence[str]) -> list[ProductRecord]:
        raise NotImplementedError

    def paths(
        self, source_ids: Sequence[str], item_ids: Sequence[str], max_hops: int = 2, k: int = 3
    ) -> dict[str, list[KgPath]]:
        raise NotImplementedError

    def create_session(
        self, session_id: str, user_id: str, now: float, state: str = ""
    ) -> SessionRecord:
        raise NotImplementedError

    def get_session(self, session_id: str) -> SessionRecord | None:
        raise NotImplementedError

    def save_session_state(
        self, session_id: str, state: str, now: float, version: int | None = None
    ) -> int | None:
        raise NotImplementedError

    def purge_sessions(self, before: float, limit: int = 1000) -> int:
        raise NotImplementedError

    def forget_user(self, user_id: str) -> UserDataCounts:
        raise NotImplementedError

    def user_data_counts(self, user_id: str) -> UserDataCounts:
        raise NotImplementedError

    def record_event(self, event: FeedbackEvent, event_id: str, now: float) -> FeedbackResult:
        raise NotImplementedError

    def user_events(self, user_id: str, limit: int = 100) -> list[StoredEvent]:
        raise NotImplementedError
