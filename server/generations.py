"""Per-user change counters shared by the worker processes of ``kgrec serve --workers N``.

A worker caches things derived from a user's stored events (the profile,
:class:`models.feedback.profiles.ProfileBook`). When a Feedback call or a forget-user lands on
another worker, this worker's cache must not be used any more. Each user id hashes
(CRC-32, the same in every process) to one of :data:`SLOTS` 64-bit counters in a small file
that every worker maps into memory (``mmap``, ``MAP_SHARED``): whoever records an event for
the user *after* storing it increments the user's counter (:meth:`bump`), and a cached entry
is used only while the counter still holds the value read *before* the events were read
(:meth:`read`). No lock is needed: an increment is one read and one aligned 8-byte store, and
two increments racing from ``v`` both leave ``v + 1``, which still differs from the ``v`` an
older entry holds; an entry computed after a reader saw ``v + 1`` read the events after both
writers stored theirs (each stored before it read ``v``). Two users sharing a slot only cost
each other a recomputation.

The parent process creates the file (zeros) in ``/dev/shm`` where there is one (memory
only), else the temporary folder, and removes its name at once: the workers get the open file
descriptor, not a path, so nothing is left behind however the processes end (a SIGKILL too);
the memory goes with the last process that maps it.
"""

from __future__ import annotations

import mmap
import os
import tempfile
import zlib

__all__ = ["SLOTS", "SharedGenerations"]

#: counters in the file (8 bytes each: 512 KiB)
SLOTS = 65_536


class SharedGenerations:
    """The counters of the open file ``fd`` (see the module docstring); takes ``fd`` over
    (closed by :meth:`close`)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._map = mmap.mmap(fd, SLOTS * 8, mmap.MAP_SHARED)
        self._counters = memoryview(self._map).cast("Q")

    @classmethod
    def create(cls) -> SharedGenerations:
        """A new file of zeros (owner-only, already unlinked) and its counters."""
        folder = "/dev/shm" if os.path.isdir("/dev/shm") else None
        fd, name = tempfile.mkstemp(prefix="kgrec-generations-", suffix=".bin", dir=folder)
        os.unlink(name)
        try:
            os.ftruncate(fd, SLOTS * 8)
            return cls(fd)
        except BaseException:
            os.close(fd)
            raise

    @staticmethod
    def slot(key: str) -> int:
        return zlib.crc32(key.encode("utf-8")) % SLOTS

    def read(self, key: str) -> int:
        """``key``'s counter now."""
        return int(self._counters[self.slot(key)])

    def bump(self, key: str) -> None:
        """Mark ``key`` changed (call it after the change is stored)."""
        i = self.slot(key)
        self._counters[i] = (self._counters[i] + 1) & 0xFFFF_FFFF_FFFF_FFFF

    def close(self) -> None:
        self._counters.release()
        self._map.close()
        os.close(self.fd)
