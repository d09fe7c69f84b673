"""Ctrl-C on ``kgrec serve``: the process is gone within 2 s, the graph DB child stopped
cleanly, and feedback acknowledged just before the signal is in the graph afterwards.

The real ``kgrec serve`` as a child process on a free port, with a small demo and no model
training (the start-up is not under test)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kg import EmbeddedFalkorDB, open_store
from kg.embedded import GRAPH_SUBDIR
from kgrec.v1 import recommender_pb2 as pb
from kgrec.v1 import recommender_pb2_grpc as pb_grpc
from server.serve_process import ServeProcess

pytestmark = pytest.mark.slow

EXIT_WITHIN_S = 2.0


def test_ctrl_c_exits_within_two_seconds_and_keeps_what_was_acknowledged(tmp_path: Path) -> None:
    process = ServeProcess(
        tmp_path,
        *("--demo-products", "800", "--demo-users", "200", "--no-train-model"),
        *("--log-level", "INFO"),
    )
    process.start()
    try:
        with grpc.insecure_channel(process.target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            deadline = time.monotonic() + 60  # the port is announced just before SERVING
            while (
                health.Check(health_pb2.HealthCheckRequest(service=""), timeout=30).status
                != health_pb2.HealthCheckResponse.SERVING
            ):
                assert time.monotonic() < deadline, f"never SERVING:\n{process.tail()}"
                time.sleep(0.05)
            stub = pb_grpc.RecommenderServiceStub(channel)
            first = pb.RecommendRequest(message="shoes", limit=1, user_id="user:ctrl-c")
            answer = stub.Recommend(first, timeout=60)  # the session is user:ctrl-c's
            ack = stub.Feedback(
                pb.FeedbackRequest(
                    user_id="user:ctrl-c",
                    session_id=answer.session_id,
                    item_id=answer.items[0].item_id,
                    event_type=pb.EVENT_TYPE_PURCHASE,
                    idempotency_key="ctrl-c-1",
                ),
                timeout=30,
            )
            assert ack.accepted
        proc = process._proc
        assert proc is not None
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"kgrec serve still running 30 s after SIGINT:\n{process.tail()}")
        took = time.monotonic() - started
    finally:
        process.stop()  # no-op once it exited; kills it if the test failed before
    log = process.tail(200)
    assert took <= EXIT_WITHIN_S, f"exit took {took:.2f} s after SIGINT:\n{log}"
    assert code == 0, log  # a clean stop, not a crash or a kill
    assert "stopped (exit code 0)" in log and "Traceback" not in log
    assert not process.socket_path.exists(), "graph DB child left running"
    # the purchase acknowledged before Ctrl-C survived the stop
    with EmbeddedFalkorDB(tmp_path / GRAPH_SUBDIR) as db:
        store = open_store(db.uri)
        try:
            events = store.user_events("user:ctrl-c")
        finally:
            store.close()
    assert [(e.event_id, e.type) for e in events] == [(ack.event_id, "purchase")]
