"""The deadline of the call being served, and the check the pipeline makes against it.

:class:`server.interceptors.DeadlineInterceptor` stores each call's deadline (a
``time.monotonic()`` value: the client's deadline or the server's ``max_request_seconds``,
whichever comes first) in :data:`deadline_var`. ``asyncio.to_thread`` copies the context, so
the pipeline's worker thread sees it too and calls :func:`check_deadline` between the steps of
a turn and before each write: an expired call stops there, having written nothing, and the
client gets ``DEADLINE_EXCEEDED``.
"""

from __future__ import annotations

import contextvars
import time

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


__all__ = ["check_deadline", "deadline_var", "time_left"]
