"""The root of every error kgrec raises on purpose.

Hierarchy::

    KgrecError
    ├── InvalidInputError        bad request: names the offending field
    │   └── IdempotencyKeyReusedError  a key already names a different event of this user
    ├── NotFoundError
    │   ├── SessionNotFoundError
    │   └── ItemNotFoundError
    ├── UnavailableError         a dependency is down
    │   └── GraphUnavailableError
    ├── ConflictError            a concurrent write won too often; retrying may succeed
    ├── DeadlineExceededError    work did not finish in its budget
    ├── OverloadedError          too much work in flight
    └── ConfigError              bad settings or an unknown registered name

Each package may subclass these (``kg.exceptions``, ``models.exceptions``); the server maps
them to gRPC status codes with one table (``server/errors.py``).
"""

from __future__ import annotations


class KgrecError(Exception):
    """Root of all kgrec errors."""


class InvalidInputError(KgrecError):
    """The request is malformed. ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class IdempotencyKeyReusedError(InvalidInputError):
    """The caller's idempotency key already names one of its events with another payload.

    A retry must repeat the first request exactly; a new event needs a new key.
    """

    def __init__(self, key: str) -> None:
        super().__init__(
            "idempotency_key",
            f"{key!r} was already used for a different event (another item, type, value or "
            "session); use a new key for a new event",
        )
        self.key = key


class NotFoundError(KgrecError):
    """Something the request names does not exist."""


class SessionNotFoundError(NotFoundError):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"unknown session_id {session_id!r}")
        self.session_id = session_id


class ItemNotFoundError(NotFoundError):
    def __init__(self, item_id: str) -> None:
        super().__init__(f"unknown item_id {item_id!r}")
        self.item_id = item_id


class UnavailableError(KgrecError):
    """A dependency the request needs is down; retrying later may succeed."""


class GraphUnavailableError(UnavailableError):
    """The graph database cannot be reached."""


class ConflictError(KgrecError):
    """A write lost to concurrent writes of the same record more often than it retries."""


class DeadlineExceededError(KgrecError):
    """The work did not finish within its time budget."""


class OverloadedError(KgrecError):
    """Too much work is in flight; the caller should back off."""


class ConfigError(KgrecError):
    """Settings are invalid, or a registered name is unknown."""


__all__ = [
    "ConfigError",
    "ConflictError",
    "DeadlineExceededError",
    "GraphUnavailableError",
    "IdempotencyKeyReusedError",
    "InvalidInputError",
    "ItemNotFoundError",
    "KgrecError",
    "NotFoundError",
    "OverloadedError",
    "SessionNotFoundError",
    "UnavailableError",
]
