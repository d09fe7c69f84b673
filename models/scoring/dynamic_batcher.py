"""Dynamic batching: the requests of concurrent threads run as one batch.

A served turn runs in a thread of its own (``asyncio.to_thread``); on a GPU one turn's
scoring is a few small kernels and a synchronisation, so concurrent turns pay mostly for
launches and waits. :class:`DynamicBatcher` runs them as one call of a batch function
instead: a thread that finds no batch running becomes the leader, takes up to ``max_batch``
queued requests (its own among them) and runs them; requests that arrive meanwhile queue
and form the next batch. Nothing waits for a batch to fill (Triton's dynamic batcher with
no queue delay): a lone request runs at once, so batching costs nothing at concurrency 1 and
batches grow only when requests overlap.

:data:`BATCH_STATS` counts the scorer's batches and requests over the process (``kgrec serve``
exports them as ``kgrec_score_batches_total`` and ``kgrec_score_batched_turns_total``: their
ratio is the mean batch), :data:`ENCODE_STATS` the intent encoder's
(``kgrec_intent_batches_total``, ``kgrec_intent_batch_messages_total``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["BATCH_STATS", "ENCODE_STATS", "BatchStats", "DynamicBatcher"]

T = TypeVar("T")
R = TypeVar("R")

#: Default most requests one batch runs.
MAX_BATCH = 64


class BatchStats:
    """Batches run and requests in them, over the process (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.batches = 0
        self.requests = 0

    def add(self, size: int) -> None:
        with self._lock:
            self.batches += 1
            self.requests += size

    def snapshot(self) -> tuple[int, int]:
        """``(batches, requests)`` so far."""
        with self._lock:
            return self.batches, self.requests


#: The scorer's :class:`DynamicBatcher` counts here (the default ``stats``).
BATCH_STATS = BatchStats()
#: The intent encoder's (:class:`models.intent.SentenceEncoder` with ``batching``).
ENCODE_STATS = BatchStats()


@dataclass(slots=True)
class _Slot(Generic[T, R]):
    request: T
    done: bool = False
    result: R | None = None
    error: BaseException | None = None


class DynamicBatcher(Generic[T, R]):
    """Runs ``run(requests)`` over batches of concurrent :meth:`submit` calls.

    Args:
        run: the batch function: ``len(requests)`` results, in the requests' order. An
            exception it raises is raised in every thread of that batch.
        max_batch: most requests one call of ``run`` gets (default 64).
        stats: where its batches are counted (default :data:`BATCH_STATS`).
    """

    def __init__(
        self,
        run: Callable[[Sequence[T]], Sequence[R]],
        max_batch: int = MAX_BATCH,
        stats: BatchStats | None = None,
    ):
        if max_batch < 1:
            raise ValueError(f"max_batch {max_batch} must be >= 1")
        self._run, self.max_batch = run, max_batch
        self._stats = BATCH_STATS if stats is None else stats
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[_Slot[T, R]] = []
        self._busy = False

    @property
    def pending(self) -> int:
        """Requests queued for the next batch."""
        with self._cond:
            return len(self._queue)

    def submit(self, request: T) -> R:
        """``request``'s result, run in a batch with whatever other threads submitted
        meanwhile (blocks until its batch has run)."""
        slot: _Slot[T, R] = _Slot(request)
        with self._cond:
            self._queue.append(slot)
            while not slot.done:
                if self._busy:
                    self._cond.wait()
                    continue
                self._busy = True  # this thread leads the next batch (FIFO: its own may follow)
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
                self._cond.release()
                try:
                    self._run_batch(batch)
                finally:
                    self._cond.acquire()
                    for done in batch:
                        done.done = True
                    self._busy = False
                    self._cond.notify_all()
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]  # set with done, unless error is

    def _run_batch(self, batch: list[_Slot[T, R]]) -> None:
        try:
            results = self._run([s.request for s in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"batch of {len(batch)} gave {len(results)} results")
            for slot, result in zip(batch, results, strict=True):
                slot.result = result
        except BaseException as e:  # noqa: BLE001 - raised again in each submitting thread
            for slot in batch:
                slot.error = e
        self._stats.add(len(batch))
