"""Health follows pipeline readiness and shutdown; reflection lists the services."""

from __future__ import annotations

import asyncio

import grpc.aio
import pytest
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from server_fakes import FakePipeline, serving

import server.app
from server.app import SERVICE_NAME

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture(autouse=True)
def fast_ready_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server.app, "READY_POLL_SECONDS", 0.01)


async def _status(stub: health_pb2_grpc.HealthStub, service: str) -> int:
    response = await stub.Check(health_pb2.HealthCheckRequest(service=service))
    return response.status


async def _wait_status(stub: health_pb2_grpc.HealthStub, service: str, want: int) -> int:
    for _ in range(200):
        status = await _status(stub, service)
        if status == want:
            return status
        await asyncio.sleep(0.01)
    return status


def test_health_waits_for_ready_then_serves_then_drains() -> None:
    async def scenario() -> list[tuple[int, int]]:
        fake = FakePipeline(is_ready=False)
        seen = []
        async with serving(fake) as served:
            health = health_pb2_grpc.HealthStub(served.channel)
            await asyncio.sleep(0.05)  # several polls while not ready
            seen.append((await _status(health, ""), await _status(health, SERVICE_NAME)))
            fake.is_ready = True
            seen.append(
                (
                    await _wait_status(health, "", SERVING),
                    await _wait_status(health, SERVICE_NAME, SERVING),
                )
            )
            await served.running.health.enter_graceful_shutdown()  # what stop() does first
            seen.append((await _status(health, ""), await _status(health, SERVICE_NAME)))
        return seen

    assert asyncio.run(scenario()) == [
        (NOT_SERVING, NOT_SERVING),
        (SERVING, SERVING),
        (NOT_SERVING, NOT_SERVING),
    ]


def test_reflection_lists_services_and_describes_the_api() -> None:
    async def scenario() -> tuple[set[str], list[str]]:
        async with serving(FakePipeline()) as served:
            stub = reflection_pb2_grpc.ServerReflectionStub(served.channel)
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            responses = [r async for r in stub.ServerReflectionInfo(iter([request]))]
            names = {s.name for s in responses[0].list_services_response.service}

            def describe() -> list[str]:  # the sync client, as grpcurl would use it
                with grpc.insecure_channel(served.target) as channel:
                    pool = DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
                    service = pool.FindServiceByName(SERVICE_NAME)
                    return [m.name for m in service.methods]

            methods = await asyncio.to_thread(describe)
            return names, methods

    names, methods = asyncio.run(scenario())
    assert names == {
        "kgrec.v1.RecommenderService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }
    assert methods == ["Recommend", "Feedback", "RecommendStream"]


def test_health_watch_streams_through_the_interceptors() -> None:
    async def scenario() -> list[int]:
        fake = FakePipeline(is_ready=False)
        async with serving(fake) as served:
            stub = health_pb2_grpc.HealthStub(served.channel)
            call = stub.Watch(health_pb2.HealthCheckRequest(service=SERVICE_NAME))
            seen = [(await call.read()).status]
            fake.is_ready = True
            seen.append((await asyncio.wait_for(call.read(), 5)).status)
            call.cancel()
        return seen

    assert asyncio.run(scenario()) == [NOT_SERVING, SERVING]
