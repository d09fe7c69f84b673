"""Resumable imports: the last committed batch of each source, in a small JSON file.

The file (``import-checkpoint.json`` in the state directory) maps a source key (kind, step,
absolute path, target store) to the position of the last row whose batch the store
acknowledged, plus the source file's size and mtime. An interrupted import that is run again
skips the rows up to that position; a changed file invalidates its entry. A source's entry is
removed once the source has been imported completely, so a finished import that is run again
re-imports everything (the loaders MERGE, so the graph ends up the same).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

FILENAME = "import-checkpoint.json"


def fingerprint(path: Path) -> str:
    """Size and modification time: cheap, and changes whenever the file is rewritten."""
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


class Checkpoint:
    """Positions of committed batches per source, persisted atomically after every batch."""

    def __init__(self, state_dir: Path | None) -> None:
        self.path = state_dir / FILENAME if state_dir is not None else None
        self._entries: dict[str, dict[str, object]] = {}
        if self.path is not None and self.path.exists():
            try:
                self._entries = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                logger.warning("ignoring unreadable checkpoint %s: %s", self.path, e)

    def position(self, key: str, source: Path) -> int:
        """Position (line number) up to which ``key`` was committed; 0 to start afresh."""
        entry = self._entries.get(key)
        if not entry:
            return 0
        if entry.get("fingerprint") != fingerprint(source):
            logger.warning("%s changed since the interrupted import; starting it afresh", source)
            return 0
        pos = entry.get("position", 0)
        return pos if isinstance(pos, int) else 0

    def commit(self, key: str, source: Path, position: int) -> None:
        self._entries[key] = {"position": position, "fingerprint": fingerprint(source)}
        self._save()

    def done(self, key: str) -> None:
        if self._entries.pop(key, None) is not None:
            self._save()

    def pending(self) -> list[str]:
        """Keys of sources left unfinished by an earlier run."""
        return sorted(self._entries)

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self._entries:
            self.path.unlink(missing_ok=True)
            return
        fd, tmp = tempfile.mkstemp(prefix=".checkpoint-", dir=self.path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(self._entries, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
