"""Graceful shutdown: in-flight calls finish, new ones are refused, then on_stop runs."""

from __future__ import annotations

import asyncio
import os
import signal

import grpc
import grpc.aio
import pytest
from server_fakes import FakePipeline, serving

from kgrec.v1 import recommender_pb2 as pb
from kgrec.v1 import recommender_pb2_grpc as pb_grpc
from server.app import RunningServer, serve_forever
from server.settings import Settings

REQUEST = pb.RecommendRequest(message="red shoes")


def test_stop_lets_an_in_flight_call_finish_and_refuses_new_ones() -> None:
    async def scenario() -> tuple[pb.RecommendResponse, grpc.StatusCode]:
        gate, entered = asyncio.Event(), asyncio.Event()
        async with serving(FakePipeline(gate=gate, entered=entered)) as served:
            in_flight = asyncio.ensure_future(served.stub.Recommend(REQUEST))
            await asyncio.wait_for(entered.wait(), 5)
            stopping = asyncio.create_task(served.running.stop(grace=5))
            await asyncio.sleep(0.05)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await served.stub.Recommend(REQUEST, timeout=2)
            assert not stopping.done()  # still waiting for the in-flight call
            gate.set()
            response = await in_flight
            await asyncio.wait_for(stopping, 5)
            return response, refused.value.code()

    response, refused = asyncio.run(scenario())
    assert len(response.items) == 3
    assert refused == grpc.StatusCode.UNAVAILABLE


def test_a_call_past_the_grace_period_is_cut_off() -> None:
    async def scenario() -> grpc.StatusCode:
        gate, entered = asyncio.Event(), asyncio.Event()  # the gate never opens
        async with serving(FakePipeline(gate=gate, entered=entered)) as served:
            in_flight = asyncio.ensure_future(served.stub.Recommend(REQUEST))
            await asyncio.wait_for(entered.wait(), 5)
            await asyncio.wait_for(served.running.stop(grace=0.1), 5)
            with pytest.raises(grpc.aio.AioRpcError) as exc:
                await in_flight
            return exc.value.code()

    assert asyncio.run(scenario()) in {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED}


def _settings() -> Settings:
    return Settings(port=0, grace_seconds=5)


def test_serve_forever_drains_then_runs_on_stop_in_order() -> None:
    order: list[str] = []

    async def scenario() -> pb.RecommendResponse:
        gate, entered, stop = asyncio.Event(), asyncio.Event(), asyncio.Event()
        started: asyncio.Future[RunningServer] = asyncio.get_running_loop().create_future()

        async def async_stop() -> None:
            order.append("async")

        def failing_stop() -> None:
            order.append("failing")
            raise RuntimeError("already stopped")

        serving_task = asyncio.create_task(
            serve_forever(
                _settings(),
                FakePipeline(gate=gate, entered=entered),
                on_stop=[lambda: order.append("graph db"), failing_stop, async_stop],
                stop_event=stop,
                on_start=started.set_result,
            )
        )
        running = await asyncio.wait_for(started, 5)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            in_flight = asyncio.ensure_future(
                pb_grpc.RecommenderServiceStub(channel).Recommend(REQUEST)
            )
            await asyncio.wait_for(entered.wait(), 5)
            stop.set()
            await asyncio.sleep(0.05)
            assert order == []  # callbacks wait for the drain
            gate.set()
            response = await in_flight
        await asyncio.wait_for(serving_task, 5)
        return response

    response = asyncio.run(scenario())
    assert len(response.items) == 3
    assert order == ["graph db", "failing", "async"]


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")
def test_sigterm_stops_serve_forever() -> None:
    stopped: list[bool] = []

    async def scenario() -> None:
        started: asyncio.Future[RunningServer] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(
            serve_forever(
                _settings(),
                FakePipeline(),
                on_stop=[lambda: stopped.append(True)],
                on_start=started.set_result,
            )
        )
        await asyncio.wait_for(started, 5)
        # only signal ourselves once serve_forever's handler replaced the default one
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(task, 5)

    previous = signal.getsignal(signal.SIGTERM)
    asyncio.run(scenario())
    assert stopped == [True]
    assert signal.getsignal(signal.SIGTERM) == previous  # handler removed again


def test_bind_failure_still_runs_on_stop() -> None:
    stopped: list[bool] = []

    async def scenario() -> None:
        async with serving(FakePipeline()) as served:
            taken = Settings(port=served.running.port)
            with pytest.raises(OSError, match="cannot listen"):
                await serve_forever(taken, FakePipeline(), on_stop=[lambda: stopped.append(True)])

    asyncio.run(scenario())
    assert stopped == [True]


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")
def test_a_second_signal_cuts_the_grace_period_short_and_on_stop_still_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    grace = 30.0
    stopped: list[str] = []
    late_signal_safe: list[bool] = []

    async def stop_graph_db() -> None:
        # Ctrl-C pressed a third time while the graph DB stops must not interrupt it
        handler = signal.getsignal(signal.SIGINT)
        late_signal_safe.append(handler not in (signal.default_int_handler, signal.SIG_DFL))
        if late_signal_safe[-1]:
            os.kill(os.getpid(), signal.SIGINT)
        await asyncio.sleep(0.05)
        stopped.append("graph db")

    async def scenario() -> tuple[float, grpc.StatusCode]:
        gate, entered, stop = asyncio.Event(), asyncio.Event(), asyncio.Event()
        started: asyncio.Future[RunningServer] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(
            serve_forever(
                Settings(port=0, grace_seconds=grace),
                FakePipeline(gate=gate, entered=entered),  # the gate never opens
                on_stop=[stop_graph_db],
                stop_event=stop,
                on_start=started.set_result,
            )
        )
        running = await asyncio.wait_for(started, 5)
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            in_flight = asyncio.ensure_future(
                pb_grpc.RecommenderServiceStub(channel).Recommend(REQUEST)
            )
            await asyncio.wait_for(entered.wait(), 5)
            os.kill(os.getpid(), signal.SIGINT)
            await asyncio.wait_for(stop.wait(), 5)  # the first Ctrl-C started the drain
            await asyncio.sleep(0.1)
            assert not task.done()  # waiting for the in-flight call
            began = asyncio.get_running_loop().time()
            os.kill(os.getpid(), signal.SIGINT)
            await asyncio.wait_for(task, 5)
            took = asyncio.get_running_loop().time() - began
            with pytest.raises(grpc.aio.AioRpcError) as cut:
                await in_flight
        return took, cut.value.code()

    previous = signal.getsignal(signal.SIGINT)
    with caplog.at_level("INFO", logger="server.app"):
        took, code = asyncio.run(scenario())
    assert took < grace / 10
    assert code in {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED}
    assert late_signal_safe == [True]
    assert stopped == ["graph db"]
    assert "stopping now" in caplog.text
    assert signal.getsignal(signal.SIGINT) == previous  # handlers removed after on_stop
