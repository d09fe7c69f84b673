"""The deadline of the call being served, and the check the pipeline makes against it.

:class:`server.interceptors.DeadlineInterceptor` stores each call's deadline (a
``time.monotonic()`` value: the client's deadline or the server's ``max_request_seconds``,
whichever comes first) in :data:`deadline_var`. ``asyncio.to_thread`` copies the context, so
the pipeline's worker thread sees it too and calls :func:`check_deadline` between the steps of
a turn and before each write: an expired call stops there, having written nothing, and the
client gets ``DEADLINE_EXCEEDED``. :class:`DeadlineGuardedStore` checks it before every graph
call too, so a long step (retrieve: candidates, the model's nearest items, their records)
stops at its next graph call rather than at its end.
"""

from __future__ import annotations

import contextvars
import functools
import time
from typing import Any

from kgrec.errors import DeadlineExceededError

#: The current call's deadline (``time.monotonic()`` seconds), or None: no deadline.
deadline_var: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "kgrec_deadline", default=None
)


def time_left() -> float | None:
    """Seconds until the current call's deadline (negative once past); None without one."""
    deadline = deadline_var.get()
    return None if deadline is None else deadline - time.monotonic()


def check_deadline(where: str) -> None:
    """Raise :class:`DeadlineExceededError` if the current call's deadline has passed.

    ``where`` names the point of the check (e.g. ``"before score"``) for the log.
    """
    left = time_left()
    if left is not None and left <= 0:
        raise DeadlineExceededError(f"deadline passed {-left * 1000:.0f} ms ago, {where}")


#: Store methods the guard lets through: the pipeline checks the deadline once before its
#: writes, so a call never stops half-way through them (a session created but not saved).
UNGUARDED_WRITES = frozenset(
    {"create_session", "save_session_state", "record_event", "record_event_with_state"}
)


class DeadlineGuardedStore:
    """Forwards everything to ``store``; each public method except :data:`UNGUARDED_WRITES`
    first calls :func:`check_deadline`.

    Outside a call (no deadline) it is a plain pass-through, so the health probe's ``ping``
    and start-up work are unaffected.
    """

    def __init__(self, store: Any) -> None:
        self._store = store

    @property
    def wrapped(self) -> Any:
        return self._store

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name.startswith("_") or name in UNGUARDED_WRITES or not callable(attr):
            return attr

        @functools.wraps(attr)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            check_deadline(f"before store.{name}")
            return attr(*args, **kwargs)

        return guarded

    def __repr__(self) -> str:
        return f"DeadlineGuardedStore({self._store!r})"


__all__ = [
    "UNGUARDED_WRITES",
    "DeadlineGuardedStore",
    "check_deadline",
    "deadline_var",
    "time_left",
]
