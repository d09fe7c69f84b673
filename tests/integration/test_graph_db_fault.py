"""Fault test: SIGKILL the embedded graph DB child of a real ``kgrec serve`` mid-traffic.

During the outage every call answers UNAVAILABLE within its deadline and health reports
NOT_SERVING; the supervisor reaps the dead child (no zombie) and restarts it; within 5 s of
the child being back, health is SERVING and Recommend gives the same answer as before; every
Feedback event the server acknowledged, before, during or after the outage, is in the graph.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kg import open_store
from kg.embedded import GRAPH_SUBDIR, PID_NAME
from kgrec.v1 import recommender_pb2 as pb
from kgrec.v1 import recommender_pb2_grpc as pb_grpc
from server.serve_process import ServeProcess

pytestmark = pytest.mark.slow

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
#: The supervisor's first wait before a restart: long enough to watch the outage.
RESTART_BACKOFF_S = 2.0
CALL_TIMEOUT_S = 1.0
FAULT_USER = "fault-user"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def _child_pid(data_dir: Path) -> int | None:
    try:
        return int(json.loads((data_dir / GRAPH_SUBDIR / PID_NAME).read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None


def _pongs(sock: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(0.5)
            conn.connect(str(sock))
            conn.sendall(b"*1\r\n$4\r\nPING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _is_zombie_or_alive(pid: int) -> bool:
    """A killed child stays in /proc as a zombie until its parent reaps it."""
    return Path(f"/proc/{pid}").exists()


class _Feeder(threading.Thread):
    """Sends Feedback calls in a loop; remembers the acknowledged ones and every failure."""

    def __init__(self, target: str, item_id: str) -> None:
        super().__init__(daemon=True)
        self.target = target
        self.item_id = item_id
        self.acked: list[str] = []
        self.failures: list[tuple[grpc.StatusCode, float]] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        with grpc.insecure_channel(self.target) as channel:
            stub = pb_grpc.RecommenderServiceStub(channel)
            while not self.stop_event.is_set():
                request = pb.FeedbackRequest(
                    user_id=FAULT_USER,
                    item_id=self.item_id,
                    event_type=pb.EVENT_TYPE_CLICK,
                    idempotency_key=uuid.uuid4().hex,
                )
                started = time.monotonic()
                try:
                    reply = stub.Feedback(request, timeout=CALL_TIMEOUT_S)
                except grpc.RpcError as e:
                    self.failures.append((e.code(), time.monotonic() - started))
                    time.sleep(0.02)
                else:
                    self.acked.append(reply.event_id)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServeProcess, int]]:
    data_dir = tmp_path_factory.mktemp("kgrec-fault")
    metrics_port = _free_port()
    process = ServeProcess(
        data_dir,
        *("--demo-products", "300", "--demo-users", "60", "--no-train-model"),
        *("--graph-restart-backoff-seconds", str(RESTART_BACKOFF_S)),
        *("--metrics-port", str(metrics_port), "--log-level", "WARNING"),
    )
    process.start()
    yield process, metrics_port
    assert process.stop() == 0, process.tail()
    assert not process.socket_path.exists(), "graph DB child left running"


def test_killed_graph_db_child_is_restarted_and_nothing_acknowledged_is_lost(
    served: tuple[ServeProcess, int],
) -> None:
    process, metrics_port = served
    channel = grpc.insecure_channel(process.target)
    stub = pb_grpc.RecommenderServiceStub(channel)
    health = health_pb2_grpc.HealthStub(channel)

    def status() -> int:
        try:
            return health.Check(health_pb2.HealthCheckRequest(service=""), timeout=1).status
        except grpc.RpcError:
            return -1

    def ask() -> list[str]:
        request = pb.RecommendRequest(message="red running shoes", limit=5)
        return [i.item_id for i in stub.Recommend(request, timeout=CALL_TIMEOUT_S * 5).items]

    assert _wait_for(lambda: status() == SERVING, 30)
    before = ask()
    assert before
    feeder = _Feeder(process.target, before[0])
    feeder.start()
    try:
        assert _wait_for(lambda: len(feeder.acked) >= 20, 30)
        old_pid = _child_pid(process.data_dir)
        assert old_pid is not None
        os.kill(old_pid, signal.SIGKILL)
        killed_at = time.monotonic()

        # the outage: UNAVAILABLE within the call's deadline, health NOT_SERVING
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as down:
            ask()
        assert down.value.code() == grpc.StatusCode.UNAVAILABLE, down.value.details()
        assert time.monotonic() - started < CALL_TIMEOUT_S
        assert _wait_for(lambda: status() == NOT_SERVING, RESTART_BACKOFF_S)
        assert time.monotonic() - killed_at < RESTART_BACKOFF_S  # seen before the restart

        # the dead child is reaped and a new one answers on the same socket
        assert _wait_for(lambda: not _is_zombie_or_alive(old_pid), 5), "zombie child"
        assert _wait_for(
            lambda: (
                _child_pid(process.data_dir) not in (None, old_pid) and _pongs(process.socket_path)
            ),
            RESTART_BACKOFF_S + 15,
            step=0.01,
        ), process.tail()
        back_at = time.monotonic()
        assert _wait_for(lambda: status() == SERVING, 5, step=0.02)
        assert ask() == before  # the same, correct answer, with no restart of kgrec
        assert time.monotonic() - back_at < 5.0
        assert _wait_for(lambda: len(feeder.acked) >= 40, 10)  # feedback flows again
    finally:
        feeder.stop_event.set()
        feeder.join(10)
        channel.close()

    # every failure in the outage was UNAVAILABLE, within its deadline
    assert feeder.failures, "the outage was not seen by the feedback traffic"
    assert {code for code, _ in feeder.failures} == {grpc.StatusCode.UNAVAILABLE}
    assert max(elapsed for _, elapsed in feeder.failures) < CALL_TIMEOUT_S
    # every acknowledged event survived the SIGKILL
    store = open_store(f"falkordb+unix://{process.socket_path}")
    try:
        stored = {e.event_id for e in store.user_events(FAULT_USER, limit=1_000_000)}
    finally:
        store.close()
    missing = set(feeder.acked) - stored
    assert not missing, f"{len(missing)} of {len(feeder.acked)} acknowledged events lost"

    # the restart is counted and the graph is up again: the supervisor counts it once its own
    # PING (polled up to every 0.1 s) is answered, which can come after a client's
    def graph_lines() -> list[str]:
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
            text = r.read().decode()
        return [line for line in text.splitlines() if line.startswith("kgrec_graph_")]

    counted = _wait_for(lambda: "kgrec_graph_restarts_total 1.0" in graph_lines(), 10)
    assert counted, "\n".join([*graph_lines(), process.tail()])
    assert "kgrec_graph_up 1.0" in graph_lines(), "\n".join(graph_lines())
