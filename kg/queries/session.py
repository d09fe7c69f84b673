"""Sessions, feedback events and forgetting a user: the writes of a conversation.

Session and event rows are read by the column tuples of :mod:`kg.types`
(:data:`~kg.types.SESSION_COLUMNS`, :data:`~kg.types.STORED_EVENT_COLUMNS`,
:data:`~kg.types.USER_DATA_COLUMNS`), from which their RETURN clauses are built.
"""

from __future__ import annotations

from ..types import SESSION_COLUMNS, STORED_EVENT_COLUMNS, USER_DATA_COLUMNS
from ._names import returning

_SESSION_RETURN = returning(
    SESSION_COLUMNS,
    {c: f"s.{c}" for c in SESSION_COLUMNS} | {"version": "coalesce(s.version, 0)"},
)

#: A new session holds ``$state`` (version 1, or 0 when ``$state`` is empty: a first turn's
#: state is written with the session, one round trip); an existing one is returned unchanged.
CREATE_SESSION = f"""MERGE (s:Session {{id: $session_id}})
ON CREATE SET s.user_id = $user_id, s.created_at = $now, s.updated_at = $now, s.state = $state,
    s.version = CASE WHEN $state = '' THEN 0 ELSE 1 END
{_SESSION_RETURN}"""

GET_SESSION = f"""MATCH (s:Session {{id: $session_id}})
{_SESSION_RETURN}"""

#: Unconditional state write. Columns: version (the new one). No row: no such session.
SAVE_SESSION_STATE = """MATCH (s:Session {id: $session_id})
SET s.state = $state, s.updated_at = $now, s.version = coalesce(s.version, 0) + 1
RETURN s.version AS version"""

#: Compare-and-set state write: only when the stored version is still ``$version``.
#: Columns: ok, version (the stored one after this query). No row: no such session.
#: Setting ``_lock`` first takes the node's write lock before the version is read, so two
#: Neo4j transactions cannot both see the old version (FalkorDB runs writes one at a time).
SAVE_SESSION_STATE_IF_VERSION = """MATCH (s:Session {id: $session_id})
SET s._lock = true
WITH s, coalesce(s.version, 0) = $version AS ok
FOREACH (ignored IN CASE WHEN ok THEN [1] ELSE [] END |
  SET s.state = $state, s.updated_at = $now, s.version = coalesce(s.version, 0) + 1)
SET s._lock = null
RETURN ok, s.version AS version"""

#: Delete up to ``$limit`` sessions idle since before ``$before``. Column: deleted.
PURGE_SESSIONS = """MATCH (s:Session)
WHERE s.updated_at < $before
WITH s LIMIT $limit
DETACH DELETE s
RETURN count(*) AS deleted"""

_EVENT_PROPS = (
    "{event_id: $event_id, type: $type, value: $value, ts: $ts, "
    "idempotency_key: $idempotency_key, session_id: $session_id}"
)

_EVENT_HEAD = "MATCH (p:Product {id: $item_id})\nMERGE (u:User {id: $user_id})"


def _keyed_write(carried: str) -> str:
    """Look up the user's events under ``$idempotency_key`` into ``previous``; write the event
    only when there is none. ``carried``: the variables kept beside it."""
    key = "{idempotency_key: $idempotency_key}"
    return f"""OPTIONAL MATCH (u)-[old:INTERACTED {key}]->(q:Product)
WITH {carried}, collect(CASE WHEN old IS NULL THEN null
  ELSE [old.event_id, q.id, old.type, old.value, old.session_id] END) AS previous
FOREACH (ignored IN CASE WHEN size(previous) = 0 THEN [1] ELSE [] END |
  CREATE (u)-[:INTERACTED {_EVENT_PROPS}]->(p)
  SET p.popularity = coalesce(p.popularity, 0) + $popularity_delta,
      p.popularity_at = timestamp())
SET u._lock = null"""


_UNKEYED_WRITE = f"""CREATE (u)-[:INTERACTED {_EVENT_PROPS}]->(p)
SET p.popularity = coalesce(p.popularity, 0) + $popularity_delta, p.popularity_at = timestamp()"""

#: Idempotent write of one event, the key scoped to ``$user_id``: returns ``previous``, the
#: user's events already stored under ``$idempotency_key`` as ``[event_id, item_id, type,
#: value, session_id]`` (empty when this call wrote). No row: the product does not exist.
#: Another user's event with the same key is a different event. Setting ``_lock`` on the
#: user takes its write lock before the look-up, so concurrent repeats of one key by one
#: user are serialised on Neo4j too; FalkorDB runs writes one at a time.
RECORD_EVENT = f"""{_EVENT_HEAD}
SET u._lock = true
WITH p, u
{_keyed_write("p, u")}
RETURN previous"""

#: The same without an idempotency key: always writes; returns an empty ``previous``.
RECORD_EVENT_UNKEYED = f"""{_EVENT_HEAD}
{_UNKEYED_WRITE}
RETURN [] AS previous"""


def _session_lock(value: str) -> str:
    return f"FOREACH (x IN CASE WHEN s IS NULL THEN [] ELSE [s] END | SET x._lock = {value})"


_OPEN_SESSION = f"""OPTIONAL MATCH (s:Session {{id: $session_id}})
{_session_lock("true")}
WITH p, u, s"""
#: The session's compare-and-set (:data:`SAVE_SESSION_STATE_IF_VERSION`), only when the event
#: was written (``previous`` empty).
_SAVE_STATE_IF_WRITTEN = f"""WITH previous, s,
  s IS NOT NULL AND size(previous) = 0 AND coalesce(s.version, 0) = $version AS ok
FOREACH (x IN CASE WHEN ok THEN [s] ELSE [] END |
  SET x.state = $state, x.updated_at = $now, x.version = coalesce(x.version, 0) + 1)
{_session_lock("null")}
RETURN previous, CASE WHEN ok THEN s.version ELSE null END AS version"""

#: :data:`RECORD_EVENT` and, when it wrote, the state of the event's session
#: (``$session_id``) compare-and-set on ``$version``: one write, so one round trip and one
#: fsync for a Feedback call. Columns: previous (as above), version (the session's new one;
#: null when the event was a repeat, the session moved past ``$version`` or does not exist).
#: The session's ``_lock`` is taken before its version is read, as in the two-query path.
RECORD_EVENT_AND_STATE = f"""{_EVENT_HEAD}
SET u._lock = true
WITH p, u
{_OPEN_SESSION}
{_keyed_write("p, u, s")}
{_SAVE_STATE_IF_WRITTEN}"""

#: The same without an idempotency key.
RECORD_EVENT_UNKEYED_AND_STATE = f"""{_EVENT_HEAD}
WITH p, u
{_OPEN_SESSION}
{_UNKEYED_WRITE}
WITH [] AS previous, s
{_SAVE_STATE_IF_WRITTEN}"""

_EVENT_EXPRS = {"event_id": "e.event_id", "user_id": "u.id", "item_id": "p.id"}

#: The user's events, newest first (columns :data:`kg.types.STORED_EVENT_COLUMNS`).
USER_EVENTS = (
    "MATCH (u:User {id: $user_id})-[e:INTERACTED]->(p:Product)\n"
    + returning(
        STORED_EVENT_COLUMNS,
        {c: f"e.{c}" for c in STORED_EVENT_COLUMNS} | _EVENT_EXPRS,
        wrap=(4,),
    )
    + "\nORDER BY e.ts DESC, e.event_id DESC\nLIMIT $limit"
)

# -- forgetting a user ------------------------------------------------------------------------

#: Delete every interaction of ``$user_id``. Columns: deleted, item_ids (their products,
#: whose popularity must be recounted with :data:`REFRESH_POPULARITY`).
DELETE_USER_EVENTS = """MATCH (:User {id: $user_id})-[e:INTERACTED]->(p:Product)
WITH e, p.id AS item_id
DELETE e
RETURN count(*) AS deleted, collect(DISTINCT item_id) AS item_ids"""

#: Delete the sessions ``$user_id`` owns. Column: deleted.
DELETE_USER_SESSIONS = """MATCH (s:Session {user_id: $user_id})
DETACH DELETE s
RETURN count(*) AS deleted"""

#: Delete the user node (and anything still attached to it). Column: deleted.
DELETE_USER = """MATCH (u:User {id: $user_id})
DETACH DELETE u
RETURN count(*) AS deleted"""

#: What the graph still holds of ``$user_id`` (columns :data:`kg.types.USER_DATA_COLUMNS`).
USER_DATA_COUNTS = """OPTIONAL MATCH (u:User {id: $user_id})
OPTIONAL MATCH (u)-[e:INTERACTED]->()
WITH count(DISTINCT u) AS users, count(e) AS events
OPTIONAL MATCH (s:Session {user_id: $user_id})
""" + returning(USER_DATA_COLUMNS, {"sessions": "count(s)"})
