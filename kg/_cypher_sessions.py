"""Sessions, feedback events and forgetting a user, for every Cypher store.

:class:`CypherSessions` implements that part of :class:`kg.store.GraphStore` on the backend
primitives of :class:`kg._cypher_base.CypherBase`, with the queries of
:mod:`kg.queries.session`.
"""

from __future__ import annotations

from collections.abc import Sequence

from kgrec.domain import FeedbackEvent, FeedbackResult
from kgrec.errors import (
    IdempotencyKeyReusedError,
    InvalidInputError,
    ItemNotFoundError,
    SessionNotFoundError,
)

from . import queries, schema
from ._cypher_base import CypherBase, Params, Row, _str, named, session_record, stored_event
from .types import USER_DATA_COLUMNS, SessionRecord, StoredEvent, UserDataCounts


class CypherSessions(CypherBase):
    """Conversation state and feedback; the store's reads and loaders build on this."""

    def create_session(
        self, session_id: str, user_id: str, now: float, state: str = ""
    ) -> SessionRecord:
        """Create the session holding ``state``, or return it unchanged if it already exists."""
        if not session_id:
            raise InvalidInputError("session_id", "must not be empty")
        params = {"session_id": session_id, "user_id": user_id, "now": float(now), "state": state}
        return session_record(self._write(queries.CREATE_SESSION, params).rows[0])

    def get_session(self, session_id: str) -> SessionRecord | None:
        rows = self._read(queries.GET_SESSION, {"session_id": session_id})
        return session_record(rows[0]) if rows else None

    def save_session_state(
        self, session_id: str, state: str, now: float, version: int | None = None
    ) -> int | None:
        params: Params = {"session_id": session_id, "state": state, "now": float(now)}
        if version is None:
            rows = self._write(queries.SAVE_SESSION_STATE, params).rows
            if not rows:
                raise SessionNotFoundError(session_id)
            return int(rows[0][0])
        params["version"] = int(version)
        rows = self._write(queries.SAVE_SESSION_STATE_IF_VERSION, params).rows
        if not rows:
            raise SessionNotFoundError(session_id)
        ok, stored = rows[0]
        return int(stored) if ok else None

    def purge_sessions(self, before: float, limit: int = 1000) -> int:
        if limit <= 0:
            return 0
        params = {"before": float(before), "limit": int(limit)}
        rows = self._write(queries.PURGE_SESSIONS, params).rows
        return int(rows[0][0]) if rows else 0

    def record_event(self, event: FeedbackEvent, event_id: str, now: float) -> FeedbackResult:
        params = _event_params(event, event_id, now)
        query = queries.RECORD_EVENT if event.idempotency_key else queries.RECORD_EVENT_UNKEYED
        return self._event_result(event, params, self._write(query, params).rows)

    def record_event_with_state(
        self, event: FeedbackEvent, event_id: str, now: float, state: str, version: int
    ) -> tuple[FeedbackResult, int | None]:
        params = _event_params(event, event_id, now)
        params |= {"state": state, "now": float(now), "version": int(version)}
        keyed = bool(event.idempotency_key)
        query = queries.RECORD_EVENT_AND_STATE if keyed else queries.RECORD_EVENT_UNKEYED_AND_STATE
        rows = self._write(query, params).rows
        result = self._event_result(event, params, rows)
        written = rows[0][1]
        return result, None if written is None else int(written)

    def _event_result(
        self, event: FeedbackEvent, params: Params, rows: list[Row]
    ) -> FeedbackResult:
        """The outcome of an event write from its ``previous`` column: written (popularity
        bumped in the cache too), a repeat of the same event, or a key reused for another."""
        if not rows:
            raise ItemNotFoundError(event.item_id)
        event_id = str(params["event_id"])
        previous = [p for p in (rows[0][0] or ()) if p]
        if not previous:
            self._cache.bump_popularity(event.item_id, int(params["popularity_delta"]))
            return FeedbackResult(accepted=True, event_id=event_id, duplicate=False)
        first_id, item_id, first_type, value, session_id = previous[0]
        same = (
            item_id == event.item_id
            and first_type == params["type"]
            and float(value or 0.0) == float(event.value)
            and _str(session_id) == event.session_id
        )
        if not same:
            raise IdempotencyKeyReusedError(event.idempotency_key)
        return FeedbackResult(accepted=True, event_id=str(first_id), duplicate=True)

    def forget_user(self, user_id: str) -> UserDataCounts:
        if not user_id:
            raise InvalidInputError("user_id", "must not be empty")
        params = {"user_id": user_id}
        rows = self._write(queries.DELETE_USER_EVENTS, params).rows
        events, item_ids = (int(rows[0][0]), list(rows[0][1] or ())) if rows else (0, [])
        if item_ids:  # their popularity counted this user's positive events
            self._write(queries.REFRESH_POPULARITY, queries.popularity_params(item_ids))
            self._cache.clear()
        sessions = self._write(queries.DELETE_USER_SESSIONS, params).rows
        users = self._write(queries.DELETE_USER, params).rows
        return UserDataCounts(
            events=events,
            sessions=int(sessions[0][0]) if sessions else 0,
            users=int(users[0][0]) if users else 0,
        )

    def user_data_counts(self, user_id: str) -> UserDataCounts:
        rows = self._read(queries.USER_DATA_COUNTS, {"user_id": user_id})
        if not rows:
            return UserDataCounts()
        r = named(USER_DATA_COLUMNS, rows[0])
        return UserDataCounts(
            events=int(r["events"]), sessions=int(r["sessions"]), users=int(r["users"])
        )

    def co_interactions(
        self, source_ids: Sequence[str], item_ids: Sequence[str]
    ) -> dict[tuple[str, str], int]:
        if not source_ids or not item_ids:
            return {}
        params = queries.popularity_params(())
        del params["ids"]
        params |= {"source_ids": list(dict.fromkeys(source_ids)), "item_ids": list(item_ids)}
        return {
            (str(src), str(item)): int(n)
            for src, item, n in self._read(queries.CO_INTERACTION_COUNTS, params)
            if n
        }

    def user_events(self, user_id: str, limit: int = 100) -> list[StoredEvent]:
        if limit <= 0:
            return []
        rows = self._read(queries.USER_EVENTS, {"user_id": user_id, "limit": int(limit)})
        return [stored_event(r) for r in rows]


def _event_params(event: FeedbackEvent, event_id: str, now: float) -> Params:
    if not event.user_id:
        raise InvalidInputError("user_id", "must not be empty")
    if not event_id:
        raise InvalidInputError("event_id", "must not be empty")
    etype = str(event.event_type.value if hasattr(event.event_type, "value") else event.event_type)
    return {
        "item_id": event.item_id,
        "user_id": event.user_id,
        "event_id": event_id,
        "type": etype,
        "value": float(event.value),
        "ts": float(event.client_ts or now),
        "idempotency_key": event.idempotency_key or None,
        "session_id": event.session_id,
        "popularity_delta": 1 if schema.is_positive(etype, float(event.value)) else 0,
    }


__all__ = ["CypherSessions"]
