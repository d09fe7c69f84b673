"""A fake pipeline and a real in-process gRPC server around it, for the server tests.

pytest-asyncio is not used: tests drive their coroutines with ``asyncio.run``; ``serving``
is an async context manager that starts a real ``grpc.aio`` server on a free loopback port
with the generated stubs connected to it. (A module with a unique name rather than a
``conftest.py``, so that tests can import it without clashing with other folders.)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc.aio

from kgrec.domain import (
    Constraint,
    FeedbackEvent,
    FeedbackResult,
    IntentType,
    KgPath,
    LinkedEntity,
    ParsedIntent,
    PathNode,
    RankedItem,
    Reason,
    Recommendation,
    RecommendQuery,
)
from kgrec.v1 import recommender_pb2_grpc as pb_grpc
from models.intent import Intent, IntentParser
from server.app import RunningServer, start_server
from server.settings import Settings


def sample_items(n: int = 3) -> tuple[RankedItem, ...]:
    path = KgPath(
        nodes=(
            PathNode("brand:acme", "Brand", "Acme"),
            PathNode("product:1", "Product", "Acme Trail Runner"),
        ),
        relations=("HAS_BRAND",),
        forward=(False,),  # the edge is (Product)-[:HAS_BRAND]->(Brand), walked backwards
    )
    items = []
    for i in range(n):
        items.append(
            RankedItem(
                item_id=f"product:{i + 1}",
                title=f"Acme Runner {i + 1}",
                score=1.0 - i / 10,
                price=None if i == 2 else 50.0 + 10 * i,
                brand="Acme",
                category="Shoes",
                attributes=(("color", "red"), ("size", str(40 + i))),
                reasons=(
                    Reason("matches the brand you asked for", "match", path),
                    Reason("popular this week", "popularity"),
                ),
            )
        )
    return tuple(items)


SAMPLE_INTENT = ParsedIntent(
    type=IntentType.RECOMMEND,
    entities=(LinkedEntity("acme", "brand:acme", "Brand", "Acme", 0.9),),
    constraints=(Constraint("price", "<=", "100"),),
    confidence=0.8,
    backend="fake",
)


@dataclass
class FakePipeline:
    """Records what it is asked; answers canned results; can fail or block on demand."""

    error: BaseException | None = None
    is_ready: bool = True
    gate: asyncio.Event | None = None  # when set, calls wait for it (in-flight tests)
    entered: asyncio.Event | None = None  # set when a call has started
    reply: str = "Here are three Acme runners: Acme Runner 1, Acme Runner 2 and Acme Runner 3."
    queries: list[RecommendQuery] = field(default_factory=list)
    events: list[FeedbackEvent] = field(default_factory=list)

    async def _maybe_wait(self) -> None:
        if self.entered is not None:
            self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error

    async def recommend(self, query: RecommendQuery) -> Recommendation:
        self.queries.append(query)
        await self._maybe_wait()
        return Recommendation(
            session_id=query.session_id or "session:new",
            items=sample_items(min(query.limit, 3)),
            reply=self.reply,
            intent=SAMPLE_INTENT,
            model_version="fake-1",
            request_id=query.request_id,
        )

    async def feedback(self, event: FeedbackEvent) -> FeedbackResult:
        self.events.append(event)
        await self._maybe_wait()
        return FeedbackResult(accepted=True, event_id=f"event:{len(self.events)}")

    async def ready(self) -> bool:
        return self.is_ready


@dataclass
class Served:
    running: RunningServer
    channel: grpc.aio.Channel
    stub: pb_grpc.RecommenderServiceStub

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.running.port}"


@contextlib.asynccontextmanager
async def serving(pipeline: Any, **overrides: Any) -> AsyncIterator[Served]:
    settings = Settings(port=0, **overrides)
    running = await start_server(settings, pipeline)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        yield Served(running, channel, pb_grpc.RecommenderServiceStub(channel))
    finally:
        await channel.close()
        await running.stop(0)


class RecommendParser(IntentParser):
    """An intent parser that reads every message as a plain request for recommendations."""

    def parse(self, message: str, *, previous: Intent | None = None) -> Intent:
        return Intent(type=IntentType.RECOMMEND)


class RulesParser(IntentParser):
    """The embedded parser's slots (mentions, price, references, wishes) with a fixed type:
    REFINE after a previous turn, else RECOMMEND (no MiniLM on a shared test box)."""

    def __init__(self, lexicon: Any) -> None:
        from models.intent import EmbeddedIntentParser

        self.rules = EmbeddedIntentParser(lexicon=lexicon)

    def parse(self, message: str, *, previous: Intent | None = None) -> Intent:
        s = self.rules.extract_slots(message)
        kind = IntentType.REFINE if previous is not None else IntentType.RECOMMEND
        return Intent(type=kind, mentions=s.mentions, price=s.price,
                      references=s.references, clear_constraints=s.clear_constraints,
                      preferences=s.preferences)  # fmt: skip


class NoLinker:
    """An entity linker that links nothing (the pipeline then ranks by the scorer alone)."""

    def link_best(self, mention: str, label_hint: str | None = None) -> None:
        return None
