"""bench.intent_chat: the sign test and the seeded sample of disagreements."""

from __future__ import annotations

import math

from bench.intent_chat import disagreements, sign_test


def test_sign_test_is_exact_and_two_sided() -> None:
    assert sign_test(0, 0) == 1.0
    assert sign_test(5, 5) == 1.0
    assert math.isclose(sign_test(0, 3), 2 * 0.5**3)
    assert math.isclose(sign_test(9, 1), 2 * (1 + 10) / 2**10)
    assert sign_test(75, 8) == sign_test(8, 75) < 1e-13


def test_disagreements_are_a_seeded_order_of_the_messages_the_heads_differ_on() -> None:
    messages = [f"m{i}" for i in range(50)]
    types = {m: ("recommend", "other" if int(m[1:]) % 3 == 0 else "recommend") for m in messages}
    messages.append("  ")
    types["  "] = ("other", "recommend")  # blank messages are never sampled
    first = disagreements(messages, types, seed=2)
    assert sorted(first, key=lambda m: int(m[1:])) == [f"m{i}" for i in range(0, 50, 3)]
    assert disagreements(messages, types, seed=2) == first
    assert disagreements(messages, types, seed=3) != first
