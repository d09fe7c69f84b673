"""Run ``kgrec serve`` as a child process and wait until it announces its port.

Used by the integration tests and the benchmarks, so both measure the real service.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

from kg.embedded import GRAPH_SUBDIR, SOCKET_NAME

ANNOUNCE = re.compile(r"kgrec is serving on localhost:(\d+)")


class ServeProcess:
    """``with ServeProcess(data_dir, "--no-train-model") as srv: srv.target``.

    On exit the child gets SIGTERM and must stop within ``stop_timeout`` seconds;
    ``exit_code`` then holds its status.
    """

    def __init__(
        self,
        data_dir: Path,
        *extra_args: str,
        start_timeout: float = 300.0,
        stop_timeout: float = 60.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.args = [sys.executable, "-m", "kgrec.cli", "serve", "--port", "0"]
        self.args += ["--data-dir", str(self.data_dir), *extra_args]
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.output: list[str] = []
        #: ``time.perf_counter()`` when each line of ``output`` arrived
        self.output_times: list[float] = []
        #: ``time.perf_counter()`` just before the child was spawned
        self.spawned_at = 0.0
        self.port = 0
        self.exit_code: int | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._ready = threading.Event()
        self._pump_thread: threading.Thread | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The child's process id (once started)."""
        if self._proc is None:
            raise RuntimeError("kgrec serve is not started")
        return self._proc.pid

    @property
    def socket_path(self) -> Path:
        """The embedded graph DB's unix socket (while the server runs)."""
        return self.data_dir / GRAPH_SUBDIR / SOCKET_NAME

    def tail(self, lines: int = 40) -> str:
        return "".join(self.output[-lines:])

    def start(self) -> ServeProcess:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.spawned_at = time.perf_counter()
        self._proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()
        if not self._ready.wait(self.start_timeout) or not self.port:
            self._proc.kill()
            self._finish(self._proc.wait())
            raise RuntimeError(f"kgrec serve did not start:\n{self.tail()}")
        return self

    def _pump(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        # ValueError: _finish closed the pipe while a process that outlived the child (one of
        # its workers, until it noticed) still held its write end
        with contextlib.suppress(ValueError):
            for line in self._proc.stdout:
                self.output_times.append(time.perf_counter())
                self.output.append(line)
                match = ANNOUNCE.search(line)
                if match and not self.port:
                    self.port = int(match.group(1))
                    self._ready.set()
        self._ready.set()

    def _finish(self, code: int) -> None:
        self.exit_code = code
        if self._pump_thread is not None:  # the last lines read before the pipe is closed
            self._pump_thread.join(timeout=10)
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()

    def stop(self) -> int:
        """SIGTERM, wait for a graceful exit; returns the exit code."""
        proc = self._proc
        if proc is None or self.exit_code is not None:
            return self.exit_code or 0
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        self._finish(code)
        return code

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
