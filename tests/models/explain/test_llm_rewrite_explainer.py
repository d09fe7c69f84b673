"""The LLM reply rewrite through the real ``llm-remote`` backend, against an OpenAI-compatible
server on loopback: faithful rewrites are used, unfaithful ones and failures fall back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kg.types import ProductRecord
from kgrec.domain import KgPath, PathNode, PriceRange
from models.explain import (
    AppliedConstraints,
    ExplainItem,
    ExplainRequest,
    FaithfulnessChecker,
    LLMRewriteExplainer,
    TemplateExplainer,
)
from models.intent import IntentConfig, make_parser
from tests.fake_llm_endpoint import EndpointState, llm_endpoint


@pytest.fixture
def endpoint() -> Iterator[tuple[EndpointState, str]]:
    with llm_endpoint() as served:
        yield served


TOP = ProductRecord(id="p1", title="Asics Gel Red", price=89.99, brand="Asics")
RED = PathNode("attr:color=red", "Attribute", "color")
REQUEST = ExplainRequest(
    (
        ExplainItem(
            TOP, 1.0, (KgPath((RED, PathNode("p1", "Product", TOP.title)), ("HAS_ATTRIBUTE",)),)
        ),
    ),
    AppliedConstraints(price=PriceRange(None, 100.0), excluded_brands=("Nike",)),
)
CATALOG = ["Asics Gel Red", "Asics", "Nike", "Brooks Ghost", "Brooks"]


def explainer(url: str, budget_ms: float = 2000) -> LLMRewriteExplainer:
    backend = make_parser("llm-remote", IntentConfig(backend="llm-remote", endpoint_url=url))
    return LLMRewriteExplainer(backend, FaithfulnessChecker(CATALOG), budget_ms=budget_ms)  # type: ignore[arg-type]


def test_a_faithful_rewrite_is_used_and_asked_for_free_text(endpoint) -> None:
    state, url = endpoint
    state.reply = "Try the Asics Gel Red: red, $89.99, under your $100 and not Nike."
    out = explainer(url).explain(REQUEST)
    assert out.reply == state.reply and out.backend == "llm-rewrite"
    assert out.reasons == TemplateExplainer().explain(REQUEST).reasons  # paths kept
    (asked,) = state.requests
    assert "response_format" not in asked  # free text, not JSON mode
    assert "Asics Gel Red ($89.99)" in asked["messages"][1]["content"]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("Asics Gel Red is great, and so is the Brooks Ghost.", "unfaithful:brooks ghost"),
        ("Red shoes under $100, not Nike.", "dropped-top-pick"),
        ("   ", "empty"),
    ],
)
def test_an_unfaithful_rewrite_falls_back_to_the_template(endpoint, reply, reason) -> None:
    state, url = endpoint
    state.reply = reply
    out = explainer(url).explain(REQUEST)
    assert out.reply == TemplateExplainer().explain(REQUEST).reply
    assert out.backend == f"template(fallback:llm:{reason})"


def test_backend_errors_and_timeouts_fall_back(endpoint) -> None:
    state, url = endpoint
    state.reply, state.status = "Asics Gel Red.", 500
    assert explainer(url).explain(REQUEST).backend == "template(fallback:llm:error)"
    state.status, state.delay_s = 200, 0.5
    assert explainer(url, budget_ms=100).explain(REQUEST).backend == (
        "template(fallback:llm:timeout)"
    )
