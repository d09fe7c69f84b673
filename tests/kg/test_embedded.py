"""The embedded FalkorDB child process: start, persistence, exclusivity, stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import kg
from kg.embedded import MAX_SOCKET_PATH
from kgrec.errors import GraphUnavailableError


def test_data_survives_a_restart(tmp_path: Path) -> None:
    db = kg.EmbeddedFalkorDB(tmp_path / "data")
    with db:
        assert db.uri == f"falkordb+unix://{db.socket_path}"
        assert db.socket_path.stat().st_mode & 0o777 == 0o700
        store = kg.open_store(db.uri, graph="persist")
        store.init_schema()
        store.upsert_brands([{"id": "brand:a", "name": "Persisted brand"}])
        store.close()
    assert not db.running
    assert not db.pid_path.exists()
    with db:  # the same object restarts on the same data dir
        store = kg.open_store(db.uri, graph="persist")
        assert [e.name for e in store.lexicon(["Brand"])] == ["Persisted brand"]
        store.init_schema()  # still idempotent on a reloaded graph
        store.close()
    assert (tmp_path / "data" / "appendonlydir").is_dir()
    assert "Ready to accept connections" in (tmp_path / "data" / "falkordb.log").read_text()


def test_second_server_on_same_data_dir_is_refused(tmp_path: Path) -> None:
    with kg.EmbeddedFalkorDB(tmp_path) as db:
        with pytest.raises(kg.DataDirInUseError, match=str(db.pid)):
            kg.EmbeddedFalkorDB(tmp_path).start()
        assert db.running  # the refusal did not disturb the live one


def test_stale_pid_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "falkordb.pid").write_text('{"pid": 999999999, "socket": "x"}')
    with kg.EmbeddedFalkorDB(tmp_path) as db:
        assert db.running


def test_stop_is_idempotent_and_clean(tmp_path: Path) -> None:
    db = kg.EmbeddedFalkorDB(tmp_path).start()
    proc = db._proc
    assert proc is not None and os.getpgid(proc.pid) != os.getpgid(0)  # own session: no Ctrl-C
    db.stop()
    db.stop()
    assert proc.returncode == 0  # SHUTDOWN, not a signal
    assert "Redis is now ready to exit" in db.log_path.read_text()


def test_long_data_dir_gets_a_short_private_socket(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    with kg.EmbeddedFalkorDB(deep) as db:
        sock = db.socket_path
        assert len(os.fsencode(sock)) <= MAX_SOCKET_PATH
        assert sock.parent.parent == Path(tempfile.gettempdir())
        assert sock.parent.stat().st_mode & 0o777 == 0o700
        store = kg.open_store(db.uri)
        store.ping()
        store.close()
    assert not sock.parent.exists()  # removed on stop
    assert (deep / "falkordb.log").exists()


def test_start_failure_quotes_the_log(tmp_path: Path) -> None:
    db = kg.EmbeddedFalkorDB(tmp_path, module_args=("NO_SUCH_OPTION", "1"))
    with pytest.raises(kg.EmbeddedServerError, match="log tail"):
        db.start()
    assert not db.running


def test_killed_server_reports_unavailable_and_keeps_acknowledged_writes(tmp_path: Path) -> None:
    db = kg.EmbeddedFalkorDB(tmp_path).start()
    store = kg.open_store(db.uri, graph="g")
    store.init_schema()
    store.upsert_brands([{"id": f"brand:{i}", "name": f"B{i}"} for i in range(50)])
    store.create_session("s", "u", 1.0)
    assert db.pid is not None
    os.kill(db.pid, signal.SIGKILL)  # no SHUTDOWN, no final save: only the fsynced AOF
    assert db._proc is not None and db._proc.wait(5) == -signal.SIGKILL
    with pytest.raises(GraphUnavailableError):
        store.stats()
    store.close()
    db.stop()  # reaps and cleans up after the dead child
    assert not db.pid_path.exists()
    with db:
        store = kg.open_store(db.uri, graph="g")
        assert store.stats().nodes == {"Brand": 50, "Session": 1}
        store.close()


_CHILD = """
import sys, kg
db = kg.EmbeddedFalkorDB(sys.argv[1]).start()
print(db.pid, flush=True)
if sys.argv[2] == "hang":
    import time; time.sleep(60)
"""


def _wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("how", ["exit", "killed"])
def test_server_does_not_outlive_its_parent(tmp_path: Path, how: str) -> None:
    """A normal exit stops it (atexit); a SIGKILLed parent takes it down too (Linux)."""
    parent = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tmp_path), "hang" if how == "killed" else "exit"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    if how == "killed":
        parent.kill()
    parent.wait(30)
    parent.stdout.close()
    assert _wait_gone(pid), f"FalkorDB pid {pid} outlived its parent ({how})"
    if how == "exit":
        assert "Redis is now ready to exit" in (tmp_path / "falkordb.log").read_text()


def test_a_stop_after_few_writes_does_not_rewrite_the_log(tmp_path):
    """Rewriting the log takes about a second on the demo graph: a stop skips it when little
    was written since the last rewrite (the next start replays that little instead)."""
    from kg import EmbeddedFalkorDB, open_store

    logs = tmp_path / "g" / "appendonlydir"
    server = EmbeddedFalkorDB(tmp_path / "g").start()
    store = open_store(server.uri)
    store.upsert_products([{"id": f"p{i}", "title": f"t{i}"} for i in range(3000)])
    store.close()
    server.compact()  # after a bulk load: one snapshot
    snapshot = sorted(p.name for p in logs.iterdir())
    server.stop()  # nothing written since: no second rewrite
    assert sorted(p.name for p in logs.iterdir()) == snapshot
    server = EmbeddedFalkorDB(tmp_path / "g").start()
    store = open_store(server.uri)
    store.upsert_products([{"id": "p-new", "title": "a few bytes"}])
    store.close()
    server.stop()  # a few bytes appended: kept as a log, replayed at the next start
    assert sorted(p.name for p in logs.iterdir()) == snapshot
    server = EmbeddedFalkorDB(tmp_path / "g").start()
    store = open_store(server.uri)
    try:
        assert store.stats().nodes.get("Product") == 3001
    finally:
        store.close()
        server.stop()


def test_restart_loads_a_snapshot_not_a_replay(tmp_path):
    """A clean stop compacts the append-only log, so a restart does not replay every write."""
    from kg import EmbeddedFalkorDB, open_store

    server = EmbeddedFalkorDB(tmp_path / "g").start()
    store = open_store(server.uri)
    rows = [{"id": f"p{i}", "title": f"t{i}"} for i in range(3000)]
    for i in range(0, len(rows), 100):  # many small writes: many log entries
        store.upsert_products(rows[i : i + 100], batch_size=100)
    store.close()
    server.stop()
    incr = sorted((tmp_path / "g" / "appendonlydir").glob("*.incr.aof"))
    assert incr and incr[-1].stat().st_size == 0  # everything is in the snapshot base
    server = EmbeddedFalkorDB(tmp_path / "g").start()
    store = open_store(server.uri)
    try:
        assert store.stats().nodes.get("Product") == 3000
    finally:
        store.close()
        server.stop()


def test_spawn_returns_at_once_and_start_waits_for_it(tmp_path: Path) -> None:
    db = kg.EmbeddedFalkorDB(tmp_path / "data")
    try:
        assert db.spawn() is db
        assert db.running  # the child exists; it may still be loading
        assert db.start() is db  # waits for PING
        store = kg.open_store(db.uri, graph="spawned")
        store.init_schema()
        store.upsert_brands([{"id": "brand:a", "name": "Spawned"}])
        assert [e.name for e in store.lexicon(["Brand"])] == ["Spawned"]
        store.close()
        assert db.start() is db  # started: a no-op
    finally:
        db.stop()
    assert not db.running and not db.pid_path.exists()


def test_a_spawned_child_that_dies_is_reported_by_start(tmp_path: Path) -> None:
    db = kg.EmbeddedFalkorDB(tmp_path / "data", module_args=("NO_SUCH_OPTION", "1"))
    db.spawn()
    with pytest.raises(kg.EmbeddedServerError, match="during start-up"):
        db.start()
    assert not db.running


@pytest.mark.parametrize("policy", ["always", "everysec"])
def test_the_log_is_fsynced_as_asked(tmp_path: Path, policy: str) -> None:
    import redis

    with kg.EmbeddedFalkorDB(tmp_path / "data", fsync=policy) as db:
        client = redis.Redis(unix_socket_path=str(db.socket_path), decode_responses=True)
        try:
            assert client.config_get("appendfsync") == {"appendfsync": policy}
        finally:
            client.close()


def test_an_unknown_fsync_policy_is_refused(tmp_path: Path) -> None:
    from kgrec.errors import ConfigError
    from server.settings import Settings

    with pytest.raises(ValueError, match="'no' is not one of always, everysec"):
        kg.EmbeddedFalkorDB(tmp_path / "data", fsync="no")
    with pytest.raises(ConfigError, match="graph_fsync: 'sometimes' is not one of always"):
        Settings().replace(graph_fsync="sometimes").validate()


def test_a_graph_db_busy_building_its_indexes_is_waited_for(tmp_path: Path) -> None:
    """After loading a big graph FalkorDB accepts connections but answers nothing while it
    builds its indexes, for longer than ``start_timeout``: start-up must wait, not give up."""
    import socket
    import threading

    path = tmp_path / "s.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(64)
    ready_at = time.monotonic() + 2.0

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(64)
            if time.monotonic() >= ready_at:
                conn.sendall(b"+PONG\r\n")
            else:  # silent, as while building indexes; the client's read times out
                time.sleep(1.5)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    db = kg.EmbeddedFalkorDB(tmp_path / "data", start_timeout=0.5)
    db._proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    db._socket = path
    try:
        db._wait_ready()  # raised "did not answer PING within 0.5s" before
        assert time.monotonic() >= ready_at
    finally:
        db._proc.kill()
        db._proc.wait()
        listener.close()
