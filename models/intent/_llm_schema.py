"""Prompt and output schema shared by the LLM backends.

The model is asked for one JSON object; :func:`intent_from_llm_json` accepts it only if it
has the :class:`~models.intent.intent.Intent` shape. Spans the model names must occur in the
message (case-insensitively); ones that do not are dropped as hallucinated. Anything else that
does not fit raises :class:`InvalidLLMOutput`, and the caller falls back.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from kgrec.domain import IntentType
from models.intent.intent import (
    MENTION_LABELS,
    REFERENCE_KINDS,
    RELATIVE_PRICES,
    Intent,
    Mention,
    PriceConstraint,
    Reference,
)
from models.intent.span_extractor import SpanExtractor

logger = logging.getLogger(__name__)

SYSTEM_PROMPT = """\
You read one message a shopper sends to a recommender (shop: shoes, apparel, sports gear, \
electronics, home; or movies) and reply with ONE JSON object and nothing else:
{"type": "recommend" | "refine" | "compare" | "ask_item" | "feedback" | "other",
 "mentions": [{"text": "<exact words from the message>", \
"label": "Brand" | "Category" | "Attribute" | "Product" | "Entity", "negated": false}],
 "price": {"min": null, "max": null, "currency": null, "relative": null} or null,
 "references": [{"kind": "ordinal" | "last" | "similar" | "other_brand" | "same_brand" \
| "that_brand", "index": null, "negated": false}],
 "clear_constraints": false}
type: recommend = a new request; refine = change the last results ("cheaper", "in red", \
"not that brand"); compare = compare items; ask_item = a question about one item; \
feedback = an opinion about items; other = anything else.
mentions: brands, categories and movie genres (Category), attributes (colour, material, \
feature), products or movie titles (Product), people (Entity); negated when excluded \
("not Nike", "no red").
price: numbers the shopper gave ("under 100" -> max 100; "around 70" -> min 56, max 84); \
relative "cheaper"/"pricier" for "cheaper"/"more expensive".
references: "the second one" -> ordinal, index 1 (0-based); "the last one" -> last, index -1; \
"something like the first" -> similar, index 0; "another brand" -> other_brand; \
"not that brand" -> that_brand, negated true.
clear_constraints: true for "start over", "forget that", "any price is fine"."""

FEW_SHOT: tuple[tuple[str, dict[str, Any]], ...] = (
    (
        "Message: show me red Nike running shoes under 100 dollars",
        {
            "type": "recommend",
            "mentions": [
                {"text": "red", "label": "Attribute", "negated": False},
                {"text": "Nike", "label": "Brand", "negated": False},
                {"text": "running shoes", "label": "Category", "negated": False},
            ],
            "price": {"min": None, "max": 100, "currency": "USD", "relative": None},
            "references": [],
            "clear_constraints": False,
        },
    ),
    (
        "Previous turn: recommend (running shoes)\nMessage: not that brand, something like "
        "the second one but cheaper",
        {
            "type": "refine",
            "mentions": [],
            "price": {"min": None, "max": None, "currency": None, "relative": "cheaper"},
            "references": [
                {"kind": "that_brand", "index": None, "negated": True},
                {"kind": "similar", "index": 1, "negated": False},
            ],
            "clear_constraints": False,
        },
    ),
)


class InvalidLLMOutput(ValueError):
    """The model's reply is not a JSON object of the Intent shape."""


def user_prompt(message: str, previous: Intent | None) -> str:
    if previous is None:
        return f"Message: {message}"
    names = ", ".join(m.text for m in previous.mentions) or "-"
    return f"Previous turn: {previous.type.value} ({names})\nMessage: {message}"


def chat_messages(message: str, previous: Intent | None) -> list[dict[str, str]]:
    """OpenAI-style chat turns: system, few-shot pairs, the message."""
    out = [{"role": "system", "content": SYSTEM_PROMPT}]
    for user, answer in FEW_SHOT:
        out.append({"role": "user", "content": user})
        out.append({"role": "assistant", "content": json.dumps(answer)})
    out.append({"role": "user", "content": user_prompt(message, previous)})
    return out


def first_json_object(text: str) -> Any:
    """The first JSON value starting at a ``{`` in ``text`` (code fences and prose around it
    are ignored)."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
            return value
        except ValueError:
            start = text.find("{", start + 1)
    raise InvalidLLMOutput(f"no JSON object in reply: {text[:120]!r}")


def _bool(v: Any, what: str) -> bool:
    if isinstance(v, bool):
        return v
    if v is None:
        return False
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise InvalidLLMOutput(f"{what} must be a boolean, got {v!r}")


def _number(v: Any, what: str) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool):
        raise InvalidLLMOutput(f"{what} must be a number, got {v!r}")
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise InvalidLLMOutput(f"{what} must be a number, got {v!r}") from None
    if not math.isfinite(x) or x < 0:
        raise InvalidLLMOutput(f"{what} out of range: {v!r}")
    return x


def _mentions(raw: Any, message: str, extractor: SpanExtractor | None) -> tuple[Mention, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidLLMOutput("mentions must be a list")
    out: list[Mention] = []
    lowered = message.casefold()
    used: set[int] = set()
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise InvalidLLMOutput(f"bad mention {item!r}")
        text = item["text"].strip()
        start = lowered.find(text.casefold()) if text else -1
        while start in used and start != -1:
            start = lowered.find(text.casefold(), start + 1)
        if start < 0:
            logger.debug("dropping mention %r not in the message", text)
            continue
        used.add(start)
        end = start + len(text)
        label = item.get("label")
        label = label if label in MENTION_LABELS else None
        entity_id = None
        if extractor is not None:
            spans = extractor.extract(message[start:end])
            if len(spans) == 1 and spans[0].mention.text == message[start:end]:
                entity_id = spans[0].mention.entity_id
                label = spans[0].mention.label_hint or label
        out.append(
            Mention(
                text=message[start:end],
                start=start,
                end=end,
                negated=_bool(item.get("negated"), "mention.negated"),
                label_hint=label,
                entity_id=entity_id,
            )
        )
    return tuple(sorted(out, key=lambda m: m.start))


def _price(raw: Any) -> PriceConstraint | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidLLMOutput("price must be an object or null")
    lo, hi = _number(raw.get("min"), "price.min"), _number(raw.get("max"), "price.max")
    relative = raw.get("relative")
    if relative not in (*RELATIVE_PRICES, None):
        raise InvalidLLMOutput(f"price.relative must be one of {RELATIVE_PRICES}")
    currency = raw.get("currency")
    currency = currency.upper() if isinstance(currency, str) and len(currency) == 3 else None
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    if lo is None and hi is None and relative is None:
        return None
    return PriceConstraint(min=lo, max=hi, currency=currency, relative=relative)


def _references(raw: Any) -> tuple[Reference, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidLLMOutput("references must be a list")
    out = []
    for item in raw:
        if not isinstance(item, dict) or item.get("kind") not in REFERENCE_KINDS:
            raise InvalidLLMOutput(f"bad reference {item!r}")
        index = item.get("index")
        if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
            raise InvalidLLMOutput(f"reference.index must be an integer, got {index!r}")
        out.append(Reference(item["kind"], index, _bool(item.get("negated"), "reference.negated")))
    return tuple(out)


def intent_from_llm_json(text: str, message: str, extractor: SpanExtractor | None = None) -> Intent:
    """Validate the model's reply into an :class:`Intent` (``backend``/``confidence`` are
    the caller's to set)."""
    obj = first_json_object(text)
    if not isinstance(obj, dict):
        raise InvalidLLMOutput("reply is not a JSON object")
    try:
        kind = IntentType(str(obj.get("type")))
    except ValueError:
        raise InvalidLLMOutput(f"unknown intent type {obj.get('type')!r}") from None
    return Intent(
        type=kind,
        mentions=_mentions(obj.get("mentions"), message, extractor),
        price=_price(obj.get("price")),
        references=_references(obj.get("references")),
        clear_constraints=_bool(obj.get("clear_constraints"), "clear_constraints"),
    )


__all__ = [
    "FEW_SHOT",
    "SYSTEM_PROMPT",
    "InvalidLLMOutput",
    "chat_messages",
    "first_json_object",
    "intent_from_llm_json",
    "user_prompt",
]
