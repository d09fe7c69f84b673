"""Prometheus metrics of the server, and the HTTP endpoint that exposes them.

One :class:`Metrics` object per process (:data:`METRICS`), on its own registry so nothing
else that uses ``prometheus_client`` leaks into the scrape. ``kgrec serve`` exposes it at
``http://<host>:<metrics_port>/metrics`` when ``metrics_port`` is set (``0``: off).

=====================================  =========  ==============================================
metric                                 type       labels
=====================================  =========  ==============================================
``kgrec_requests_total``               counter    ``method`` (``Recommend``, ...), ``code``
``kgrec_request_seconds``              histogram  ``method``
``kgrec_step_seconds``                 histogram  ``step`` (understand, link, retrieve, score,
                                                  explain)
``kgrec_graph_errors_total``           counter    ``source`` (``request``: a call failed on the
                                                  graph; ``probe``: the health probe did)
``kgrec_graph_restarts_total``         counter
``kgrec_graph_up``                     gauge      1 while the health probe reaches the graph
``kgrec_candidate_snapshot_products``  gauge      products in the in-process candidate filter
                                                  snapshot; 0 while there is none (the graph's
                                                  queries answer, slower on a big catalog)
``kgrec_model_info``                   info       ``version``
``kgrec_feedback_events_total``        counter    ``event_type``, ``duplicate``
``kgrec_impression_records_total``     counter    ``kind`` (impression, outcome), ``result``
                                                  (written; dropped: queue full or log closed)
``kgrec_score_batches_total``          counter    batched scorings run (``score_batching``)
``kgrec_score_batched_turns_total``    counter    turns scored in them (/ batches: mean batch)
``kgrec_intent_batches_total``         counter    batched intent encoder forwards
                                                  (``encoder_batching``)
``kgrec_intent_batch_messages_total``  counter    messages encoded in them
=====================================  =========  ==============================================
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import grpc
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from kgrec.errors import GraphUnavailableError
from server.errors import STATUS_TABLE

logger = logging.getLogger(__name__)

#: Request latency buckets (seconds): a turn takes tens to hundreds of milliseconds.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Step latency buckets (seconds): a step takes from well under a millisecond to a second.
STEP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
#: Timed per turn: the five steps, the session's read and write, and the whole pipeline
#: (:meth:`server.pipeline.Pipeline.recommend_sync`).
STEPS = ("understand", "link", "retrieve", "score", "explain", "session", "pipeline")


class _ScoreBatches(Collector):
    """The process's :data:`models.scoring.dynamic_batcher.BATCH_STATS` and ``ENCODE_STATS``,
    read at each scrape
    (zero where no batcher was imported: a process that imports no scorer never imports torch)."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        module = sys.modules.get("models.scoring.dynamic_batcher")
        batches, turns = module.BATCH_STATS.snapshot() if module is not None else (0, 0)
        yield CounterMetricFamily("kgrec_score_batches", "Batched scorings run", value=batches)
        yield CounterMetricFamily(
            "kgrec_score_batched_turns", "Turns scored in batched scorings", value=turns
        )
        batches, messages = module.ENCODE_STATS.snapshot() if module is not None else (0, 0)
        yield CounterMetricFamily(
            "kgrec_intent_batches", "Batched intent encoder forwards run", value=batches
        )
        yield CounterMetricFamily(
            "kgrec_intent_batch_messages", "Messages encoded in batched forwards", value=messages
        )


class Metrics:
    """The server's metrics on one registry (a fresh one unless ``registry`` is given)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "kgrec_requests", "RPCs served, by method and status code", ["method", "code"],
            registry=r,
        )  # fmt: skip
        self.request_seconds = Histogram(
            "kgrec_request_seconds", "RPC latency, by method", ["method"],
            buckets=REQUEST_BUCKETS, registry=r,
        )  # fmt: skip
        self.step_seconds = Histogram(
            "kgrec_step_seconds", "Latency of each step of a Recommend turn", ["step"],
            buckets=STEP_BUCKETS, registry=r,
        )  # fmt: skip
        self.graph_errors = Counter(
            "kgrec_graph_errors", "Graph DB unavailable errors, by who saw them", ["source"],
            registry=r,
        )  # fmt: skip
        self.graph_restarts = Counter(
            "kgrec_graph_restarts", "Restarts of the embedded graph DB child", registry=r
        )
        self.graph_up = Gauge(
            "kgrec_graph_up", "1 while the health probe reaches the graph DB", registry=r
        )
        self.candidate_snapshot = Gauge(
            "kgrec_candidate_snapshot_products",
            "Products in the in-process candidate filter snapshot (0: none yet)",
            registry=r,
        )
        self.model = Info("kgrec_model", "The model that ranks recommendations", registry=r)
        self.feedback = Counter(
            "kgrec_feedback_events", "Feedback events recorded, by type",
            ["event_type", "duplicate"], registry=r,
        )  # fmt: skip
        self.impression_records = Counter(
            "kgrec_impression_records", "Impression-log records, written or dropped",
            ["kind", "result"], registry=r,
        )  # fmt: skip
        r.register(_ScoreBatches())
        for step in STEPS:  # present (at zero) from the first scrape
            self.step_seconds.labels(step)

    def observe_steps(self, timings_ms: Mapping[str, float]) -> None:
        """Record one turn's step timings (``Turn.timings_ms``, milliseconds)."""
        for step, ms in timings_ms.items():
            self.step_seconds.labels(step).observe(ms / 1000.0)

    def observe_call(
        self, method: str, code: grpc.StatusCode, seconds: float, exc: BaseException | None
    ) -> None:
        self.requests.labels(method, code.name).inc()
        self.request_seconds.labels(method).observe(seconds)
        if isinstance(exc, GraphUnavailableError):
            self.graph_errors.labels("request").inc()

    def set_model_version(self, version: str) -> None:
        self.model.info({"version": version})

    def render(self) -> bytes:
        """The text exposition format (what the endpoint serves)."""
        return generate_latest(self.registry)


#: The process's metrics: the pipeline, the interceptor and the supervisor report here.
METRICS = Metrics()


def status_code_of(exc: BaseException | None, context: Any = None) -> grpc.StatusCode:
    """The status a call ends with: OK, the :data:`server.errors.STATUS_TABLE` row of ``exc``
    (without logging it: the mapping interceptor does), or what ``context.abort`` set."""
    if exc is None:
        return grpc.StatusCode.OK
    if isinstance(exc, grpc.aio.AbortError) and context is not None:
        with contextlib.suppress(Exception):
            code = context.code()
            if isinstance(code, grpc.StatusCode):
                return code
        return grpc.StatusCode.UNKNOWN
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        return grpc.StatusCode.CANCELLED
    for row in STATUS_TABLE:
        if isinstance(exc, row.exc_type):
            return row.code
    return grpc.StatusCode.INTERNAL


class MetricsEndpoint:
    """``/metrics`` over HTTP on ``host:port`` (``port=0`` picks a free one), in a thread."""

    def __init__(self, metrics: Metrics, host: str, port: int) -> None:
        self._server, self._thread = start_http_server(port, addr=host, registry=metrics.registry)
        self.host = host
        self.port = int(self._server.server_address[1])
        logger.info("metrics on http://%s:%d/metrics", host, self.port)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if isinstance(self._thread, threading.Thread):
            self._thread.join(5)


__all__ = ["METRICS", "STEPS", "Metrics", "MetricsEndpoint", "status_code_of"]
