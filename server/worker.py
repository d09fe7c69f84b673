"""One worker process of ``kgrec serve --workers N``: ``python -m server.worker``, started by
:mod:`server.workers` (never by hand).

It reads one JSON line from stdin (its index, the worker count, the parent's pid, the pipe to
write to, the shared counters' file descriptor and the settings, the graph URI and port
already fixed by the parent), then builds its own runtime (graph client, model, parser,
linker; the graph DB, the demo store and the model were prepared by the parent) and serves
the shared port until SIGTERM, like ``kgrec serve`` with one process. It writes ``ready``
to the pipe once it listens. It does not outlive the parent: on Linux the kernel sends it
SIGTERM when the parent dies (``PR_SET_PDEATHSIG``, checked against a parent that died before
it was set), and anywhere its stdin reaching end-of-file (the parent gone) stops it the same
way.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import json
import logging
import os
import signal
import sys
import threading
from typing import Any

from .generations import SharedGenerations
from .log import LOG_FORMAT, configure_logging
from .settings import Settings
from .worker_slot import WorkerSlot

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: the kernel sends this process SIGTERM when its parent dies."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the stdin watch remains
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _watch_parent() -> None:
    """Stop (as on SIGTERM) once stdin reaches end-of-file: the parent is gone."""
    with contextlib.suppress(OSError, ValueError):
        while sys.stdin.buffer.read(4096):
            pass
    os.kill(os.getpid(), signal.SIGTERM)


def _exit_now(code: int) -> None:
    """Leave without the interpreter's teardown (as ``kgrec serve`` does: the runtime is
    closed already, and freeing torch object by object took seconds)."""
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def main() -> None:
    _die_with_parent()
    # a SIGHUP (model reload) before the server installs its handler must not kill us: the
    # model loaded at start-up is the newest anyway
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    line = sys.stdin.buffer.readline()
    if not line:  # the parent is gone already
        os._exit(1)
    job: dict[str, Any] = json.loads(line)
    if os.getppid() != job["parent"]:  # it died before the death signal was set
        os._exit(1)
    settings = Settings.from_dict(job["settings"])
    index = int(job["index"])
    fmt = LOG_FORMAT.replace("%(name)s", f"%(name)s/w{index}")
    configure_logging(settings.log_level, fmt, json_lines=settings.log_format == "json")
    slot = WorkerSlot(
        index,
        int(job["count"]),
        SharedGenerations(int(job["generations_fd"])),
        int(job["control_fd"]),
    )
    threading.Thread(target=_watch_parent, name="kgrec-parent-watch", daemon=True).start()
    from .serve import run

    code = 0
    try:
        asyncio.run(run(settings, worker=slot))
    except KeyboardInterrupt:
        code = 130
    except Exception:  # noqa: BLE001 - reported here and, by its exit code, by the parent
        log.exception("worker %d failed", index)
        code = 1
    _exit_now(code)


if __name__ == "__main__":
    main()
