"""``kgrec serve --workers 2``: two server processes on one port, one start-up, one graph.

Calls are pinned to a worker by their connection (``SO_REUSEPORT`` hands each connection to
one process; ``x-kgrec-worker`` names it), so a Feedback answered by one worker and the next
turn answered by the other prove that sessions are shared. Also: the announce line once,
SIGTERM stopping every process, a crashed worker restarted, no worker outliving a killed
parent, a taken port refused.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kgrec.v1 import recommender_pb2 as pb
from kgrec.v1 import recommender_pb2_grpc as pb_grpc
from server.interceptors import WORKER_HEADER
from server.serve_process import ANNOUNCE, ServeProcess

pytestmark = pytest.mark.slow

ARGS = (
    *("--workers", "2", "--demo-products", "300", "--demo-users", "40", "--no-train-model"),
    *("--log-level", "INFO"),
)


def workers_of(parent: int) -> list[int]:
    """The pids of ``parent``'s worker processes (not the graph DB child)."""
    found = []
    for kid in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
        try:
            if b"server.worker" in Path(f"/proc/{kid}/cmdline").read_bytes():
                found.append(int(kid))
        except FileNotFoundError:  # exited meanwhile
            continue
    return found


def alive(pid: int) -> bool:
    try:
        # a zombie is dead too (its parent has not reaped it yet)
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def wait_until(condition, timeout: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def pinned_stubs(target: str) -> dict[str, pb_grpc.RecommenderServiceStub]:
    """One stub per worker, each on its own connection (found by opening connections until
    both workers answered; the kernel picks the worker per connection)."""
    found: dict[str, pb_grpc.RecommenderServiceStub] = {}
    for _ in range(64):
        # a local subchannel pool: a new connection per channel, not a shared one
        channel = grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
        health = health_pb2_grpc.HealthStub(channel)
        _, call = health.Check.with_call(health_pb2.HealthCheckRequest(), timeout=30)
        worker = dict(call.initial_metadata())[WORKER_HEADER]
        if worker in found:
            channel.close()
            continue
        found[worker] = pb_grpc.RecommenderServiceStub(channel)
        if len(found) == 2:
            return found
    raise AssertionError(f"64 connections reached only workers {sorted(found)}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    process = ServeProcess(tmp_path_factory.mktemp("kgrec-workers"), *ARGS)
    process.start()
    yield process
    process.stop()


def ask(stub: pb_grpc.RecommenderServiceStub, **kw: object) -> tuple[pb.RecommendResponse, str]:
    reply, call = stub.Recommend.with_call(pb.RecommendRequest(**kw), timeout=60)
    return reply, dict(call.initial_metadata())[WORKER_HEADER]


def test_both_workers_answer_and_the_announce_is_printed_once(server: ServeProcess) -> None:
    stubs = pinned_stubs(server.target)
    for name, stub in stubs.items():
        reply, worker = ask(stub, message="yoga mats", limit=3)
        assert worker == name and len(reply.items) == 3
    assert len(workers_of(server.pid)) == 2
    assert sum(bool(ANNOUNCE.search(line)) for line in server.output) == 1


def test_feedback_on_one_worker_reaches_the_next_turn_on_the_other(server: ServeProcess) -> None:
    stubs = pinned_stubs(server.target)
    a, b = stubs["0"], stubs["1"]
    first, worker = ask(a, message="yoga mats", limit=5)
    assert worker == "0"
    gone = first.items[0].item_id
    _, call = a.Feedback.with_call(
        pb.FeedbackRequest(
            session_id=first.session_id, item_id=gone, event_type=pb.EVENT_TYPE_DISMISS
        ),
        timeout=30,
    )
    assert dict(call.initial_metadata())[WORKER_HEADER] == "0"
    second, worker = ask(b, message="yoga mats", limit=5, session_id=first.session_id)
    assert worker == "1" and second.session_id == first.session_id
    assert gone not in {i.item_id for i in second.items}
    # without the feedback the other worker shows it: the session made the difference
    control, _ = ask(b, message="yoga mats", limit=5)
    assert gone in {i.item_id for i in control.items}


def test_a_crashed_worker_is_restarted(server: ServeProcess) -> None:
    before = workers_of(server.pid)
    lines = len(server.output)
    os.kill(before[0], signal.SIGKILL)
    restarted = wait_until(
        lambda: (
            any("listens" in line for line in server.output[lines:])
            and len(workers_of(server.pid)) == 2
        )
    )
    assert restarted, server.tail()
    assert any("exited with signal 9: restarting" in line for line in server.output[lines:])
    assert before[0] not in workers_of(server.pid)
    assert len(pinned_stubs(server.target)) == 2


def test_sigterm_stops_every_process(tmp_path: Path) -> None:
    process = ServeProcess(tmp_path, *ARGS).start()
    workers = workers_of(process.pid)
    assert len(workers) == 2
    assert process.stop() == 0, process.tail()
    assert not [pid for pid in workers if alive(pid)]
    assert not process.socket_path.exists(), "graph DB child left running"
    out = "".join(process.output)
    assert out.count("received SIGTERM: stopping") == 2  # each worker drained


def test_no_worker_outlives_a_killed_parent(tmp_path: Path) -> None:
    process = ServeProcess(tmp_path, *ARGS).start()
    workers = workers_of(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    assert wait_until(lambda: not [pid for pid in workers if alive(pid)], 30), "orphan worker"
    process.stop()


def test_a_taken_port_is_refused(server: ServeProcess, tmp_path: Path) -> None:
    port = str(server.port)
    for workers in ("2", "1"):
        cmd = [sys.executable, "-m", "kgrec.cli", "serve", "--data-dir", str(tmp_path)]
        cmd += ["--port", port, "--workers", workers, "--no-train-model", "--demo-products", "50"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert len(pinned_stubs(server.target)) == 2  # the server still serves
