"""The shipped evaluation set: schema, size, partition and consistency with its lexicon."""

from __future__ import annotations

import json
from collections import Counter

from kgrec.domain import IntentType
from models.intent.dataset import EVAL_PATH, load_eval_set, load_lexicon
from models.intent.intent import (
    MENTION_LABELS,
    PREFERENCE_KINDS,
    PRICE_LEVELS,
    REFERENCE_KINDS,
    RELATIVE_PRICES,
)

KEYS = {"id", "message", "previous", "type", "mentions", "price", "references"}


def test_raw_schema() -> None:
    rows = [json.loads(line) for line in EVAL_PATH.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 400
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert set(r) >= KEYS, r["id"]
        assert r["type"] in {t.value for t in IntentType}
        assert r["split"] in ("train", "test")
        for m in r["mentions"]:
            assert m["text"] in r["message"], r["id"]
            assert m["label"] in (*MENTION_LABELS, None)
            assert isinstance(m["negated"], bool)
        if r["price"] is not None:
            p = r["price"]
            assert p["relative"] in (*RELATIVE_PRICES, None)
            assert p.get("level") in (*PRICE_LEVELS, None)
            assert any(p.get(k) is not None for k in ("min", "max", "relative", "level")), r["id"]
            if p["min"] is not None and p["max"] is not None:
                assert p["min"] <= p["max"], r["id"]
        for pref in r.get("preferences", ()):
            assert pref["kind"] in PREFERENCE_KINDS, r["id"]
            assert pref["value"] and isinstance(pref["negated"], bool), r["id"]
        for ref in r["references"]:
            assert ref["kind"] in REFERENCE_KINDS
            assert ref["index"] is None or ref["index"] >= -1
        if r["previous"] is not None:
            assert r["previous"]["message"]
            assert r["previous"]["type"] in {t.value for t in IntentType}


def test_coverage_and_partition() -> None:
    examples = load_eval_set()
    by_type = Counter(e.type for e in examples)
    assert min(by_type.values()) >= 30, by_type
    test = load_eval_set(split="test")
    assert 0.2 <= len(test) / len(examples) <= 0.4
    assert {e.type for e in test} == set(IntentType)
    assert sum(e.previous_message is not None for e in examples) >= 100
    assert sum(any(n for _, _, n in e.mentions) for e in examples) >= 40
    assert sum(any("\u4e00" <= c <= "\u9fff" for c in e.message) for e in examples) >= 10


def test_shopper_word_families_have_a_held_out_part() -> None:
    """Issue 19: each family of shopper words (price words, audience, gift, use, season, a
    count before the thing) is in both parts, so the benchmark measures it on unseen text."""
    examples = load_eval_set()
    for family in ("price_words", "audience", "gift", "use", "season", "numbered"):
        splits = Counter(e.split for e in examples if e.id.startswith(f"{family}-"))
        assert splits["train"] >= 5 and splits["test"] >= 3, (family, splits)


def test_lexicon_loads() -> None:
    lex = load_lexicon()
    assert len(lex) > 300
    assert {e.label for e in lex} == set(MENTION_LABELS)
