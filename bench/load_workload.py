"""The clients of the load benchmark: seeded shoppers and the empty-RPC floor, over ``grpc.aio``.

A :class:`Shopper` is one simulated client. Every step it draws from its own seeded
``random.Random`` what to do next: start a conversation (a first turn, a new session), send a
follow-up in its current session, or report feedback on an item it was shown. The draws are
fixed by ``(seed, worker index)``, so two runs send the same sequence of calls; how far each
shopper gets in the time allowed depends on the server's speed. Its messages are the few of
:data:`FIRST_TURNS` and :data:`FOLLOW_UPS`, which the server's per-text caches soon all hold;
with ``fresh`` (``bench.load --fresh-messages``) each is framed by a seeded opening and
closing (:data:`OPENINGS`, :data:`CLOSINGS`, :data:`SIGN_OFFS`, drawn by a generator of its
own: the same calls, users and items), so most messages are new to the server, as a real
shopper's are.

:func:`run_phase` runs ``concurrency`` such clients on one channel (or several connections) for a
bounded time and returns every call's latency and status code.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kgrec.v1 import recommender_pb2 as pb
from kgrec.v1 import recommender_pb2_grpc as pb_grpc

FIRST_TURNS = (
    "red running shoes under 100, not Nike",
    "wireless headphones between 50 and 150",
    "a blue hoodie, not Adidas",
    "something for yoga",
    "leather boots under 120",
    "cozy blanket",
    "gifts for a runner",
    "black backpack for travel",
    "a warm winter jacket",
    "cheap sunglasses",
    "a dress for a summer wedding",
    "trail running shoes",
)
FOLLOW_UPS = (
    "cheaper",
    "more like the second one",
    "not that brand",
    "something in black",
    "under 50",
    "show me more",
)
#: With fresh messages (``bench.load --fresh-messages``), each message is framed by one of
#: these openings and closings, drawn by the shopper's seeded generator: 16 x 18 x 16 x 12
#: texts, so the server's per-text caches (the intent encoder's, the linker's) rarely hold
#: the one a turn sends, as with real shoppers, who seldom type the same words twice.
OPENINGS = (
    "", "hi, ", "hello! ", "please show me ", "i am looking for ", "can you find ",
    "i need ", "looking for ", "any ", "hey, ", "could you suggest ", "show me ",
    "i'd like ", "help me find ", "do you have ", "what about ",
)  # fmt: skip
CLOSINGS = (
    "", " please", " for my sister", " for a friend", " for work", " for the weekend",
    " for my dad", " as a gift", " for travel", " for my son", " for my partner",
    " for everyday use", " for the office", " for a birthday", " for my mom", " for school",
)  # fmt: skip
SIGN_OFFS = ("", "!", " thanks", " thank you", " :)", "?", ".", " asap", " today",
             " if possible", " anyone?", " cheers")  # fmt: skip


def framed(rng: random.Random, message: str) -> str:
    """``message`` in an opening, a closing and a sign-off drawn from ``rng``."""
    return rng.choice(OPENINGS) + message + rng.choice(CLOSINGS) + rng.choice(SIGN_OFFS)


FEEDBACK_EVENTS = (
    pb.EVENT_TYPE_CLICK,
    pb.EVENT_TYPE_CLICK,
    pb.EVENT_TYPE_LIKE,
    pb.EVENT_TYPE_ADD_TO_CART,
    pb.EVENT_TYPE_DISLIKE,
    pb.EVENT_TYPE_PURCHASE,
)

#: Shares of the mix: first turn, follow-up, feedback (a follow-up or feedback without a
#: session to continue becomes a first turn).
MIX = (0.35, 0.45, 0.20)
#: Share of conversations by an anonymous shopper (the rest pick a demo user).
ANONYMOUS_SHARE = 0.3
RPC_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Sample:
    """One finished call: which RPC (``Recommend:first``, ``Recommend:follow-up``,
    ``Feedback``, ``Health``), its client-side latency and its status code name."""

    rpc: str
    ms: float
    code: str


class Client(Protocol):
    async def step(self) -> Sample: ...


async def _timed(rpc: str, call: Callable[[], object]) -> tuple[Sample, object | None]:
    started = time.perf_counter()
    try:
        result = await call()  # type: ignore[misc]
    except grpc.aio.AioRpcError as e:
        return Sample(rpc, (time.perf_counter() - started) * 1000, e.code().name), None
    return Sample(rpc, (time.perf_counter() - started) * 1000, "OK"), result


@dataclass
class Shopper:
    """One seeded simulated shopper (see the module docstring)."""

    stub: pb_grpc.RecommenderServiceStub
    rng: random.Random
    n_users: int
    #: frames each message (OPENINGS, CLOSINGS, SIGN_OFFS) when set: a generator of its own,
    #: so the calls, users and items drawn stay those of the plain mix
    framing: random.Random | None = None
    user_id: str = ""
    session_id: str = ""
    shown: list[str] = field(default_factory=list)

    @classmethod
    def seeded(
        cls, channel: grpc.aio.Channel, seed: int, worker: int, n_users: int, fresh: bool = False
    ) -> Shopper:
        rng = random.Random(f"kgrec-load:{seed}:{worker}")
        framing = random.Random(f"kgrec-load-framing:{seed}:{worker}") if fresh else None
        return cls(pb_grpc.RecommenderServiceStub(channel), rng, n_users, framing)

    async def step(self) -> Sample:
        draw = self.rng.random()
        if self.session_id and draw >= MIX[0] + MIX[1] and self.shown:
            return await self._feedback()
        if self.session_id and draw >= MIX[0]:
            return await self._turn("Recommend:follow-up", self.rng.choice(FOLLOW_UPS))
        anonymous = self.n_users == 0 or self.rng.random() < ANONYMOUS_SHARE
        self.user_id = "" if anonymous else f"user:{self.rng.randrange(self.n_users)}"
        self.session_id, self.shown = "", []
        return await self._turn("Recommend:first", self.rng.choice(FIRST_TURNS))

    async def _turn(self, rpc: str, message: str) -> Sample:
        if self.framing is not None:
            message = framed(self.framing, message)
        request = pb.RecommendRequest(
            user_id=self.user_id, session_id=self.session_id, message=message, limit=10,
            explain=True,
        )  # fmt: skip
        sample, resp = await _timed(
            rpc, lambda: self.stub.Recommend(request, timeout=RPC_TIMEOUT_S)
        )
        if isinstance(resp, pb.RecommendResponse):
            self.session_id = resp.session_id
            self.shown = [item.item_id for item in resp.items]
        return sample

    async def _feedback(self) -> Sample:
        request = pb.FeedbackRequest(
            user_id=self.user_id, session_id=self.session_id,
            item_id=self.rng.choice(self.shown), event_type=self.rng.choice(FEEDBACK_EVENTS),
        )  # fmt: skip
        sample, _ = await _timed(
            "Feedback", lambda: self.stub.Feedback(request, timeout=RPC_TIMEOUT_S)
        )
        return sample


@dataclass
class HealthProbe:
    """The empty-RPC floor: ``grpc.health.v1`` Check, answered without touching the pipeline."""

    stub: health_pb2_grpc.HealthStub

    @classmethod
    def on(cls, channel: grpc.aio.Channel) -> HealthProbe:
        return cls(health_pb2_grpc.HealthStub(channel))

    async def step(self) -> Sample:
        request = health_pb2.HealthCheckRequest(service="")
        sample, _ = await _timed("Health", lambda: self.stub.Check(request, timeout=10))
        return sample


@dataclass
class PhaseResult:
    samples: list[Sample]
    wall_s: float
    client_cpu_s: float


async def run_phase(
    target: str,
    concurrency: int,
    seconds: float,
    make_client: Callable[[grpc.aio.Channel, int], Client],
    connections: int = 1,
) -> PhaseResult:
    """``concurrency`` clients, each calling in a loop until ``seconds`` have passed (calls in
    flight then are finished and counted); throughput is over the wall time to the last one.

    ``connections``: TCP connections the clients share, client ``i`` on connection ``i %
    connections`` (``0``: one per client). A server of several processes on one port
    (``kgrec serve --workers``) gets each connection's calls in one process, so one
    connection loads one worker."""
    samples: list[Sample] = []
    n = min(connections or concurrency, concurrency)
    # a local subchannel pool per channel: gRPC would otherwise share one connection
    options = [("grpc.use_local_subchannel_pool", 1)] if n > 1 else []
    async with contextlib.AsyncExitStack() as stack:
        channels = [
            await stack.enter_async_context(grpc.aio.insecure_channel(target, options=options))
            for _ in range(n)
        ]
        for channel in channels:
            await channel.channel_ready()
        clients = [make_client(channels[i % n], i) for i in range(concurrency)]
        stop_at = time.perf_counter() + seconds

        async def loop(client: Client) -> None:
            while time.perf_counter() < stop_at:
                samples.append(await client.step())

        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(loop(c) for c in clients))
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return PhaseResult(samples, wall, cpu)


async def wait_serving(target: str, timeout_s: float) -> float:
    """Poll health Check until SERVING; returns the seconds waited (raises on timeout)."""
    started = time.perf_counter()
    async with grpc.aio.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                resp = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
                if resp.status == health_pb2.HealthCheckResponse.SERVING:
                    return time.perf_counter() - started
            except grpc.aio.AioRpcError:
                pass
            if time.perf_counter() - started > timeout_s:
                raise TimeoutError(f"{target} not SERVING after {timeout_s:.0f} s")
            await asyncio.sleep(0.1)


__all__ = [
    "CLOSINGS",
    "FIRST_TURNS",
    "FOLLOW_UPS",
    "MIX",
    "OPENINGS",
    "SIGN_OFFS",
    "HealthProbe",
    "PhaseResult",
    "Sample",
    "Shopper",
    "framed",
    "run_phase",
    "wait_serving",
]
