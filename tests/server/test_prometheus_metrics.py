"""The Prometheus endpoint, scraped over HTTP from a real server around the real pipeline
(embedded graph; trivial parser and linker): requests by method and code, latency per RPC and
per step, feedback events by type, the model version and the graph's health."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families
from server_fakes import NoLinker, RecommendParser, serving

from kg import EmbeddedFalkorDB, open_store
from kg.store import GraphStore
from kgrec.v1 import recommender_pb2 as pb
from models.explain import make_explainer
from server.metrics import STEPS
from server.pipeline import Pipeline


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    server = EmbeddedFalkorDB(Path(tmp_path_factory.mktemp("metrics")) / "g").start()
    st = open_store(server.uri, graph="metrics")
    st.init_schema()
    st.upsert_products([{"id": f"p{i}", "title": f"Item {i}", "price": 10.0 + i} for i in range(5)])
    yield st
    st.close()
    server.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scrape(port: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        assert reply.status == 200
        text = reply.read().decode()
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples.setdefault(s.name, []).append((dict(s.labels), s.value))
    return samples


def _value(
    samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str
) -> float:
    return sum(
        v for lab, v in samples.get(name, []) if all(lab.get(k) == x for k, x in labels.items())
    )


def test_metrics_endpoint_shows_requests_steps_feedback_and_model(store: GraphStore) -> None:
    pipeline = Pipeline(store, RecommendParser(), NoLinker(), make_explainer())  # type: ignore[arg-type]
    port = _free_port()
    store.warm(wait=True)

    async def scenario() -> tuple[dict, dict]:
        async with serving(pipeline, metrics_port=port) as served:
            before = await asyncio.to_thread(_scrape, port)
            for _ in range(3):
                reply = await served.stub.Recommend(pb.RecommendRequest(message="items", limit=3))
            await served.stub.Feedback(
                pb.FeedbackRequest(
                    session_id=reply.session_id, item_id="p1", event_type=pb.EVENT_TYPE_CLICK
                )
            )
            with pytest.raises(grpc.aio.AioRpcError) as bad:
                await served.stub.Recommend(pb.RecommendRequest(message=""))
            assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            await asyncio.sleep(0.05)
            after = await asyncio.to_thread(_scrape, port)
        return before, after

    before, after = asyncio.run(scenario())

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert delta("kgrec_requests_total", method="Recommend", code="OK") == 3
    assert delta("kgrec_requests_total", method="Recommend", code="INVALID_ARGUMENT") == 1
    assert delta("kgrec_requests_total", method="Feedback", code="OK") == 1
    assert delta("kgrec_request_seconds_count", method="Recommend") == 4
    for step in STEPS:  # per-step latency histograms, one observation per turn
        assert delta("kgrec_step_seconds_count", step=step) == 3, step
        assert any(lab.get("step") == step for lab, _ in after["kgrec_step_seconds_bucket"])
    assert delta("kgrec_feedback_events_total", event_type="EVENT_TYPE_CLICK") == 1
    assert _value(after, "kgrec_model_info", version=pipeline.model_version) == 1
    assert _value(after, "kgrec_graph_up") == 1
    assert _value(after, "kgrec_candidate_snapshot_products") == store.snapshot_size() > 0
    assert "kgrec_graph_restarts_total" in after
    for name in ("kgrec_score_batches_total", "kgrec_intent_batches_total"):
        assert name in after, name
    assert "kgrec_intent_batch_messages_total" in after


def test_metrics_port_zero_serves_nothing_extra(store: GraphStore) -> None:
    pipeline = Pipeline(store, RecommendParser(), NoLinker(), make_explainer())  # type: ignore[arg-type]

    async def scenario() -> object:
        async with serving(pipeline) as served:
            return served.running.metrics_endpoint

    assert asyncio.run(scenario()) is None
