"""What a worker process of ``kgrec serve --workers N`` knows about its place among the others.

Built by :mod:`server.worker` from what the parent (:mod:`server.workers`) sends it, and
passed down explicitly: to the pipeline's :class:`~server.learning.Learning` (exploration
draws and bandit streams per worker, profile caches checked against the shared per-user
counters, bandit state merged through the state file) and to the gRPC server (``SO_REUSEPORT``,
the ``x-kgrec-worker`` response header, a ``ReloadModel`` call passed on to the other
workers, one metrics port per worker).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from .generations import SharedGenerations

__all__ = ["WorkerSlot"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorkerSlot:
    """Worker ``index`` of ``count``; ``generations``: the shared per-user counters;
    ``control_fd``: the pipe to the parent (``-1``: none, e.g. in tests)."""

    index: int
    count: int
    generations: SharedGenerations
    control_fd: int = -1

    def tell_parent(self, message: str) -> None:
        """Send the parent one line (``ready``, ``reload``); a parent gone is only logged
        (the worker is stopped by it, or by the parent-death signal, anyway)."""
        if self.control_fd < 0:
            return
        try:
            os.write(self.control_fd, (message + "\n").encode("ascii"))
        except OSError as e:
            log.warning("worker %d: cannot tell the parent %r: %s", self.index, message, e)
