"""llm-remote and hybrid against a real OpenAI-compatible HTTP server started in the test."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from kgrec.domain import IntentType
from kgrec.errors import ConfigError
from models.intent import (
    HybridIntentParser,
    IntentConfig,
    RemoteLLMIntentParser,
    make_parser,
)
from tests.fake_llm_endpoint import EndpointState, llm_endpoint

VALID = {
    "type": "refine",
    "mentions": [
        {"text": "nike", "label": "Brand", "negated": True},
        {"text": "Mizuno", "label": "Brand", "negated": False},
        {"text": "Reebok", "label": "Brand", "negated": False},  # not in the message
    ],
    "price": {"min": None, "max": "80", "currency": "usd", "relative": None},
    "references": [{"kind": "similar", "index": 1, "negated": False}],
    "clear_constraints": False,
}


@pytest.fixture
def server() -> Iterator[tuple[str, EndpointState]]:
    with llm_endpoint() as (state, url):
        state.reply = json.dumps(VALID)
        yield url, state


def remote(url: str, tiny_parser, lexicon, **kw) -> RemoteLLMIntentParser:
    cfg = IntentConfig(backend="llm-remote", endpoint_url=url, budget_ms=2000, **kw)
    return RemoteLLMIntentParser(cfg, lexicon, fallback=tiny_parser)


MESSAGE = "not Nike, something like the second one from Mizuno under 80"


def test_valid_reply_is_validated_and_grounded(server, tiny_parser, lexicon, monkeypatch):
    url, state = server
    monkeypatch.setenv("KGREC_INTENT_API_KEY", "sk-test")
    got = remote(url, tiny_parser, lexicon).parse(MESSAGE)
    assert got.backend == "llm-remote"
    assert got.type == IntentType.REFINE
    assert [(m.text, m.negated, m.entity_id, m.label_hint) for m in got.mentions] == [
        ("Nike", True, "brand:nike", "Brand"),
        ("Mizuno", False, None, "Brand"),
    ]
    for m in got.mentions:
        assert MESSAGE[m.start : m.end] == m.text
    assert (got.price.max, got.price.currency) == (80.0, "USD")
    assert [(r.kind, r.index) for r in got.references] == [("similar", 1)]
    (req,) = state.requests
    assert req["messages"][0]["role"] == "system"
    assert MESSAGE in req["messages"][-1]["content"]
    assert state.headers[0]["Authorization"] == "Bearer sk-test"


@pytest.mark.parametrize(
    "reply",
    [
        "Sure! The intent is refine.",
        '{"type": "shopping", "mentions": []}',
        '{"type": "refine", "mentions": "Nike"}',
        '{"type": "refine", "price": {"max": "cheap"}}',
        '{"type": "refine", "references": [{"kind": "the best one"}]}',
        '["refine"]',
    ],
)
def test_invalid_reply_falls_back(server, tiny_parser, lexicon, reply) -> None:
    url, state = server
    state.reply = reply
    got = remote(url, tiny_parser, lexicon).parse("not that brand")
    assert got.backend == "embedded(fallback:llm-remote:invalid)"
    assert [r.kind for r in got.references] == ["that_brand"]  # the embedded rules answered


def test_reply_in_code_fence_is_accepted(server, tiny_parser, lexicon) -> None:
    url, state = server
    state.reply = 'Here you go:\n```json\n{"type": "other"}\n```'
    assert remote(url, tiny_parser, lexicon).parse("hi").backend == "llm-remote"


def test_timeout_falls_back_within_budget(server, tiny_parser, lexicon) -> None:
    url, state = server
    state.delay_s = 1.0
    parser = remote(url, tiny_parser, lexicon)
    parser.config = IntentConfig(backend="llm-remote", endpoint_url=url, budget_ms=200)
    t0 = time.perf_counter()
    got = parser.parse("something cheaper")
    assert time.perf_counter() - t0 < 0.9
    assert got.backend == "embedded(fallback:llm-remote:timeout)"
    assert got.price is not None and got.price.relative == "cheaper"


def test_http_error_and_unreachable_fall_back(server, tiny_parser, lexicon) -> None:
    url, state = server
    state.status = 500
    assert remote(url, tiny_parser, lexicon).parse("hi").backend.endswith("llm-remote:error)")
    closed = remote("http://127.0.0.1:9/v1", tiny_parser, lexicon)
    assert closed.parse("hi").backend == "embedded(fallback:llm-remote:error)"


def test_remote_needs_an_endpoint() -> None:
    with pytest.raises(ConfigError, match="endpoint_url"):
        make_parser("llm-remote", IntentConfig(backend="llm-remote"))


def test_hybrid_asks_the_llm_only_when_unsure(server, tiny_parser, lexicon) -> None:
    url, state = server
    state.reply = json.dumps({"type": "compare", "mentions": [], "references": []})

    def hybrid(threshold: float) -> HybridIntentParser:
        cfg = IntentConfig(
            backend="hybrid",
            hybrid_llm="llm-remote",
            endpoint_url=url,
            hybrid_threshold=threshold,
            budget_ms=2000,
        )
        return HybridIntentParser(cfg, lexicon, embedded=tiny_parser)

    sure = hybrid(0.0).parse("show me red running shoes under 100")
    assert sure.backend == "embedded" and state.requests == []
    unsure = hybrid(1.01).parse("show me red running shoes under 100")
    assert len(state.requests) == 1
    assert unsure.backend == "hybrid(llm-remote)"
    assert unsure.type == IntentType.COMPARE  # the LLM's type ...
    assert [m.text for m in unsure.mentions] == ["red", "running shoes"]  # ... the rules' slots
    assert unsure.price is not None and unsure.price.max == 100.0
    state.reply = "no idea"
    failed = hybrid(1.01).parse("show me red running shoes")
    assert failed.backend == "embedded(fallback:llm-remote:invalid)"
