"""The embedded parser's span index kept in a cache dir: the same slots, built once per lexicon."""

from __future__ import annotations

from pathlib import Path

import pytest

import models.intent.embedded as embedded
from kg.types import LexiconEntry
from models.intent import IntentConfig
from models.intent.embedded import EmbeddedIntentParser
from models.intent.span_extractor import SpanExtractor

LEXICON = [
    LexiconEntry("brand:nike", "Brand", "Nike", "Nike"),
    LexiconEntry("cat:running-shoes", "Category", "Running shoes", "Running shoes"),
    LexiconEntry("attr:color=red", "Attribute", "red", "red"),
]
MESSAGES = ["red running shoes from nike under 100", "something like the second one", "hoka?"]


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    def counting(lexicon):
        calls.append(len(lexicon))
        return SpanExtractor(lexicon)

    monkeypatch.setattr(embedded, "SpanExtractor", counting)
    return calls


def _slots(parser: EmbeddedIntentParser) -> list[object]:
    return [parser.extract_slots(m) for m in MESSAGES]


def test_built_once_per_lexicon(tmp_path: Path, builds: list[int]) -> None:
    config = IntentConfig(cache_dir=str(tmp_path))
    first = EmbeddedIntentParser(config, LEXICON)
    again = EmbeddedIntentParser(config, LEXICON)
    assert builds == [3]
    assert _slots(again) == _slots(first) == _slots(EmbeddedIntentParser(IntentConfig(), LEXICON))
    imported = [*LEXICON, LexiconEntry("brand:hoka", "Brand", "Hoka", "Hoka")]
    parser = EmbeddedIntentParser(config, imported)
    assert builds == [3, 3, 4]  # the uncached parser built its own; the new lexicon rebuilt
    assert [m.text for m in parser.extract_slots("hoka?").mentions] == ["hoka"]


def test_a_name_many_entries_share_keeps_each_entry_once_in_order() -> None:
    """Big buckets (a generated catalogue repeats titles) check duplicates through a set; the
    index must hold what the plain scan kept: each entity once, first-seen order."""
    from kg.types import LexiconEntry
    from models.intent.span_extractor import _SCAN_BUCKET, SpanExtractor

    n = 3 * _SCAN_BUCKET
    entries = [
        LexiconEntry(f"prod:{i % n}", "Product", "Black socks", "Black socks") for i in range(2 * n)
    ]
    entries.insert(5, LexiconEntry("prod:1", "Product", "Black socks", "black socks"))
    index = SpanExtractor(entries)._index
    bucket = index[max(index, key=lambda k: len(index[k]))]
    assert [e.entity_id for e in bucket] == [f"prod:{i}" for i in range(n)]
