"""One status-code assertion per row of the exception table, through a real server."""

from __future__ import annotations

import asyncio
import logging

import grpc
import grpc.aio
import pytest
from server_fakes import FakePipeline, serving

from kgrec.errors import (
    ConfigError,
    ConflictError,
    DeadlineExceededError,
    GraphUnavailableError,
    IdempotencyKeyReusedError,
    ItemNotFoundError,
    OverloadedError,
    SessionNotFoundError,
    UnavailableError,
)
from kgrec.v1 import recommender_pb2 as pb
from server.errors import STATUS_TABLE

RECOMMEND = pb.RecommendRequest(message="red shoes", session_id="s1")
FEEDBACK = pb.FeedbackRequest(item_id="product:1", event_type=pb.EVENT_TYPE_LIKE)


async def _recommend_error(
    error: BaseException | None, request: pb.RecommendRequest
) -> grpc.aio.AioRpcError:
    async with serving(FakePipeline(error=error)) as served:
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await served.stub.Recommend(request)
        return exc.value


async def _stream_error(error: BaseException) -> grpc.aio.AioRpcError:
    async with serving(FakePipeline(error=error)) as served:
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            async for _ in served.stub.RecommendStream(RECOMMEND):
                pass
        return exc.value


async def _feedback_error(
    error: BaseException | None, request: pb.FeedbackRequest
) -> grpc.aio.AioRpcError:
    async with serving(FakePipeline(error=error)) as served:
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await served.stub.Feedback(request)
        return exc.value


def test_invalid_input_is_invalid_argument_naming_the_field() -> None:
    err = asyncio.run(_recommend_error(None, pb.RecommendRequest(message="x", limit=0)))
    assert (err.code(), err.details().split(":")[0]) == (grpc.StatusCode.INVALID_ARGUMENT, "limit")


def test_one_megabyte_message_reaches_validation() -> None:
    err = asyncio.run(_recommend_error(None, pb.RecommendRequest(message="a" * (1 << 20))))
    assert (err.code(), err.details().split(":")[0]) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "message",
    )


def test_bytes_that_are_not_utf8_are_invalid_argument_naming_request() -> None:
    async def scenario() -> grpc.aio.AioRpcError:
        async with serving(FakePipeline()) as served:
            raw_call = served.channel.unary_unary(
                "/kgrec.v1.RecommenderService/Recommend",
                request_serializer=lambda b: b,
                response_deserializer=lambda b: b,
            )
            with pytest.raises(grpc.aio.AioRpcError) as exc:
                await raw_call(b"\x1a\x04ab\xff\xfe")  # field 3 (message) = b"ab\xff\xfe"
            return exc.value

    err = asyncio.run(scenario())
    assert (err.code(), err.details().split(":")[0]) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "request",
    )


def test_unknown_session_is_not_found() -> None:
    err = asyncio.run(_recommend_error(SessionNotFoundError("s1"), RECOMMEND))
    assert err.code() == grpc.StatusCode.NOT_FOUND


def test_unknown_item_is_not_found() -> None:
    err = asyncio.run(_feedback_error(ItemNotFoundError("product:1"), FEEDBACK))
    assert err.code() == grpc.StatusCode.NOT_FOUND


def test_feedback_validation_is_invalid_argument() -> None:
    err = asyncio.run(_feedback_error(None, pb.FeedbackRequest(item_id="product:1")))
    assert (err.code(), err.details().split(":")[0]) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "event_type",
    )


def test_graph_down_is_unavailable() -> None:
    err = asyncio.run(
        _recommend_error(GraphUnavailableError("redis at /tmp/x.sock refused"), RECOMMEND)
    )
    assert err.code() == grpc.StatusCode.UNAVAILABLE
    assert "/tmp/x.sock" not in err.details()  # internal detail stays in the log


def test_other_dependency_down_is_unavailable() -> None:
    err = asyncio.run(_recommend_error(UnavailableError("llm endpoint"), RECOMMEND))
    assert err.code() == grpc.StatusCode.UNAVAILABLE


def test_deadline_is_deadline_exceeded() -> None:
    err = asyncio.run(_recommend_error(DeadlineExceededError("scoring"), RECOMMEND))
    assert err.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_asyncio_timeout_is_deadline_exceeded() -> None:
    err = asyncio.run(_recommend_error(TimeoutError(), RECOMMEND))
    assert err.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_overloaded_is_resource_exhausted() -> None:
    err = asyncio.run(_recommend_error(OverloadedError("busy"), RECOMMEND))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_a_session_conflict_past_retries_is_aborted() -> None:
    err = asyncio.run(_feedback_error(ConflictError("busy session"), FEEDBACK))
    assert err.code() == grpc.StatusCode.ABORTED
    assert "busy session" not in err.details()


def test_a_reused_idempotency_key_is_invalid_argument() -> None:
    err = asyncio.run(_feedback_error(IdempotencyKeyReusedError("k1"), FEEDBACK))
    assert (err.code(), err.details().split(":")[0]) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "idempotency_key",
    )


def test_anything_else_is_internal_with_only_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> tuple[grpc.aio.AioRpcError, str]:
        async with serving(FakePipeline(error=ZeroDivisionError("secret-detail"))) as served:
            call = served.stub.Recommend(RECOMMEND)
            with pytest.raises(grpc.aio.AioRpcError) as exc:
                await call
            metadata = await call.initial_metadata()
            return exc.value, dict(metadata)["x-request-id"]

    with caplog.at_level(logging.ERROR, logger="server.errors"):
        err, request_id = asyncio.run(scenario())
    assert err.code() == grpc.StatusCode.INTERNAL
    assert err.details() == f"internal error (request id {request_id})"
    assert "secret-detail" in caplog.text and "Traceback" in caplog.text  # logged, not sent


def test_config_error_is_internal() -> None:
    err = asyncio.run(_recommend_error(ConfigError("bad registry name"), RECOMMEND))
    assert err.code() == grpc.StatusCode.INTERNAL


def test_streaming_errors_are_mapped_too() -> None:
    err = asyncio.run(_stream_error(SessionNotFoundError("s1")))
    assert err.code() == grpc.StatusCode.NOT_FOUND


def test_every_table_row_is_exercised_above() -> None:
    # Keeps this file and the table in step: a new row needs a new test here.
    assert {row.exc_type.__name__ for row in STATUS_TABLE} == {
        "InvalidInputError",
        "NotFoundError",
        "UnavailableError",
        "DeadlineExceededError",
        "TimeoutError",
        "OverloadedError",
        "ConflictError",
    }


def test_concurrency_limit_rejects_past_max_in_flight() -> None:
    async def scenario() -> tuple[grpc.StatusCode, pb.RecommendResponse]:
        gate, entered = asyncio.Event(), asyncio.Event()
        fake = FakePipeline(gate=gate, entered=entered)
        async with serving(fake, max_in_flight=1) as served:
            first = asyncio.ensure_future(served.stub.Recommend(RECOMMEND))
            await asyncio.wait_for(entered.wait(), 5)
            with pytest.raises(grpc.aio.AioRpcError) as exc:
                await served.stub.Recommend(RECOMMEND)
            gate.set()
            response = await first
            assert served.running.limiter is not None
            assert served.running.limiter.in_flight == 0
            return exc.value.code(), response

    code, response = asyncio.run(scenario())
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert len(response.items) == 3
