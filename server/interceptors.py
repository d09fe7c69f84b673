"""Cross-cutting concerns of every call, as ``grpc.aio`` server interceptors.

Install them in this order (``server/app.py`` does)::

    [RequestIdInterceptor(), ExceptionMappingInterceptor(), ConcurrencyLimitInterceptor(n)]

The first is outermost: the request id is set before anything can log or fail, exceptions
from the limiter and the servicer are both mapped to status codes, and the limiter counts
only calls that reach the servicer.

A ``grpc.aio`` interceptor only sees the call's handler, not the call itself, so each of
these wraps the handler's behaviour (the servicer method) in a new coroutine or async
generator; that works the same for unary and response-streaming methods. Each call runs in
its own asyncio task, so a context variable set in the wrapper is seen by everything the call
awaits and by nothing else.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
from google.protobuf.message import DecodeError

from kgrec.errors import InvalidInputError, OverloadedError
from kgrec.v1 import recommender_pb2 as pb
from server.deadline import check_deadline, deadline_var
from server.errors import status_for
from server.log import current_request_id, request_id_var
from server.metrics import METRICS, Metrics, status_code_of

logger = logging.getLogger(__name__)

#: The metadata key a client may send its own request id in, and the server answers with.
REQUEST_ID_HEADER = "x-request-id"
#: The metadata key naming the worker process that answered (``kgrec serve --workers N``).
WORKER_HEADER = "x-kgrec-worker"
#: A client-sent id is kept only if it looks like an id; otherwise a fresh uuid4 is used.
_CLIENT_ID_RE = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
#: Methods the concurrency limit applies to (never health checks or reflection).
KGREC_METHOD_PREFIX = "/kgrec.v1."

Behavior = Callable[..., Any]
Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]]


class _WrappingInterceptor(grpc.aio.ServerInterceptor):
    """Base: rebuilds the handler with every behaviour run inside :meth:`around`."""

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None or not self.applies_to(handler_call_details):
            return handler
        replaced: dict[str, Any] = {}
        for kind in ("unary_unary", "unary_stream", "stream_unary", "stream_stream"):
            behavior = getattr(handler, kind)
            if behavior is not None:
                replaced[kind] = self._wrap(behavior, handler_call_details)
        if handler.request_deserializer is not None and not handler.request_streaming:
            replaced["request_deserializer"] = self.wrap_deserializer(handler.request_deserializer)
        return handler._replace(**replaced)  # RpcMethodHandler is a namedtuple

    def wrap_deserializer(self, deserializer: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
        """Hook: replace the request deserializer of unary-request methods."""
        return deserializer

    def check_request(self, request: Any) -> None:
        """Hook: called with the request inside :meth:`around`, before the behaviour."""

    def applies_to(self, handler_call_details: grpc.HandlerCallDetails) -> bool:
        return True

    def _wrap(self, behavior: Behavior, details: grpc.HandlerCallDetails) -> Behavior:
        if inspect.isasyncgenfunction(behavior):

            async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                async with self.around(details, context):
                    self.check_request(request)
                    async for response in behavior(request, context):
                        yield response

            return stream

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            async with self.around(details, context):
                self.check_request(request)
                result = behavior(request, context)
                if inspect.isawaitable(result):
                    result = await result
                return result

        return unary

    def around(
        self, details: grpc.HandlerCallDetails, context: grpc.aio.ServicerContext
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """An async context manager entered around the behaviour of one call."""
        raise NotImplementedError


class RequestIdInterceptor(_WrappingInterceptor):
    """Gives each call a request id and returns it as initial metadata ``x-request-id``.

    The id is the client's ``x-request-id`` metadata when it looks like an id (at most 128
    characters of ``[A-Za-z0-9._:-]``), else a fresh uuid4 hex. It is stored in
    :data:`server.log.request_id_var`, which the servicer copies into the domain query and
    the log filter adds to every log record.

    ``worker``: with several worker processes (``kgrec serve --workers N``), this one's index,
    sent as ``x-kgrec-worker`` too (which process answered, for debugging and tests).
    """

    def __init__(self, worker: int | None = None) -> None:
        self._extra = () if worker is None else ((WORKER_HEADER, str(worker)),)

    @contextlib.asynccontextmanager
    async def around(
        self, details: grpc.HandlerCallDetails, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[None]:
        request_id = _incoming_request_id(details.invocation_metadata)
        # No reset on exit: the call's task (and so its context) ends with the call.
        request_id_var.set(request_id)
        try:
            await context.send_initial_metadata(((REQUEST_ID_HEADER, request_id), *self._extra))
        except Exception:  # the call may already be cancelled; the id still gets logged
            logger.debug("could not send initial metadata", exc_info=True)
        yield


def _incoming_request_id(metadata: Any) -> str:
    for key, value in metadata or ():
        if key == REQUEST_ID_HEADER and isinstance(value, str) and _CLIENT_ID_RE.fullmatch(value):
            return value
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class _Undecodable:
    """Stands in for a request whose bytes did not parse (e.g. a string with bad UTF-8)."""

    error: str


class ExceptionMappingInterceptor(_WrappingInterceptor):
    """Turns an exception raised by a call into its status code (``server/errors.py`` table).

    ``context.abort`` from inside the call (gRPC's own ``AbortError``) and cancellation pass
    through untouched. A unary request that does not parse (protobuf rejects strings that are
    not valid UTF-8) is ``INVALID_ARGUMENT`` naming ``request``, where gRPC alone would answer
    ``UNKNOWN`` with the Python exception's name.
    """

    def wrap_deserializer(self, deserializer: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
        def deserialize(data: bytes) -> Any:
            try:
                return deserializer(data)
            except DecodeError as e:
                return _Undecodable(str(e))

        return deserialize

    def check_request(self, request: Any) -> None:
        if isinstance(request, _Undecodable):
            raise InvalidInputError(
                "request", f"is not a valid message (text must be UTF-8): {request.error}"
            )

    @contextlib.asynccontextmanager
    async def around(
        self, details: grpc.HandlerCallDetails, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[None]:
        try:
            yield
        except grpc.aio.BaseError:  # context.abort() from the call itself: already a status
            raise
        except Exception as exc:
            code, message = status_for(exc, current_request_id())
            await context.abort(code, message)  # raises AbortError, which ends the call


class ConcurrencyLimitInterceptor(_WrappingInterceptor):
    """Rejects a ``kgrec.v1`` call with ``OverloadedError`` when ``max_in_flight`` are running.

    Shedding load early keeps latency bounded for the calls that are admitted; the client
    sees ``RESOURCE_EXHAUSTED`` and should back off. Health checks and reflection are never
    limited.
    """

    def __init__(self, max_in_flight: int) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be >= 1")
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    def applies_to(self, handler_call_details: grpc.HandlerCallDetails) -> bool:
        return handler_call_details.method.startswith(KGREC_METHOD_PREFIX)

    @contextlib.asynccontextmanager
    async def around(
        self, details: grpc.HandlerCallDetails, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[None]:
        if self.in_flight >= self.max_in_flight:
            raise OverloadedError(
                f"{self.in_flight} requests in flight (limit {self.max_in_flight})"
            )
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1


class MetricsInterceptor(_WrappingInterceptor):
    """Counts ``kgrec.v1`` calls by method and status code, times them, and counts Feedback
    events by type (``server/metrics.py``).

    Install it inside :class:`ExceptionMappingInterceptor` (after it in the list): it sees the
    domain exception before the mapping turns it into an abort, and derives the code from the
    same table, so the two agree.
    """

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.metrics = metrics if metrics is not None else METRICS

    def applies_to(self, handler_call_details: grpc.HandlerCallDetails) -> bool:
        return handler_call_details.method.startswith(KGREC_METHOD_PREFIX)

    def _wrap(self, behavior: Behavior, details: grpc.HandlerCallDetails) -> Behavior:
        method = details.method.rsplit("/", 1)[-1]
        metrics = self.metrics

        def done(started: float, exc: BaseException | None, context: Any) -> None:
            code = status_code_of(exc, context)
            metrics.observe_call(method, code, time.perf_counter() - started, exc)

        if inspect.isasyncgenfunction(behavior):

            async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                started = time.perf_counter()
                try:
                    async for response in behavior(request, context):
                        yield response
                except BaseException as exc:
                    done(started, exc, context)
                    raise
                done(started, None, context)

            return stream

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            try:
                result = behavior(request, context)
                if inspect.isawaitable(result):
                    result = await result
            except BaseException as exc:
                done(started, exc, context)
                raise
            done(started, None, context)
            if method == "Feedback" and isinstance(request, pb.FeedbackRequest):
                metrics.feedback.labels(
                    _event_type_name(request.event_type),
                    str(bool(getattr(result, "duplicate", False))).lower(),
                ).inc()
            return result

        return unary


def _event_type_name(value: int) -> str:
    try:
        return pb.EventType.Name(value)
    except ValueError:  # an enum value this server does not know
        return str(value)


class DeadlineInterceptor(_WrappingInterceptor):
    """Sets the call's deadline (:data:`server.deadline.deadline_var`, monotonic seconds).

    The deadline is the client's (``context.time_remaining()``) or, when the client sent none
    or a longer one, ``max_seconds`` (``0``: no server maximum). The pipeline checks it
    between the steps of a turn and before it writes, and gives up with
    ``DeadlineExceededError`` (``DEADLINE_EXCEEDED``) once it has passed, so an expired call
    does no further work and writes nothing.
    """

    def __init__(self, max_seconds: float = 0.0) -> None:
        if max_seconds < 0:
            raise ValueError("max_seconds must be >= 0")
        self.max_seconds = max_seconds

    def applies_to(self, handler_call_details: grpc.HandlerCallDetails) -> bool:
        return handler_call_details.method.startswith(KGREC_METHOD_PREFIX)

    @contextlib.asynccontextmanager
    async def around(
        self, details: grpc.HandlerCallDetails, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[None]:
        budgets = [self.max_seconds] if self.max_seconds > 0 else []
        remaining = context.time_remaining()
        if remaining is not None:
            budgets.append(max(remaining, 0.0))
        # No reset on exit: the call's task (and so its context) ends with the call.
        deadline_var.set(time.monotonic() + min(budgets) if budgets else None)
        check_deadline("start")
        yield


__all__ = [
    "KGREC_METHOD_PREFIX",
    "REQUEST_ID_HEADER",
    "WORKER_HEADER",
    "ConcurrencyLimitInterceptor",
    "DeadlineInterceptor",
    "ExceptionMappingInterceptor",
    "MetricsInterceptor",
    "RequestIdInterceptor",
]
