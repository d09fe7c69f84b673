"""``kgrec serve --workers 2``: a ``ReloadModel`` call answered by one worker reloads the
model in the other too (the parent passes it on as SIGHUP), and every worker learns it."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tiny_checkpoint import save_tiny_checkpoint

from kgrec.v1 import recommender_pb2 as pb
from kgrec.v1 import recommender_pb2_grpc as pb_grpc
from server.interceptors import WORKER_HEADER
from server.serve_process import ServeProcess

pytestmark = pytest.mark.slow


def _admin_on_a_worker(target: str) -> tuple[grpc.Channel, str]:
    channel = grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
    _, call = health_pb2_grpc.HealthStub(channel).Check.with_call(
        health_pb2.HealthCheckRequest(), timeout=30
    )
    return channel, dict(call.initial_metadata())[WORKER_HEADER]


def test_a_reload_call_on_one_worker_reloads_every_worker(tmp_path: Path) -> None:
    save_tiny_checkpoint(tmp_path / "models" / "ck0", "old", created=1.0)
    args = ("--workers", "2", "--demo-products", "60", "--demo-users", "10", "--no-train-model")
    with ServeProcess(tmp_path, *args, "--log-level", "INFO") as server:
        save_tiny_checkpoint(tmp_path / "models" / "ck1", "new", created=2.0)
        channel, worker = _admin_on_a_worker(server.target)
        with channel:
            reply = pb_grpc.AdminServiceStub(channel).ReloadModel(
                pb.ReloadModelRequest(), timeout=60
            )
        assert (reply.previous_version, reply.model_version) == ("old", "new")
        other = "1" if worker == "0" else "0"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            f"/w{other} " in line and "model reload: old -> new" in line for line in server.output
        ):
            time.sleep(0.1)
        out = server.tail(200)
        assert f"/w{other} [-] SIGHUP: reloading" in out, out
        assert sum("model reload: old -> new" in line for line in server.output) == 2, out
