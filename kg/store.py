"""The ``GraphStore`` contract every backend fulfils.

Two real backends, chosen by URI in :func:`kg.open_store`:

* ``falkordb+unix:///path/to/redis.sock`` (or ``falkordb://host:port``) — the embedded default,
  FalkorDB started as a child process by :class:`kg.EmbeddedFalkorDB`;
* ``neo4j://`` / ``bolt://`` / ``neo4j+s://`` — Neo4j 5 through the official driver.

All methods are synchronous and thread-safe; the async server calls them from worker threads.
Every value reaches the database as a query parameter; labels and relationship types come from
the allow-lists in :mod:`kg.schema`. A backend that cannot reach its database raises
:class:`kgrec.errors.GraphUnavailableError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence

from kgrec.domain import FeedbackEvent, FeedbackResult, KgPath
from kgrec.errors import SessionNotFoundError

from .types import (
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

DEFAULT_BATCH = 2_000


class GraphStore(ABC):
    """A product knowledge graph behind one of the supported databases."""

    #: The URI this store was opened with (credentials stripped).
    uri: str

    # -- lifecycle ----------------------------------------------------------------------------

    @abstractmethod
    def ping(self) -> None:
        """Raise ``GraphUnavailableError`` unless the database answers."""

    @abstractmethod
    def close(self) -> None:
        """Release connections. Idempotent."""

    def snapshot_size(self) -> int:
        """Products in the in-process candidate snapshot (0: none yet, or this store keeps
        none: candidates come from the graph's queries)."""
        return 0

    def warm(self, wait: bool = False) -> None:  # noqa: B027 - optional, nothing by default
        """Start filling in-process caches in the background, so the first calls do not
        pay for them (the Cypher stores: the candidate filter snapshot). Returns at once, or
        with ``wait`` once they are filled (a benchmark that must answer every call the same
        way, whatever the machine's speed)."""

    @abstractmethod
    def init_schema(self) -> None:
        """Create constraints and indexes (fulltext, vector where supported). Idempotent."""

    @abstractmethod
    def drop_all(self) -> None:
        """Delete every node, relationship and index of this graph."""

    # -- bulk loading: batched UNWIND ... MERGE, idempotent; each returns rows written --------

    @abstractmethod
    def upsert_categories(
        self, rows: Iterable[CategoryRow], batch_size: int = DEFAULT_BATCH
    ) -> int: ...

    @abstractmethod
    def upsert_brands(self, rows: Iterable[BrandRow], batch_size: int = DEFAULT_BATCH) -> int: ...

    @abstractmethod
    def upsert_attributes(
        self, rows: Iterable[AttributeRow], batch_size: int = DEFAULT_BATCH
    ) -> int: ...

    @abstractmethod
    def upsert_products(
        self, rows: Iterable[ProductRow], batch_size: int = DEFAULT_BATCH
    ) -> int: ...

    @abstractmethod
    def upsert_users(self, rows: Iterable[UserRow], batch_size: int = DEFAULT_BATCH) -> int: ...

    @abstractmethod
    def add_interactions(
        self, rows: Iterable[InteractionRow], batch_size: int = DEFAULT_BATCH
    ) -> int:
        """MERGE ``(User)-[:INTERACTED {event_id}]->(Product)``; existing event ids are skipped."""

    @abstractmethod
    def upsert_entities(
        self, rows: Iterable[EntityRow], batch_size: int = DEFAULT_BATCH
    ) -> int: ...

    @abstractmethod
    def add_triples(self, rows: Iterable[TripleRow], batch_size: int = DEFAULT_BATCH) -> int:
        """MERGE typed relations between existing Product/Entity nodes (allow-listed types)."""

    # -- reads --------------------------------------------------------------------------------

    @abstractmethod
    def stats(self) -> GraphStats: ...

    def has_products(self) -> bool:
        """Whether any product is loaded: ``kgrec serve`` asks at every start, so stores
        answer it without the full :meth:`stats` scan (this default asks :meth:`stats`)."""
        return self.stats().nodes.get("Product", 0) > 0

    @abstractmethod
    def lexicon(
        self, labels: Sequence[str] = ("Brand", "Category", "Attribute")
    ) -> list[LexiconEntry]:
        """Every name and alias of nodes with these labels (for linking)."""

    @abstractmethod
    def fulltext(self, text: str, labels: Sequence[str], k: int = 10) -> list[EntityHit]:
        """Fulltext search over names/aliases/titles; ``text`` is matched literally."""

    @abstractmethod
    def candidates(self, query: CandidateQuery) -> list[Candidate]: ...

    @abstractmethod
    def products(self, ids: Sequence[str]) -> list[ProductRecord]:
        """The products with these ids, in the order given; unknown ids are left out."""

    def brief_candidates(self, query: CandidateQuery) -> list[Candidate]:
        """:meth:`candidates`, where a record may be brief: only what ranking reads (id,
        price, brand id, popularity), the rest empty until :meth:`complete` (a store that
        answers candidate queries in-process reads no record here). By default, whole."""
        return self.candidates(query)

    def brief_products(self, ids: Sequence[str]) -> list[ProductRecord]:
        """:meth:`products`, where a record may be brief (:meth:`brief_candidates`)."""
        return self.products(ids)

    def complete(self, records: Sequence[ProductRecord]) -> list[ProductRecord | None]:
        """The whole record of each of ``records`` (brief or not), at its popularity;
        ``None`` for a product that is gone. By default, the records as given."""
        return list(records)

    @abstractmethod
    def paths(
        self, source_ids: Sequence[str], item_ids: Sequence[str], max_hops: int = 2, k: int = 3
    ) -> dict[str, list[KgPath]]:
        """Up to ``k`` shortest typed paths (≤ ``max_hops``) from any source node to each item,
        each with the real direction of its edges (``KgPath.forward``). Equally short paths
        come in the order of their sources in ``source_ids`` (the caller's priority).

        Paths are shown to shoppers, so none passes through a ``User`` or ``Session`` node
        (another shopper's name, id or purchases); see :meth:`co_interactions` instead."""

    def co_interactions(
        self, source_ids: Sequence[str], item_ids: Sequence[str]
    ) -> dict[tuple[str, str], int]:
        """``{(source product, item): shoppers}``: how many distinct shoppers interacted
        positively with both; pairs with none are left out. Aggregated collaborative evidence
        ("bought by 12 shoppers who also bought X") without naming anyone. A backend without
        it returns ``{}``."""
        return {}

    # -- sessions and feedback ----------------------------------------------------------------

    @abstractmethod
    def create_session(
        self, session_id: str, user_id: str, now: float, state: str = ""
    ) -> SessionRecord:
        """Create the session holding ``state`` (version 1; 0 when ``state`` is empty), or
        return it unchanged if it already exists."""

    @abstractmethod
    def get_session(self, session_id: str) -> SessionRecord | None: ...

    @abstractmethod
    def save_session_state(
        self, session_id: str, state: str, now: float, version: int | None = None
    ) -> int | None:
        """Write the session's state and bump its version; returns the new version.

        With ``version`` this is a compare-and-set: it writes only if the stored version is
        still ``version`` and returns ``None`` otherwise (someone else wrote first: re-read,
        merge, retry). Checked inside the database, so it holds across server replicas.
        Unknown session raises ``SessionNotFoundError``."""

    @abstractmethod
    def purge_sessions(self, before: float, limit: int = 1000) -> int:
        """Delete up to ``limit`` sessions not updated since ``before``; returns how many."""

    @abstractmethod
    def record_event(self, event: FeedbackEvent, event_id: str, now: float) -> FeedbackResult:
        """Store one feedback event durably. Unknown item raises ``ItemNotFoundError``.

        Idempotency keys are scoped to ``event.user_id``: the same user repeating a key with
        the same payload (item, type, value, session) gets the first event's id with
        ``duplicate=True`` and nothing is written; with another payload the key is refused
        (``IdempotencyKeyReusedError``). Another user's key is another key. An empty key
        means no idempotency: every call writes."""

    def record_event_with_state(
        self, event: FeedbackEvent, event_id: str, now: float, state: str, version: int
    ) -> tuple[FeedbackResult, int | None]:
        """:meth:`record_event`, and when it stored the event (not a duplicate) the state of
        the event's session compare-and-set to ``state`` on ``version``
        (:meth:`save_session_state`). Returns the result and the session's new version:
        ``None`` when the session was not written (a duplicate event, a lost race, no such
        session), for the caller to re-read and merge. The Cypher stores do both in one
        write, so a Feedback call pays one round trip and one fsync; this default makes the
        two calls."""
        result = self.record_event(event, event_id, now)
        if result.duplicate:
            return result, None
        try:
            return result, self.save_session_state(event.session_id, state, now, version)
        except SessionNotFoundError:
            return result, None

    @abstractmethod
    def user_events(self, user_id: str, limit: int = 100) -> list[StoredEvent]:
        """The user's most recent events, newest first."""

    @abstractmethod
    def forget_user(self, user_id: str) -> UserDataCounts:
        """Delete the user's events, the sessions they own and their user node (product
        popularity is recounted); returns what was deleted. Idempotent."""

    @abstractmethod
    def user_data_counts(self, user_id: str) -> UserDataCounts:
        """What the graph still holds of this user (all zero after :meth:`forget_user`)."""
