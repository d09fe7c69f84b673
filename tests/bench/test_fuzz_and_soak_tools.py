"""The fuzz and soak commands' own parts: seeded generation, distinct messages, and a summary
that fails a run with an INTERNAL answer, a dead server or a changed catalog."""

from __future__ import annotations

import random

import grpc

from bench.fuzz import Outcome, generate, summarize
from bench.hostile_requests import HostileRequests, passable_feedback
from bench.soak import made_up_word, message
from server import mappers


def test_the_same_seed_sends_the_same_requests() -> None:
    def sent(seed: int) -> list[bytes]:
        return [r.SerializeToString() for _, r in generate(HostileRequests.seeded(seed), 200)]

    assert sent(1) == sent(1)
    assert sent(1) != sent(2)


def test_passable_feedback_passes_validation() -> None:
    rng = random.Random(0)
    gen = HostileRequests(rng)
    for _ in range(300):  # the mapper accepts every request moved inside the rules
        mappers.feedback_from_proto(passable_feedback(gen._feedback(), rng))


def test_soak_messages_are_all_distinct() -> None:
    assert len({made_up_word(i) for i in range(60_000)}) == 60_000
    rng = random.Random(0)
    assert len({message(rng, i, i % 3 == 0) for i in range(5_000)}) == 5_000


def test_the_summary_fails_on_internal_a_dead_server_or_a_changed_catalog() -> None:
    ok = [Outcome("Recommend", grpc.StatusCode.OK), Outcome("Feedback", grpc.StatusCode.NOT_FOUND)]
    same = ({"a": 1}, {"a": 1})
    text, passed = summarize(ok, 1.0, True, (1.0, 1.0), same)
    assert passed and "INTERNAL or UNKNOWN: 0" in text
    internal = [*ok, Outcome("Feedback", grpc.StatusCode.INTERNAL, "boom", "req")]
    assert not summarize(internal, 1.0, True, (1.0, 1.0), same)[1]
    assert not summarize(ok, 1.0, False, (1.0, 1.0), same)[1]
    assert not summarize(ok, 1.0, True, (1.0, 1.0), ({"a": 1}, {"a": 2}))[1]


def test_soak_reads_the_cpu_time_a_process_spent() -> None:
    import os
    import time

    from bench.soak import cpu_seconds

    before = cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass
    assert cpu_seconds(os.getpid()) - before >= 0.1
    assert cpu_seconds(2**22 + 12345) != cpu_seconds(2**22 + 12345)  # no such process: NaN
