"""Request ids: taken from the client or made, echoed, passed down, on every log record."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator

import pytest
from server_fakes import FakePipeline, serving

from kgrec.v1 import recommender_pb2 as pb
from server.log import RequestIdFilter, current_request_id

REQUEST = pb.RecommendRequest(message="red shoes")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.addFilter(RequestIdFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def collected() -> Iterator[_Collect]:
    handler = _Collect()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)  # the servicer's per-call lines are DEBUG
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_client_id_is_echoed_passed_down_and_logged(collected: _Collect) -> None:
    async def scenario() -> tuple[str, str, FakePipeline]:
        fake = FakePipeline()
        async with serving(fake) as served:
            call = served.stub.Recommend(REQUEST, metadata=(("x-request-id", "req-42.a:b"),))
            response = await call
            header = dict(await call.initial_metadata())["x-request-id"]
            await served.stub.Feedback(
                pb.FeedbackRequest(item_id="p1", event_type=pb.EVENT_TYPE_CLICK),
                metadata=(("x-request-id", "req-43"),),
            )
        return header, response.request_id, fake

    header, in_response, fake = asyncio.run(scenario())
    assert header == in_response == fake.queries[0].request_id == "req-42.a:b"
    assert fake.events[0].request_id == "req-43"
    by_logger = {(r.name, r.request_id) for r in collected.records}
    assert ("server.servicer", "req-42.a:b") in by_logger
    assert ("server.servicer", "req-43") in by_logger


@pytest.mark.parametrize("sent", [None, "has spaces", "x" * 129, "semi;colon"])
def test_missing_or_odd_ids_are_replaced_by_a_uuid(sent: str | None) -> None:
    async def scenario() -> str:
        async with serving(FakePipeline()) as served:
            metadata = () if sent is None else (("x-request-id", sent),)
            call = served.stub.Recommend(REQUEST, metadata=metadata)
            await call
            return dict(await call.initial_metadata())["x-request-id"]

    assert re.fullmatch(r"[0-9a-f]{32}", asyncio.run(scenario()))


def test_concurrent_calls_keep_their_own_ids(collected: _Collect) -> None:
    class LoggingPipeline(FakePipeline):
        async def recommend(self, query):  # type: ignore[no-untyped-def]
            logging.getLogger("tests.pipeline").info("start")
            await asyncio.sleep(0.02)  # interleave the two calls
            logging.getLogger("tests.pipeline").info("after sleep, id %s", current_request_id())
            return await super().recommend(query)

    async def scenario() -> list[pb.RecommendResponse]:
        async with serving(LoggingPipeline()) as served:
            return await asyncio.gather(
                *(
                    served.stub.Recommend(REQUEST, metadata=(("x-request-id", f"call-{i}"),))
                    for i in range(2)
                )
            )

    responses = asyncio.run(scenario())
    assert sorted(r.request_id for r in responses) == ["call-0", "call-1"]
    mine = [r for r in collected.records if r.name == "tests.pipeline"]
    assert len(mine) == 4
    for record in mine:
        if record.args:
            assert record.args == (record.request_id,)
    assert {r.request_id for r in mine} == {"call-0", "call-1"}


def test_outside_a_call_the_id_is_a_dash() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    RequestIdFilter().filter(record)
    assert record.request_id == "-"
    assert current_request_id() == ""
