"""Feedback is applied exactly once across a crash: ``kgrec serve`` acknowledges >= 1,000
concurrent Feedback events for a few users, is killed with SIGKILL right after the last
acknowledgement, restarts on the same data dir, and then holds each acknowledged event exactly
once (a retry with the same idempotency key is a duplicate, not a second event), and each
user's profile (``models.feedback.profiles``), rebuilt from the graph, equals the profile of
the sent events counted once each."""

from __future__ import annotations

import os
import random
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
import torch

from kg import open_store
from kg.types import StoredEvent
from kgrec.v1 import recommender_pb2 as pb
from kgrec.v1 import recommender_pb2_grpc as pb_grpc
from models.config import TrainConfig
from models.feedback.profiles import ProfileBook, profile_vector
from models.scoring import GnnScorer
from models.training.checkpoint import Checkpoint
from server.serve_process import ServeProcess

pytestmark = pytest.mark.slow

N_PRODUCTS = 120
N_EVENTS = 1_200
USERS = ("crash-ann", "crash-bo", "crash-cy", "crash-di")
KINDS = (
    ("click", pb.EVENT_TYPE_CLICK),
    ("add_to_cart", pb.EVENT_TYPE_ADD_TO_CART),
    ("purchase", pb.EVENT_TYPE_PURCHASE),
    ("like", pb.EVENT_TYPE_LIKE),
    ("dislike", pb.EVENT_TYPE_DISLIKE),
    ("dismiss", pb.EVENT_TYPE_DISMISS),
    ("rating", pb.EVENT_TYPE_RATING),
)
ARGS: tuple[str, ...] = ("--demo-products", str(N_PRODUCTS), "--demo-users", "30")
ARGS += ("--no-train-model", "--log-level", "WARNING")


def _item_ids() -> list[str]:
    return [f"prod:{i:06d}" for i in range(N_PRODUCTS)]  # the demo generator's ids


def _save_checkpoint(directory: Path) -> None:
    """A GNN checkpoint over the demo's items with random vectors: the profile's item space."""
    gen = torch.Generator().manual_seed(5)
    Checkpoint(
        version="crash-test",
        config=TrainConfig(),
        user_ids=[],
        item_ids=_item_ids(),
        entity_ids=[],
        tensors={
            "users": torch.zeros(0, 8),
            "items": torch.randn(N_PRODUCTS, 8, generator=gen),
            "entities": torch.zeros(0, 8),
            "item_popularity": torch.ones(N_PRODUCTS),
            "seen": torch.zeros(0, 2, dtype=torch.long),
            "item_entities": torch.zeros(0, 2, dtype=torch.long),
        },
        state_dict={},
    ).save(directory)


Event = tuple[str, str, str, Any, float, str]


def _events() -> list[Event]:
    """(user, item, kind, proto kind, value, idempotency key) of every event to send."""
    rng = random.Random(11)
    items = _item_ids()
    out: list[Event] = []
    for n in range(N_EVENTS):
        kind, proto_kind = KINDS[rng.randrange(len(KINDS))]
        value = float(rng.randint(1, 5)) if kind == "rating" else 0.0
        out.append((USERS[n % len(USERS)], rng.choice(items), kind, proto_kind, value, f"key-{n}"))
    return out


def _send(stub: pb_grpc.RecommenderServiceStub, event: Event) -> pb.FeedbackResponse:
    user, item, _, proto_kind, value, key = event
    request = pb.FeedbackRequest(
        user_id=user, item_id=item, event_type=proto_kind, value=value, idempotency_key=key
    )
    return stub.Feedback(request, timeout=60)


def test_acknowledged_events_and_their_profile_updates_survive_a_sigkill_exactly_once(
    tmp_path: Path,
) -> None:
    _save_checkpoint(tmp_path / "models" / "crash-test")
    events = _events()
    first = ServeProcess(tmp_path, *ARGS).start()
    acked: dict[str, str] = {}  # idempotency key -> event id
    try:
        with grpc.insecure_channel(first.target) as channel:
            stub = pb_grpc.RecommenderServiceStub(channel)
            with ThreadPoolExecutor(32) as pool:
                replies = list(pool.map(lambda e: _send(stub, e), events))
            # right after the last acknowledgement: no graceful anything
            os.kill(first.pid, signal.SIGKILL)
    finally:
        first.stop()  # reaps the killed child (SIGTERM to a dead process is a no-op)
    for event, reply in zip(events, replies, strict=True):
        assert reply.accepted and not reply.duplicate and reply.event_id
        acked[event[5]] = reply.event_id
    assert len(acked) == N_EVENTS >= 1_000

    with ServeProcess(tmp_path, *ARGS) as second:
        store = open_store(f"falkordb+unix://{second.socket_path}")
        try:
            stored = {u: store.user_events(u, limit=1_000_000) for u in USERS}
            ids = [e.event_id for u in USERS for e in stored[u]]
            assert len(ids) == len(set(ids)) == N_EVENTS  # each once, none lost, none twice
            assert set(ids) == set(acked.values())
            # a client retrying after the crash gets the first event back, nothing new
            with grpc.insecure_channel(second.target) as channel:
                stub = pb_grpc.RecommenderServiceStub(channel)
                retried = [_send(stub, e) for e in events[:100]]
            assert all(
                r.duplicate and r.event_id == acked[e[5]]
                for r, e in zip(retried, events[:100], strict=True)
            )
            assert sum(len(store.user_events(u, limit=1_000_000)) for u in USERS) == N_EVENTS

            # the profiles rebuilt from the graph are those of the sent events, once each
            scorer = GnnScorer.load(tmp_path / "models" / "crash-test", device="cpu")
            book = ProfileBook(store, half_life_days=30.0, max_events=10_000)
            for user in USERS:
                sent = [
                    StoredEvent(acked[key], u, item, kind, value, 0.0)
                    for u, item, kind, _, value, key in events
                    if u == user
                ]
                expected = profile_vector(sent, scorer.item_vectors, 30.0)
                rebuilt = book.profile(user, scorer)
                assert expected is not None and rebuilt is not None
                np.testing.assert_allclose(rebuilt, expected, atol=1e-5)
                # the comparison tells a profile that counted some events twice apart
                twice = profile_vector([*sent, *sent[:20]], scorer.item_vectors, 30.0)
                assert twice is not None and not np.allclose(twice, expected, atol=1e-4)
        finally:
            store.close()
