"""The gRPC server: start it, stop it gracefully, serve until a signal.

``start_server`` wires the pieces: the interceptors (request id -> API-key auth when keys are
configured (``server/auth.py``) -> exception mapping -> concurrency limit), TLS when
configured, the recommender servicer, the admin servicer (``ForgetUser``; ``ReloadModel``
when the pipeline can swap its scorer) when the pipeline has a graph store, the standard
health service and server reflection (so ``grpcurl -plaintext localhost:50051 list`` works,
and ``describe`` shows the ``.proto`` comments: see ``server/reflection.py``).

Health: ``""`` and ``kgrec.v1.RecommenderService`` follow ``pipeline.ready()``, probed in the
background every :data:`READY_POLL_SECONDS` (it pings the graph DB): NOT_SERVING until it
first answers True, SERVING while it does, NOT_SERVING again while the graph DB is down (a
probe fails or takes longer than :data:`READY_TIMEOUT_SECONDS`), and NOT_SERVING for good from
the moment shutdown starts, so a load balancer drains the server before it stops accepting
calls.

Metrics: with ``settings.metrics_port`` set, Prometheus metrics (``server/metrics.py``) are
served over HTTP at ``/metrics`` on that port of ``settings.host``.

As worker ``i`` of several (``kgrec serve --workers N``, ``server/workers.py``): the gRPC port
is bound with ``SO_REUSEPORT`` (the kernel spreads connections over the workers), every
response names the worker in ``x-kgrec-worker``, metrics are on ``metrics_port + i``, and a
``ReloadModel`` call, once it reloaded this worker, has the parent reload the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from kgrec.v1 import recommender_pb2 as pb
from kgrec.v1 import recommender_pb2_grpc as pb_grpc
from server.apikeys import KeyRing
from server.auth import AuthInterceptor, check_exposure, server_credentials, warn_exposure
from server.interceptors import (
    ConcurrencyLimitInterceptor,
    DeadlineInterceptor,
    ExceptionMappingInterceptor,
    MetricsInterceptor,
    RequestIdInterceptor,
)
from server.metrics import METRICS, MetricsEndpoint
from server.protocols import RecommenderPipeline
from server.reflection import enable_reflection
from server.reload import ModelReloader, scorer_options
from server.servicer import AdminServicer, RecommenderServicer
from server.settings import Settings
from server.worker_slot import WorkerSlot

logger = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["RecommenderService"].full_name
ADMIN_SERVICE_NAME = pb.DESCRIPTOR.services_by_name["AdminService"].full_name
#: Big enough that an oversized chat message reaches validation (and gets a clear
#: INVALID_ARGUMENT naming ``message``) instead of a transport-level rejection.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
#: How often the health service asks ``pipeline.ready()``.
READY_POLL_SECONDS = 0.5
#: A probe that takes longer than this counts as "not ready".
READY_TIMEOUT_SECONDS = 2.0


class ListenError(OSError):
    """The server cannot listen on its address (the port is taken, the host is not ours)."""


@dataclass
class RunningServer:
    """A started server. ``port`` is the bound port (useful with ``port=0``)."""

    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    interceptors: tuple[grpc.aio.ServerInterceptor, ...] = ()
    _ready_task: asyncio.Task[None] | None = field(default=None, repr=False)
    metrics_endpoint: MetricsEndpoint | None = None

    @property
    def limiter(self) -> ConcurrencyLimitInterceptor | None:
        for interceptor in self.interceptors:
            if isinstance(interceptor, ConcurrencyLimitInterceptor):
                return interceptor
        return None

    async def stop(self, grace: float | None) -> None:
        """Report NOT_SERVING, refuse new calls, give in-flight calls ``grace`` seconds."""
        if self._ready_task is not None:
            self._ready_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ready_task
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        if self.metrics_endpoint is not None:
            self.metrics_endpoint.close()
            self.metrics_endpoint = None

    async def wait_for_termination(self) -> None:
        await self.server.wait_for_termination()


async def _watch_ready(pipeline: RecommenderPipeline, health_servicer: Any) -> None:
    """Probe ``pipeline.ready()`` until cancelled; set health on every change.

    One probe at a time: a probe still running after :data:`READY_TIMEOUT_SECONDS` counts as
    "not ready" and is awaited again on the next round rather than joined by another, so a
    hung graph DB does not pile up blocked probe threads.
    """
    state = _HealthState()
    probe: asyncio.Future[bool] | None = None
    try:
        while True:
            if probe is None:
                probe = asyncio.ensure_future(pipeline.ready())
            done, _ = await asyncio.wait({probe}, timeout=READY_TIMEOUT_SECONDS)
            ready = False
            if probe in done:
                try:
                    ready = bool(probe.result())
                except Exception:  # noqa: BLE001 - a failed probe is "not ready", never a crash
                    logger.debug("pipeline.ready() failed", exc_info=True)
                probe = None
            await state.update(health_servicer, ready)
            await asyncio.sleep(READY_POLL_SECONDS)
    finally:
        if probe is not None:
            probe.cancel()


@dataclass
class _HealthState:
    """What the probe loop last reported (``serving`` is None before the first probe)."""

    serving: bool | None = None
    ever_ready: bool = False

    async def update(self, health_servicer: Any, ready: bool) -> None:
        """Set health and the graph gauge for one probe result. Failed probes after the
        first success count as graph errors (``source="probe"``); those of start-up do not."""
        METRICS.graph_up.set(1 if ready else 0)
        if not ready and self.ever_ready:
            METRICS.graph_errors.labels("probe").inc()
        if ready != self.serving:
            status = health_pb2.HealthCheckResponse.SERVING if ready else _NOT_SERVING
            for service in ("", SERVICE_NAME):
                await health_servicer.set(service, status)
            if ready:
                logger.info("pipeline ready: health SERVING")
            elif self.serving is not None:
                logger.error("pipeline not ready (graph DB down?): health NOT_SERVING")
        self.serving = ready
        self.ever_ready = self.ever_ready or ready


_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def start_server(
    settings: Settings, pipeline: RecommenderPipeline, *, worker: WorkerSlot | None = None
) -> RunningServer:
    """Bind ``settings.host:settings.port`` and start serving ``pipeline`` (as ``worker`` of
    several when given: see the module docstring).

    Raises ConfigError (before binding) for a non-loopback host without ``api_keys`` and
    without ``insecure``, and for unreadable TLS files.
    """
    keys = KeyRing.parse(settings.api_keys)
    check_exposure(settings, keys)
    credentials = server_credentials(settings)
    warn_exposure(settings, keys)
    interceptors: tuple[grpc.aio.ServerInterceptor, ...] = (
        RequestIdInterceptor(worker.index if worker is not None else None),
        *((AuthInterceptor(keys),) if keys else ()),
        ExceptionMappingInterceptor(),
        MetricsInterceptor(),
        DeadlineInterceptor(settings.max_request_seconds),
        ConcurrencyLimitInterceptor(settings.max_in_flight),
    )
    server = grpc.aio.server(
        interceptors=interceptors,
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            # a second server on a taken port must fail, not share; only the workers of one
            # server share theirs (the parent holds the port, server/workers.py)
            ("grpc.so_reuseport", 1 if worker is not None else 0),
        ],
    )
    pb_grpc.add_RecommenderServiceServicer_to_server(
        RecommenderServicer(pipeline, max_message_chars=settings.max_message_chars), server
    )
    # AdminService needs the graph the pipeline reads (a test's fake pipeline has none: the
    # service is then absent and its calls UNIMPLEMENTED)
    admin_store = getattr(pipeline, "store", None)
    if admin_store is not None:
        reloader = None
        if hasattr(pipeline, "swap_scorer"):  # ReloadModel (server/reload.py)
            reloader = ModelReloader(
                pipeline,  # type: ignore[arg-type]
                settings.models_path,
                scorer_options(settings),
                on_reloaded=(lambda: worker.tell_parent("reload")) if worker is not None else None,
            )
        pb_grpc.add_AdminServiceServicer_to_server(
            AdminServicer(
                admin_store,
                settings.models_path,
                getattr(getattr(pipeline, "learning", None), "impressions", None)
                or settings.data_dir / "impressions",
                reloader,
            ),
            server,
        )
    health_servicer = health.aio.HealthServicer()
    for service in ("", SERVICE_NAME):
        await health_servicer.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    enable_reflection(
        (
            SERVICE_NAME,
            *((ADMIN_SERVICE_NAME,) if admin_store is not None else ()),
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    address = f"{settings.host}:{settings.port}"
    try:
        if credentials is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, credentials)
    except RuntimeError as e:  # grpc raises RuntimeError when it cannot bind
        raise ListenError(f"cannot listen on {address}: {e}") from e
    endpoint = None
    if settings.metrics_port:
        metrics_port = settings.metrics_port + (worker.index if worker is not None else 0)
        try:
            endpoint = MetricsEndpoint(METRICS, settings.host, metrics_port)
        except OSError as e:
            raise OSError(f"cannot serve metrics on {settings.host}:{metrics_port}: {e}") from e
    version = getattr(pipeline, "model_version", None)
    if isinstance(version, str):
        METRICS.set_model_version(version)
    snapshot_size = getattr(getattr(pipeline, "store", None), "snapshot_size", None)
    if callable(snapshot_size):
        METRICS.candidate_snapshot.set_function(snapshot_size)
    try:
        await server.start()
    except BaseException:
        if endpoint is not None:
            endpoint.close()
        raise
    ready_task = asyncio.create_task(_watch_ready(pipeline, health_servicer), name="kgrec-ready")
    logger.info(
        "serving %s on %s:%d (%s, %s)",
        SERVICE_NAME,
        settings.host,
        port,
        ("mutual TLS" if settings.tls_client_ca else "TLS") if credentials else "plaintext",
        f"{len(keys)} API key(s)" if keys else "no authentication",
    )
    return RunningServer(server, port, health_servicer, interceptors, ready_task, endpoint)


async def _run_callbacks(callbacks: Sequence[Callable[[], Any]]) -> None:
    for callback in callbacks:
        try:
            result = callback()
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("shutdown callback %r failed", callback)


async def serve_forever(
    settings: Settings,
    pipeline: RecommenderPipeline,
    on_stop: Sequence[Callable[[], Any]] = (),
    *,
    stop_event: asyncio.Event | None = None,
    on_start: Callable[[RunningServer], Any] | None = None,
    worker: WorkerSlot | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT (or ``stop_event``), then shut down gracefully.

    On the signal: health goes NOT_SERVING, new calls are refused, in-flight calls get
    ``settings.grace_seconds`` to finish, then the ``on_stop`` callbacks run in order (sync or
    async; a failing one is logged and the rest still run). A second SIGTERM/SIGINT while
    shutting down (the impatient second Ctrl-C) cancels the in-flight calls at once instead of
    waiting out the grace period; the ``on_stop`` callbacks still run, and further signals
    during them are only logged, so the graph DB still stops cleanly. ``on_start`` is called
    with the running server once it listens (e.g. to print the port picked for ``port=0``).
    ``worker``: see :func:`start_server`.
    """
    stop_event = stop_event or asyncio.Event()
    stop_now = asyncio.Event()
    try:
        running = await start_server(settings, pipeline, worker=worker)
    except BaseException:
        await _run_callbacks(on_stop)
        raise
    if on_start is not None:
        on_start(running)
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, _on_signal, sig, stop_event, stop_now)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no support
            logger.debug("cannot install a handler for %s", sig.name)
    try:
        terminated = asyncio.create_task(running.wait_for_termination())
        stopped = asyncio.create_task(stop_event.wait())
        await asyncio.wait({terminated, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        logger.info(
            "shutting down: %.1f s grace for in-flight calls (signal again to stop now)",
            settings.grace_seconds,
        )
        await _drain(running, settings.grace_seconds, stop_now)
        await terminated
    finally:
        try:
            await _run_callbacks(on_stop)
        finally:  # handlers stay until the callbacks are done: a late Ctrl-C cannot cut them
            for sig in installed:
                loop.remove_signal_handler(sig)
        logger.info("stopped")


async def _drain(running: RunningServer, grace: float, stop_now: asyncio.Event) -> None:
    """``running.stop(grace)``, cut short (in-flight calls cancelled) once ``stop_now`` is set."""
    draining = asyncio.create_task(running.stop(grace))
    hurry = asyncio.create_task(stop_now.wait())
    try:
        await asyncio.wait({draining, hurry}, return_when=asyncio.FIRST_COMPLETED)
        if not draining.done():
            limiter = running.limiter
            logger.warning(
                "stopping now: cancelling %s in-flight call(s) without waiting out the grace",
                "the" if limiter is None else limiter.in_flight,
            )
            await running.stop(None)  # a later, shorter stop wins in grpc.aio
        await draining
    finally:
        hurry.cancel()
        draining.cancel()  # no-op when done; else we were cancelled, as a plain stop would be


def _on_signal(sig: signal.Signals, stop_event: asyncio.Event, stop_now: asyncio.Event) -> None:
    if not stop_event.is_set():
        logger.info("received %s: stopping", sig.name)
        stop_event.set()
    elif not stop_now.is_set():
        logger.warning("received %s while shutting down: stopping now", sig.name)
        stop_now.set()
    else:
        logger.info("received %s: already stopping", sig.name)


__all__ = [
    "MAX_MESSAGE_BYTES",
    "SERVICE_NAME",
    "ListenError",
    "RunningServer",
    "serve_forever",
    "start_server",
]
