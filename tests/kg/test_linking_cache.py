"""The linker's index and name vectors kept in a cache dir: the same links, no re-encoding."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kg.linking import EntityLinker
from kg.types import LexiconEntry

LEXICON = [
    LexiconEntry("brand:nike", "Brand", "Nike", "Nike"),
    LexiconEntry("brand:nike", "Brand", "Nike", "nike inc"),
    LexiconEntry("cat:running-shoes", "Category", "Running shoes", "Running shoes"),
    LexiconEntry("cat:hoodies", "Category", "Hoodies", "Hoodies"),
    LexiconEntry("attr:color=red", "Attribute", "red", "red"),
    LexiconEntry("prod:1", "Product", "Trail Runner 2", "Trail Runner 2"),
]
MENTIONS = ["nike", "nkie", "running shoe", "hoody", "crimson", "trail runner", "pizza"]


class HashEncoder:
    """Deterministic word-hash vectors; counts the texts it encoded."""

    def __init__(self, cache_key: str | None = "hash-v1") -> None:
        if cache_key is not None:
            self.cache_key = cache_key
        self.encoded = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded += len(texts)
        out = np.zeros((len(texts), 16), dtype=np.float32)
        for r, text in enumerate(texts):
            for word in text.split():
                out[r, hashlib.sha256(word[:4].encode()).digest()[0] % 16] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def _links(linker: EntityLinker) -> list[list[tuple[str, float, str]]]:
    return [
        [(c.entity_id, round(c.score, 6), c.method) for c in linker.link(m, k=3)] for m in MENTIONS
    ]


def test_a_restart_loads_the_index_and_vectors_and_links_the_same(tmp_path: Path) -> None:
    first = HashEncoder()
    built = EntityLinker(LEXICON, encoder=first, cache_dir=tmp_path)
    assert first.encoded > 0
    assert len(list(tmp_path.glob("linker-index-*.pickle"))) == 1
    second = HashEncoder()
    loaded = EntityLinker(LEXICON, encoder=second, cache_dir=tmp_path)
    assert second.encoded == 0  # names not encoded again
    uncached = EntityLinker(LEXICON, encoder=HashEncoder())
    assert _links(loaded) == _links(built) == _links(uncached)


def test_a_changed_lexicon_is_built_again(tmp_path: Path) -> None:
    EntityLinker(LEXICON, encoder=HashEncoder(), cache_dir=tmp_path)
    imported = [*LEXICON, LexiconEntry("brand:hoka", "Brand", "Hoka", "Hoka")]
    encoder = HashEncoder()
    linker = EntityLinker(imported, encoder=encoder, cache_dir=tmp_path)
    assert encoder.encoded > 0
    found = linker.link_best("hoka")
    assert found is not None and found.entity_id == "brand:hoka"
    assert len(list(tmp_path.glob("linker-index-*.pickle"))) == 1  # the old one is gone


def test_another_encoder_or_config_does_not_reuse_the_vectors(tmp_path: Path) -> None:
    EntityLinker(LEXICON, encoder=HashEncoder("hash-v1"), cache_dir=tmp_path)
    other = HashEncoder("hash-v2")
    EntityLinker(LEXICON, encoder=other, cache_dir=tmp_path)
    assert other.encoded > 0


def test_an_encoder_without_a_cache_key_is_not_cached(tmp_path: Path) -> None:
    EntityLinker(LEXICON, encoder=HashEncoder(cache_key=None), cache_dir=tmp_path)
    assert not list(tmp_path.glob("*.pickle"))


def test_start_up_cache_entries_pickle_as_their_fields() -> None:
    import pickle

    from kg.linking._index import Posting

    entry = LexiconEntry("b:1", "Brand", "Nike", "nike")
    posting = Posting(3, 1, 1999)
    for value in (entry, posting):
        back = pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        assert back == value and type(back) is type(value)
    assert entry.__reduce__() == (LexiconEntry, ("b:1", "Brand", "Nike", "nike"))
