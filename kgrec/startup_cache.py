"""Tables built from the catalog at start-up, kept on disk so a restart loads them instead.

The entity linker's lookup index and name vectors and the intent parser's span index are pure
functions of the graph's lexicon (names and aliases) and of the code that builds them. Built,
they took ~1.5 s of a restart on an idle 2-core machine (~10x that under load); unpickled, ~0.1 s.
:func:`load_or_build` keys each file by a digest of

- the caller's key parts (a :func:`fingerprint` of the lexicon, the builder's settings), and
- the source of the packages that build it (any code change rebuilds it),

so a graph import that adds, renames or removes a name changes the key and the next start
rebuilds; nothing has to remember to invalidate it. Older files of the same name are deleted
when a new one is written.

The files are pickles: only ever read from the service's own data dir, the same trust as the
model checkpoints next to them. A file that fails to load is rebuilt (and logged), never fatal.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import hashlib
import logging
import os
import pickle
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar, cast

log = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = ["file_lock", "fingerprint", "load_or_build", "paused_gc", "running_gc", "source_digest"]

_GC_LOCK = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while the block loads (any thread's block: the GC runs
    again once the last one ends, if it ran before the first began).

    Loading start-up tables creates millions of objects that all live on (the linker's and
    parser's indexes, the lexicon, a model's id maps). Each allocation burst triggers
    collections that walk every object created so far, to find no garbage: at 100k products
    that was most of a warm restart (``bench/RESULTS.md``). What garbage the block makes is
    collected by the next collection after it (none is lost: the GC is paused, not its bookkeeping),
    which walks what the block made once; :func:`server.serve.settle_heap` inside the block
    freezes it instead.
    """
    global _gc_pausers, _gc_was_enabled
    with _GC_LOCK:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on the file ``path`` (created, with its folder, if missing)
    while the block runs: across processes (a server's workers, a CLI beside the server)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def running_gc() -> Iterator[None]:
    """Inside a :func:`paused_gc` block, the GC as it was before the block, for work that
    makes garbage as it goes (a model's training): collected as it goes, not kept."""
    with _GC_LOCK:
        resume = _gc_pausers > 0 and _gc_was_enabled and not gc.isenabled()
        if resume:
            gc.enable()
    try:
        yield
    finally:
        with _GC_LOCK:
            if resume and _gc_pausers > 0:
                gc.disable()


_FORMAT = 1  # bump when the file layout changes


def fingerprint(rows: Iterable[Sequence[str]]) -> str:
    """A digest of string rows in order (e.g. lexicon entries), unambiguous across rows and
    fields (each field and row is terminated by a separator byte)."""
    h = hashlib.sha256()
    for row in rows:
        for value in row:
            h.update(value.encode("utf-8", "surrogatepass"))
            h.update(b"\x1f")
        h.update(b"\x1e")
    return h.hexdigest()


def source_digest(*packages: str) -> str:
    """A digest of every ``.py`` file of the named (imported) packages or modules."""
    h = hashlib.sha256()
    for name in packages:
        module = sys.modules[name]
        file = getattr(module, "__file__", None)
        if file is None:
            raise ValueError(f"{name} has no source file")
        path = Path(file)
        files = sorted(path.parent.glob("*.py")) if path.name == "__init__.py" else [path]
        for f in files:
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def load_or_build(
    cache_dir: Path | str | None,
    name: str,
    key: Sequence[object],
    build: Callable[[], T],
    *,
    sources: Sequence[str] = (),
) -> T:
    """``build()``'s value, from ``cache_dir/<name>-<digest>.pickle`` when that file exists.

    Args:
        cache_dir: where the files live; ``None`` builds every time.
        name: the file's stem (one value per name is kept).
        key: what the value depends on besides code (``repr`` of each part is hashed): e.g. a
            :func:`fingerprint` of the lexicon and the builder's config.
        build: makes the value (and must give an equal one for an equal key).
        sources: packages whose code builds the value (see :func:`source_digest`).
    """
    if cache_dir is None:
        return build()
    h = hashlib.sha256(f"{_FORMAT}|{sys.version_info[:2]}|{source_digest(*sources)}".encode())
    for part in key:
        h.update(repr(part).encode())
        h.update(b"\x1e")
    folder = Path(cache_dir)
    path = folder / f"{name}-{h.hexdigest()[:20]}.pickle"
    if path.is_file():
        try:
            with path.open("rb") as f:
                value = cast(T, pickle.load(f))
            log.info("%s loaded from %s", name, path)
            return value
        except Exception:  # noqa: BLE001 - a broken cache file is rebuilt, never fatal
            log.warning("%s: cannot read %s; building it again", name, path, exc_info=True)
    value = build()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
        for old in folder.glob(f"{name}-*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
        log.info("%s saved to %s", name, path)
    except OSError:
        log.warning("%s: cannot save %s (built each start)", name, path, exc_info=True)
    return value
