"""Health follows the background probe both ways: NOT_SERVING while the pipeline (the graph
DB) is down, SERVING again when it is back; a probe that hangs counts as down. Structured
(JSON) log lines carry the request id."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from server_fakes import FakePipeline, serving

import server.app
from server.app import SERVICE_NAME
from server.log import JsonFormatter, request_id_var

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture(autouse=True)
def fast_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server.app, "READY_POLL_SECONDS", 0.01)
    monkeypatch.setattr(server.app, "READY_TIMEOUT_SECONDS", 0.1)


async def _wait_status(stub: health_pb2_grpc.HealthStub, want: int) -> bool:
    for _ in range(300):
        statuses = {
            (await stub.Check(health_pb2.HealthCheckRequest(service=s))).status
            for s in ("", SERVICE_NAME)
        }
        if statuses == {want}:
            return True
        await asyncio.sleep(0.01)
    return False


class _HangingPipeline(FakePipeline):
    hang: asyncio.Event | None = None  # while set, ready() waits for it to be cleared
    probes: int = 0

    async def ready(self) -> bool:
        self.probes += 1
        if self.hang is not None:
            await self.hang.wait()
        return self.is_ready


def test_health_goes_not_serving_while_down_and_serving_when_back() -> None:
    async def scenario() -> list[bool]:
        fake = _HangingPipeline()
        seen = []
        async with serving(fake) as served:
            health = health_pb2_grpc.HealthStub(served.channel)
            seen.append(await _wait_status(health, SERVING))
            fake.is_ready = False  # the graph DB went away
            seen.append(await _wait_status(health, NOT_SERVING))
            fake.is_ready = True  # and came back
            seen.append(await _wait_status(health, SERVING))
            fake.hang = asyncio.Event()  # a probe that does not answer is "down" too
            seen.append(await _wait_status(health, NOT_SERVING))
            probes = fake.probes
            await asyncio.sleep(0.3)  # many probe rounds: still the one hung probe
            seen.append(fake.probes == probes)
            fake.hang.set()  # it answers at last
            fake.hang = None
            seen.append(await _wait_status(health, SERVING))
        return seen

    assert asyncio.run(scenario()) == [True] * 6


def test_json_log_lines_carry_the_request_id() -> None:
    record = logging.LogRecord("kgrec.test", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    token = request_id_var.set("req-123")
    try:
        line = JsonFormatter().format(record)
    finally:
        request_id_var.reset(token)
    data = json.loads(line)
    assert data["request_id"] == "req-123"
    assert data["message"] == "hello you" and data["level"] == "INFO"
    assert data["logger"] == "kgrec.test" and data["ts"].endswith("+00:00")
