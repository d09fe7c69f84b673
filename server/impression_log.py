"""The impression log's writer: every Recommend turn's shown slate and every feedback outcome,
appended as JSON lines under ``data_dir/impressions/``, off the request path.

Record format and reader: :mod:`models.feedback.impressions`. A turn only puts its record on a
bounded queue (:meth:`ImpressionLog.write` never blocks: a full queue drops the record and
counts it, ``kgrec_impression_records_total{result="dropped"}``); a background thread
serialises the queue in batches and appends them to the current file
(``impressions-<UTC start>-<pid>-<n>.jsonl``), starting a new one past ``max_file_bytes``.
:meth:`ImpressionLog.close` (on shutdown) writes out what is queued.

Shoppers appear only as a keyed hash (:func:`server.log.user_ref`'s HMAC): with
``$KGREC_LOG_USER_KEY`` set, the same hash as in the server's log lines; otherwise under a
key kept in the log's folder (``.user_key``, created once, owner-only), so the hash of one
shopper is the same across restarts and ``forget-user`` can find their records from another
process. :func:`forget_impressions` rewrites the files without that hash (under a file lock
the writer also takes, so no batch is lost to the rewrite) and :func:`count_impressions`
proves none is left.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import secrets
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from kgrec.startup_cache import file_lock
from models.feedback.impressions import Impression, Outcome

from .log import USER_REF_KEY_ENV, user_ref
from .metrics import METRICS, Metrics

if TYPE_CHECKING:
    from kgrec.domain import FeedbackEvent

    from .settings import Settings
    from .turn import Turn

__all__ = [
    "ImpressionLog",
    "count_impressions",
    "forget_impressions",
    "impression_key",
    "impression_log_for",
]

logger = logging.getLogger(__name__)

KEY_FILE = ".user_key"
LOCK_FILE = ".lock"
_STOP = object()


def impression_key(directory: Path, *, create: bool = False) -> bytes | None:
    """The key the log at ``directory`` hashes user ids with (see the module docs); ``None``
    when it has none yet and ``create`` is false."""
    env = os.environ.get(USER_REF_KEY_ENV)
    if env:
        return env.encode()
    path = directory / KEY_FILE
    with contextlib.suppress(FileNotFoundError):
        return path.read_bytes().strip()
    if not create:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(16).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def _locked(directory: Path) -> contextlib.AbstractContextManager[None]:
    """An exclusive lock on the log's folder, across processes (writer and forget-user)."""
    return file_lock(directory / LOCK_FILE)


def _matching(line: str, user: str) -> bool:
    if user not in line:  # cheap test first; then the exact field
        return False
    try:
        return bool(json.loads(line).get("user") == user)
    except ValueError:
        return False


def count_impressions(directory: Path, user_id: str) -> int:
    """Records of ``user_id`` in the log at ``directory``."""
    key = impression_key(directory) if directory.is_dir() else None
    if key is None or not user_id:
        return 0
    user = user_ref(user_id, key)
    n = 0
    for path in sorted(directory.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            n += sum(_matching(line, user) for line in fh)
    return n


def forget_impressions(directory: Path, user_id: str) -> int:
    """Delete every record of ``user_id`` from the log at ``directory`` (each file that holds
    one is rewritten without it and atomically replaced); how many were deleted."""
    key = impression_key(directory) if directory.is_dir() else None
    if key is None or not user_id:
        return 0
    user = user_ref(user_id, key)
    removed = 0
    with _locked(directory):
        for path in sorted(directory.glob("*.jsonl")):
            with path.open(encoding="utf-8") as fh:
                lines = fh.readlines()
            kept = [line for line in lines if not _matching(line, user)]
            if len(kept) == len(lines):
                continue
            tmp = path.with_name(path.name + ".tmp")
            with tmp.open("w", encoding="utf-8") as fh:
                fh.writelines(kept)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
            removed += len(lines) - len(kept)
    return removed


def impression_log_for(settings: Settings) -> ImpressionLog | None:
    """The served pipeline's log: ``data_dir/impressions``, or ``None`` with
    ``impression_log`` off."""
    if not settings.impression_log:
        return None
    return ImpressionLog(Path(settings.data_dir) / "impressions")


class ImpressionLog:
    """Batched, non-blocking JSONL writer of impression and outcome records (module docs).

    Args:
        directory: the log's folder (``data_dir/impressions``), created on first write.
        max_queue: records waiting to be written; one more is dropped (and counted).
        max_file_bytes: a file past this size is closed and a new one started.
        batch: at most this many records per append.
        linger: seconds the writer waits for more records after the first of a batch, so
            that a busy server appends (file lock, open, write) a few times a second rather
            than once per turn.
        metrics: where the written / dropped counters go.
    """

    def __init__(
        self,
        directory: Path,
        *,
        max_queue: int = 10_000,
        max_file_bytes: int = 64 << 20,
        batch: int = 512,
        linger: float = 0.2,
        metrics: Metrics = METRICS,
    ) -> None:
        self.directory = Path(directory)
        self.max_file_bytes, self.batch, self.metrics = max_file_bytes, batch, metrics
        self.linger = linger
        self._queue: queue.Queue[object] = queue.Queue(max_queue)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._key: bytes | None = None
        self._file: Path | None = None
        self._files = 0
        self._closed = False
        self.written = self.dropped = 0

    # -- what the pipeline calls ----------------------------------------------------------

    def user_key(self, user_id: str) -> str:
        """How ``user_id`` appears in this log (``"-"``: anonymous)."""
        if self._key is None:
            self._key = impression_key(self.directory, create=True)
        return user_ref(user_id, self._key)

    def log_turn(self, turn: Turn, policy: str, ts: float) -> bool:
        """Queue ``turn``'s impression at time ``ts`` (the pipeline's clock, as outcomes'
        times are); nothing when it showed nothing."""
        if turn.slate is None or not turn.slate.order:
            return False
        from models.feedback.policy import SIGNALS, signal_matrix

        q, slate = turn.query, turn.slate
        blended = turn.blended or turn.ranked
        index = {s.candidate.product.id: i for i, s in enumerate(blended)}
        order = [index[s.candidate.product.id] for s in turn.ranked]
        order += sorted(set(range(len(blended))) - set(order))  # ranked may be a prefix
        features = signal_matrix(blended, known_user=bool(q.user_id), turn=turn.state.turn)
        version = turn.scorer.version if turn.scorer is not None else "kg-match-v0"
        record = Impression(
            request_id=q.request_id, session_id=turn.session.id, user=self.user_key(q.user_id),
            turn=turn.state.turn, ts=ts, policy=policy, model_version=version,
            explored=slate.explored, rate=slate.rate, pool=slate.pool, signals=SIGNALS,
            candidates=tuple(index), features=tuple(map(tuple, features.tolist())),
            order=tuple(order), shown=tuple(order[r] for r in slate.order),
            propensities=slate.propensities,
        )  # fmt: skip
        return self.write(record)

    def log_outcome(self, event: FeedbackEvent, ts: float) -> bool:
        """Queue a recorded feedback event as an outcome (nothing without a session)."""
        if not event.session_id:
            return False
        record = Outcome(
            event.session_id, self.user_key(event.user_id), event.item_id,
            event.event_type.value, float(event.value), ts,
        )  # fmt: skip
        return self.write(record)

    def write(self, record: Impression | Outcome) -> bool:
        """Queue ``record``; never blocks: ``False`` (and counted) when the queue is full or
        the log is closed."""
        kind = "impression" if isinstance(record, Impression) else "outcome"
        if self._closed:
            return self._drop(kind)
        self._ensure_thread()
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            return self._drop(kind)
        return True

    def _drop(self, kind: str) -> bool:
        self.dropped += 1
        self.metrics.impression_records.labels(kind, "dropped").inc()
        return False

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every record queued so far is on disk (``False`` on timeout)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline or self._thread is None:
                return not self._queue.unfinished_tasks
            time.sleep(0.005)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Write out what is queued and stop the thread; later writes are dropped."""
        if self._closed:
            return
        self._closed = True
        thread = self._thread
        if thread is not None:
            with contextlib.suppress(queue.Full):  # the thread makes room batch by batch
                self._queue.put(_STOP, timeout=timeout)
            thread.join(timeout)

    def forget(self, user_id: str) -> int:
        """:func:`forget_impressions`, after writing out what is queued."""
        self.flush()
        return forget_impressions(self.directory, user_id)

    # -- the background thread ------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="impression-log", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        stop = False
        while not stop:
            items = [self._queue.get()]
            until = time.monotonic() + self.linger
            while len(items) < self.batch and items[-1] is not _STOP:
                try:
                    items.append(self._queue.get(timeout=max(until - time.monotonic(), 1e-6)))
                except queue.Empty:
                    break
            stop = any(r is _STOP for r in items)
            records = [r for r in items if r is not _STOP]
            try:
                if records:
                    self._append(records)  # type: ignore[arg-type]
            except Exception:  # noqa: BLE001 - a full disk must not kill the thread
                logger.exception("impression log: %d records not written", len(records))
                for r in records:
                    self._drop("impression" if isinstance(r, Impression) else "outcome")
            finally:
                for _ in items:
                    self._queue.task_done()

    def _append(self, records: list[Impression | Outcome]) -> None:
        text = "".join(r.to_json() + "\n" for r in records)
        self.directory.mkdir(parents=True, exist_ok=True)
        with _locked(self.directory):
            if self._file is None or self._size(self._file) >= self.max_file_bytes:
                self._files += 1
                stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
                name = f"impressions-{stamp}-{os.getpid()}-{self._files:04d}.jsonl"
                self._file = self.directory / name
            with self._file.open("a", encoding="utf-8") as fh:
                fh.write(text)
        for r in records:
            kind = "impression" if isinstance(r, Impression) else "outcome"
            self.metrics.impression_records.labels(kind, "written").inc()
        self.written += len(records)

    @staticmethod
    def _size(path: Path) -> int:
        try:
            return path.stat().st_size
        except FileNotFoundError:
            return 0
