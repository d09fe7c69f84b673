"""``kgrec serve --workers N``: N server processes on one port, after one start-up.

Why: a turn is CPU-bound Python, and one process runs one turn's Python at a time (the GIL);
N processes use N cores.

How it runs:

1. The parent reserves the port: a plain bind first, so a port another server holds fails
   here with a clear error (as with one process), then a socket bound with ``SO_REUSEPORT``
   that it holds, not listening, until it stops; with ``port = 0`` that bind picks the port
   all workers use. Another server cannot take the port meanwhile, and the kernel hands
   connections only to listening sockets, i.e. the workers.
2. The parent does the start-up once: the graph DB (the embedded child and its supervisor stay
   the parent's), the schema, the demo store, a trained model when none exists.
3. It starts N workers (``python -m server.worker``: a fresh interpreter each, no fork of a
   process with threads or gRPC state), each in its own session so a terminal's Ctrl-C
   reaches only the parent. Each opens its own graph client, loads the model, parser and
   linker and listens on the port with ``SO_REUSEPORT``; the kernel spreads connections
   over them. The announce line is printed once, when every worker listens.
4. SIGTERM/SIGINT: each worker gets SIGTERM and drains as one server does (a second signal
   is passed on: stop now); one still running ``grace_seconds`` + :data:`STOP_MARGIN_S`
   later is killed. Then the graph DB stops. SIGHUP is passed to every worker (model
   reload), and a worker's ``ReloadModel`` call has the parent send SIGHUP to the others.
   A worker dies with the parent (``PR_SET_PDEATHSIG``, and its stdin closing).
5. A worker that exits during start-up fails the start (exit 1, the others stopped). One
   that exits later is logged and restarted after a back-off (1 s, doubling up to 30 s);
   after :data:`MAX_RESTARTS` restarts in a row without it serving :data:`STABLE_S` seconds,
   the server stops with exit 1 (something is wrong that a restart does not fix).

What is shared and what is each worker's own:

- Sessions, feedback events, the catalog: in the graph, shared; a Feedback answered by one
  worker is seen by the next turn on any worker.
- Learning ranking policies (bandit ``A`` and ``b``): each worker's own copy, merged through
  the state file next to the model every ``policy_sync_interval_s`` (2 s;
  :meth:`models.feedback.bandit.LinearBandit.sync`), so a click reaches the other workers'
  rankings within about twice that. Exploration draws: each worker's own random stream.
- User profiles: cached per worker, but checked on every use against per-user counters that
  all workers share in memory (:mod:`server.generations`), so feedback or forget-user on one
  worker is never answered from another's stale profile.
- Catalog records cached by the graph client (``kg._product_cache``): per worker, at most 60
  s stale after a catalog write through another process, as with separate servers.
- The impression log: one file per process, a file lock for forget-user (as before).
- Metrics: per worker; worker ``i`` serves them on ``metrics_port + i``. Health: per worker.

Limits: the kernel spreads *connections*, not calls, so a client on one gRPC channel (one
HTTP/2 connection) is served by one worker; clients need several channels, or a proxy that
balances calls, to load every worker. A worker that dies loses the bandit updates it had not
merged yet (at most ``policy_sync_interval_s`` of clicks; its impression log is on disk).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING

from .app import ListenError
from .generations import SharedGenerations
from .settings import Settings

if TYPE_CHECKING:
    from kg import EmbeddedFalkorDB

log = logging.getLogger(__name__)

__all__ = ["MAX_RESTARTS", "STABLE_S", "STOP_MARGIN_S", "reserve_port", "serve_workers"]

#: a worker still running this long after ``grace_seconds`` of its SIGTERM is killed
STOP_MARGIN_S = 20.0
#: restarts in a row of one worker (none serving ``STABLE_S``) before the server gives up
MAX_RESTARTS = 5
STABLE_S = 60.0
_POLL_S = 0.2


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` with ``SO_REUSEPORT``, not listening (see the module
    docstring); :class:`~server.app.ListenError` naming the address when the port is taken."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    with socket.socket(family, kind, proto) as probe:
        # SO_REUSEADDR as gRPC's own bind: a listening socket still conflicts, TIME_WAIT not
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as e:
            raise ListenError(f"cannot listen on {host}:{port}: {e.strerror}") from e
        chosen = probe.getsockname()[1]
    held = socket.socket(family, kind, proto)
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        held.bind((address[0], chosen, *address[2:]))
    except OSError as e:
        held.close()
        raise ListenError(f"cannot listen on {host}:{chosen}: {e.strerror}") from e
    return held


def _prepare(
    settings: Settings, graph: EmbeddedFalkorDB | None, on_stop: list[Callable[[], None]]
) -> str:
    """The start-up the workers need done once (module docstring, step 2); returns the URI
    the workers open the graph with."""
    from models.training.checkpoint_dir import latest_checkpoint

    from .preload import embedded_graph
    from .startup import open_catalog, train_demo_model

    if not settings.graph_uri and graph is None:
        graph = embedded_graph(settings)
    _, demo = open_catalog(settings, on_stop, graph)
    if settings.demo and settings.train_model and latest_checkpoint(settings.models_path) is None:
        train_demo_model(settings, settings.models_path, demo)
    return settings.graph_uri or graph.uri  # type: ignore[union-attr]


def serve_workers(settings: Settings) -> int:
    """Serve with ``settings.worker_count`` processes until SIGTERM/SIGINT (module
    docstring); returns the exit code. The port is reserved before anything starts, so a
    taken port fails at once."""
    from .preload import spawn_embedded_graph

    on_stop: list[Callable[[], None]] = []
    try:
        held = reserve_port(settings.host, settings.port)
        on_stop.append(held.close)
        uri = _prepare(settings, spawn_embedded_graph(settings), on_stop)
        generations = SharedGenerations.create()
        on_stop.append(generations.close)
        worker_settings = settings.replace(port=held.getsockname()[1], graph_uri=uri)
        return _Pool(worker_settings, generations.fd).run()
    finally:
        while on_stop:
            try:
                on_stop.pop()()
            except Exception:  # noqa: BLE001 - keep stopping the rest
                log.exception("error during shutdown")


@dataclass
class _Worker:
    index: int
    proc: subprocess.Popen[bytes]
    control: int  # the read end of its pipe
    started: float
    pending: bytes = b""
    ready_at: float | None = None


@dataclass
class _Pool:
    settings: Settings
    generations: int  # the shared counters' file descriptor, passed to each worker
    workers: dict[int, _Worker] = field(default_factory=dict)
    selector: selectors.BaseSelector = field(default_factory=selectors.DefaultSelector)
    signals: int = 0  # SIGTERM/SIGINT received
    reloads: int = 0  # SIGHUP received, not passed on yet
    failures: dict[int, int] = field(default_factory=dict)  # restarts in a row, by index
    restart_at: dict[int, float] = field(default_factory=dict)
    announced: bool = False
    code: int = 0

    def run(self) -> int:
        count = self.settings.worker_count
        previous = {
            sig: signal.signal(sig, self._on_signal)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        }
        try:
            log.info("starting %d workers on port %d", count, self.settings.port)
            for index in range(count):
                self._spawn(index)
            while not self.signals and not self.code:
                self._step()
            return self._stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.selector.close()

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGHUP:
            self.reloads += 1
        else:
            self.signals += 1

    def _spawn(self, index: int) -> None:
        """Start worker ``index`` (from the main thread: the parent-death signal is tied to
        the thread that forked)."""
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.worker"],
            stdin=subprocess.PIPE,
            pass_fds=(write_end, self.generations),
            start_new_session=True,
        )
        os.close(write_end)
        job = {
            "index": index,
            "count": self.settings.worker_count,
            "parent": os.getpid(),
            "control_fd": write_end,
            "generations_fd": self.generations,
            "settings": self.settings.to_dict(),
        }
        assert proc.stdin is not None  # held open: its end-of-file tells the worker we are gone
        proc.stdin.write(json.dumps(job).encode() + b"\n")
        proc.stdin.flush()
        worker = _Worker(index, proc, read_end, time.monotonic())
        self.workers[index] = worker
        self.selector.register(read_end, selectors.EVENT_READ, worker)
        log.info("worker %d started (pid %d)", index, proc.pid)

    def _step(self) -> None:
        for key, _ in self.selector.select(_POLL_S):
            self._read(key.data)
        if self.reloads:
            self.reloads = 0
            log.info("SIGHUP: every worker reloads the newest model")
            self._signal_all(signal.SIGHUP, ready_only=True)
        now = time.monotonic()
        for worker in list(self.workers.values()):
            code = worker.proc.poll()
            if code is not None:
                self._exited(worker, code, now)
        for index, due in list(self.restart_at.items()):
            if now >= due:
                del self.restart_at[index]
                self._spawn(index)
        count = self.settings.worker_count
        if not self.announced and len(self.workers) == count and self._all_ready():
            from .startup import announce

            self.announced = True
            log.info("all %d workers listen", count)
            announce(self.settings, self.settings.port)

    def _all_ready(self) -> bool:
        return all(w.ready_at is not None for w in self.workers.values())

    def _read(self, worker: _Worker) -> None:
        try:
            data = os.read(worker.control, 4096)
        except BlockingIOError:
            return
        worker.pending += data
        *lines, worker.pending = worker.pending.split(b"\n")
        for line in lines:
            if line == b"ready":
                worker.ready_at = time.monotonic()
                log.info("worker %d listens (pid %d)", worker.index, worker.proc.pid)
            elif line == b"reload":  # it reloaded itself (ReloadModel): the others follow
                for other in self.workers.values():
                    if other is not worker and other.ready_at is not None:
                        self._send(other, signal.SIGHUP)

    def _exited(self, worker: _Worker, code: int, now: float) -> None:
        self._forget(worker)
        how = f"signal {-code}" if code < 0 else f"code {code}"
        if not self.announced:
            log.error("worker %d exited with %s during start-up: stopping", worker.index, how)
            self.code = 1
            return
        stable = worker.ready_at is not None and now - worker.ready_at >= STABLE_S
        failures = 0 if stable else self.failures.get(worker.index, 0)
        if failures >= MAX_RESTARTS:
            log.error(
                "worker %d exited with %s, its %d-th time in a row: stopping the server",
                worker.index, how, failures + 1,
            )  # fmt: skip
            self.code = 1
            return
        delay = min(2.0**failures, 30.0)
        self.failures[worker.index] = failures + 1
        self.restart_at[worker.index] = now + delay
        log.error(
            "worker %d (pid %d) exited with %s: restarting it in %.0f s",
            worker.index, worker.proc.pid, how, delay,
        )  # fmt: skip

    def _forget(self, worker: _Worker) -> None:
        self.selector.unregister(worker.control)
        os.close(worker.control)
        if worker.proc.stdin is not None:
            worker.proc.stdin.close()
        self.workers.pop(worker.index, None)

    def _send(self, worker: _Worker, sig: int) -> None:
        if worker.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                worker.proc.send_signal(sig)

    def _signal_all(self, sig: int, *, ready_only: bool = False) -> None:
        """``sig`` to every worker; with ``ready_only``, only to those that listen (SIGHUP: one
        still starting loads the newest model anyway)."""
        for worker in self.workers.values():
            if worker.ready_at is not None or not ready_only:
                self._send(worker, sig)

    def _stop(self) -> int:
        """SIGTERM every worker and wait for them (module docstring, step 4)."""
        self.restart_at.clear()
        if self.workers:
            log.info("stopping %d workers", len(self.workers))
        self._signal_all(signal.SIGTERM)
        passed_on = self.signals
        deadline = time.monotonic() + self.settings.grace_seconds + STOP_MARGIN_S
        while self.workers and time.monotonic() < deadline:
            if self.signals > passed_on:  # signalled again: the workers stop now
                passed_on = self.signals
                self._signal_all(signal.SIGTERM)
            for worker in list(self.workers.values()):
                code = worker.proc.poll()
                if code is not None:
                    if code not in (0, 130, -signal.SIGTERM):
                        log.error("worker %d stopped with code %d", worker.index, code)
                        self.code = self.code or 1
                    self._forget(worker)
            time.sleep(0.05)
        for worker in list(self.workers.values()):
            log.error("worker %d did not stop in time: killed", worker.index)
            worker.proc.kill()
            worker.proc.wait()
            self._forget(worker)
            self.code = self.code or 1
        log.info("stopped")
        return self.code
