"""A dead embedded FalkorDB child is reaped and restarted on the same socket, by hand
(``restart``) or by :class:`kg.embedded_supervisor.EmbeddedSupervisor`, with bounded backoff;
an open store reconnects by itself and sees every acknowledged write."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

import kg
from kg.embedded_supervisor import EmbeddedSupervisor
from kgrec.errors import GraphUnavailableError


def _wait(predicate: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def _kill(db: kg.EmbeddedFalkorDB) -> int:
    pid = db.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert _wait(lambda: db.crashed)  # reaped: no zombie left behind
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    return pid


@pytest.mark.parametrize("deep", [False, True], ids=["data-dir-socket", "private-socket"])
def test_restart_reuses_the_socket_and_the_open_store_reconnects(
    tmp_path: Path, deep: bool
) -> None:
    data = tmp_path / ("d" * 60) / ("e" * 60) if deep else tmp_path
    db = kg.EmbeddedFalkorDB(data).start()
    try:
        assert not db.restart()  # running: nothing to do
        sock = db.socket_path
        store = kg.open_store(db.uri, graph="g")
        store.init_schema()
        store.upsert_brands([{"id": f"brand:{i}", "name": f"B{i}"} for i in range(20)])
        old = _kill(db)
        with pytest.raises(GraphUnavailableError):
            store.stats()
        assert db.restart()
        assert db.running and db.pid != old and db.socket_path == sock
        assert store.stats().nodes == {"Brand": 20}  # same store object, acknowledged writes
        store.close()
    finally:
        db.stop()
    assert not db.crashed and not db.restart()  # stopped on purpose: not restarted
    if deep:
        assert not sock.parent.exists()


def test_supervisor_restarts_a_killed_child_and_counts_it(tmp_path: Path) -> None:
    db = kg.EmbeddedFalkorDB(tmp_path).start()
    restarted: list[int | None] = []
    sup = EmbeddedSupervisor(
        db, check_interval=0.05, backoff=0.05, on_restart=lambda: restarted.append(db.pid)
    ).start()
    try:
        store = kg.open_store(db.uri, graph="g")
        store.create_session("s1", "u", 1.0)
        for round_ in range(2):
            old = db.pid
            assert old is not None
            os.kill(old, signal.SIGKILL)
            assert _wait(lambda n=round_: len(restarted) == n + 1), db.log_path.read_text()
            assert db.running and db.pid != old
        assert sup.restarts == 2 and sup.failures == 0
        assert store.get_session("s1") is not None
        store.close()
    finally:
        sup.stop()
        db.stop()
    assert not db.running


def test_supervisor_backs_off_when_the_restart_fails(tmp_path: Path) -> None:
    db = kg.EmbeddedFalkorDB(tmp_path).start()
    failures: list[float] = []
    sup = EmbeddedSupervisor(
        db,
        check_interval=0.02,
        backoff=0.05,
        max_backoff=0.4,
        on_failure=lambda e: failures.append(time.monotonic()),
    )
    db.module_args = ("NO_SUCH_OPTION", "1")  # every new child exits during start-up
    try:
        sup.start()
        os.kill(db.pid or 0, signal.SIGKILL)
        assert _wait(lambda: len(failures) >= 5, timeout=20)
        gaps = [b - a for a, b in zip(failures, failures[1:], strict=False)]
        assert gaps[-1] > 2 * gaps[0]  # waits grow: no busy restart loop
        db.module_args = ()
        assert _wait(lambda: sup.restarts == 1, timeout=10)  # and it comes back when it can
        assert db.running
    finally:
        sup.stop()
        db.stop()
