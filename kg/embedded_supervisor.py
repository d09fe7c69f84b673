"""A daemon thread that restarts an embedded graph server which died on its own.

It owns the crash-restart policy (how often to look, how long to back off) and nothing of the
server itself: it sees the server only through :class:`Supervised`, which
:class:`kg.embedded.EmbeddedFalkorDB` satisfies.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

logger = logging.getLogger(__name__)


class Supervised(Protocol):
    """What the supervisor needs of a server: whether it crashed, its pid, a restart."""

    @property
    def crashed(self) -> bool: ...

    @property
    def pid(self) -> int | None: ...

    def restart(self) -> bool: ...


class EmbeddedSupervisor:
    """Restarts an :class:`EmbeddedFalkorDB` that died on its own, from a daemon thread.

    Every ``check_interval`` seconds it reaps a dead child; then it waits ``backoff`` seconds
    and restarts it, doubling the wait after each restart (or failed start) up to
    ``max_backoff``, and back to ``backoff`` once a server has stayed up ``stable_after``
    seconds. So a child that crashes at once on every start costs a restart every
    ``max_backoff`` seconds, not a busy loop. Stop the supervisor before the server
    (:meth:`stop`), or a deliberate shutdown would be taken for a crash.

    Restarted children get no parent-death signal (it would fire when this thread ends);
    the :mod:`atexit` hook still stops them.

    Args:
        db: the server to watch (already started).
        on_restart: called after each successful restart (e.g. to count it).
        on_failure: called with the exception of each failed restart.
    """

    def __init__(
        self,
        db: Supervised,
        *,
        check_interval: float = 0.2,
        backoff: float = 0.25,
        max_backoff: float = 30.0,
        stable_after: float = 30.0,
        on_restart: Callable[[], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        if check_interval <= 0 or backoff < 0 or max_backoff < backoff:
            raise ValueError("need check_interval > 0 and 0 <= backoff <= max_backoff")
        self.db = db
        self.check_interval = check_interval
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.stable_after = stable_after
        self.on_restart = on_restart
        self.on_failure = on_failure
        self.restarts = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> EmbeddedSupervisor:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="kgrec-falkordb-supervisor", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop watching (idempotent); waits for a restart in progress to finish."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        delay = self.backoff
        up_since = time.monotonic()
        while not self._stop.wait(self.check_interval):
            if not self.db.crashed:
                if time.monotonic() - up_since > self.stable_after:
                    delay = self.backoff
                continue
            logger.error("embedded FalkorDB died; restarting it in %.2f s", delay)
            if self._stop.wait(delay):
                return
            try:
                restarted = self.db.restart()
            except Exception as e:  # noqa: BLE001 - keep supervising; try again later
                self.failures += 1
                logger.error("embedded FalkorDB restart failed: %s", e)
                if self.on_failure is not None:
                    self.on_failure(e)
            else:
                if restarted:
                    self.restarts += 1
                    logger.warning("embedded FalkorDB restarted (pid %s)", self.db.pid)
                    if self.on_restart is not None:
                        self.on_restart()
            up_since = time.monotonic()
            delay = min(max(delay * 2, 0.05), self.max_backoff)


__all__ = ["EmbeddedSupervisor", "Supervised"]
