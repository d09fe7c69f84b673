"""EntityLinker against a real graph store (embedded FalkorDB; Neo4j when NEO4J_URI is set):
lexicon from the store, fulltext as a signal, hostile text, a store that fails."""

from __future__ import annotations

import pytest

import kg
from kg.linking import EntityLinker
from kg.linking.evaluation import demo_rows, load_into_store
from kgrec.errors import GraphUnavailableError


@pytest.fixture
def demo_store(store: kg.GraphStore) -> kg.GraphStore:
    load_into_store(store, demo_rows())
    return store


def test_lexicon_from_the_store_links(demo_store: kg.GraphStore) -> None:
    linker = EntityLinker(demo_store.lexicon(), store=demo_store)
    for mention, gold in [
        ("nkie", "brand:nike"),
        ("T Shirts", "cat:t-shirts"),
        ("crimson", "attr:color=red"),
        ("north face", "brand:the-north-face"),
    ]:
        found = linker.link_best(mention)
        assert found is not None and found.entity_id == gold, mention
    assert linker.link("pizza") == []


def test_fulltext_finds_nodes_added_after_the_lexicon_was_read(demo_store: kg.GraphStore) -> None:
    linker = EntityLinker(demo_store.lexicon(), store=demo_store)
    assert linker.link("blue ridge outfitters") == []
    demo_store.upsert_brands([{"id": "brand:blue-ridge", "name": "Blue Ridge Outfitters"}])
    found = linker.link_best("blue ridge outfitters", label_hint="Brand")
    assert found is not None
    assert (found.entity_id, found.label, found.method) == ("brand:blue-ridge", "Brand", "fulltext")
    # refresh puts it in the lexicon: an exact match from then on
    linker.refresh(demo_store.lexicon())
    found = linker.link_best("Blue Ridge Outfitters")
    assert found is not None and found.method == "exact"


@pytest.mark.parametrize(
    "mention",
    [
        "') DETACH DELETE n //",
        'nike"}) MATCH (n) DETACH DELETE n RETURN 1 //',
        "@name:{x} | -running ~shoes* %%",
        "$query",
    ],
)
def test_hostile_text_is_matched_literally(demo_store: kg.GraphStore, mention: str) -> None:
    before = demo_store.stats()
    linker = EntityLinker(demo_store.lexicon(), store=demo_store)
    found = linker.link(mention)
    assert all(c.entity_id in {"brand:nike", "cat:running-shoes"} for c in found)
    assert demo_store.stats() == before


class _DownStore:
    def fulltext(self, text, labels, k=10):
        raise GraphUnavailableError("down")


def test_a_failing_store_leaves_lexical_linking_working(
    demo_store: kg.GraphStore, caplog: pytest.LogCaptureFixture
) -> None:
    linker = EntityLinker(demo_store.lexicon(), store=_DownStore())  # type: ignore[arg-type]
    found = linker.link_best("new balanse")  # two words below 0.8: fulltext is tried
    assert found is not None and found.entity_id == "brand:new-balance"
    assert "fulltext lookup failed" in caplog.text
