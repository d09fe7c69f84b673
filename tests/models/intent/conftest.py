"""Fixtures for the intent tests: a small lexicon and a tiny random BERT built on the spot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from intent_testdata import TRAIN

from kg.types import LexiconEntry
from kgrec.domain import IntentType
from models.intent import EmbeddedIntentParser, Intent, IntentConfig
from models.intent._encoder import SentenceEncoder
from models.intent._features import FEATURE_NAMES
from models.intent.classifier import IntentClassifier

LEXICON_ROWS = {
    ("brand:nike", "Brand"): ["Nike"],
    ("brand:adidas", "Brand"): ["Adidas", "Adi"],
    ("brand:asics", "Brand"): ["Asics"],
    ("brand:puma", "Brand"): ["Puma"],
    ("brand:new-balance", "Brand"): ["New Balance"],
    ("cat:running-shoes", "Category"): ["Running shoes", "runners"],
    ("cat:trail-running-shoes", "Category"): ["Trail running shoes"],
    ("cat:t-shirts", "Category"): ["T-shirts"],
    ("cat:headphones", "Category"): ["Headphones"],
    ("attr:color=red", "Attribute"): ["red"],
    ("attr:color=blue", "Attribute"): ["blue"],
    ("attr:color=black", "Attribute"): ["black"],
    ("attr:material=leather", "Attribute"): ["leather"],
    ("attr:feature=waterproof", "Attribute"): ["waterproof"],
    ("prod:pegasus", "Product"): ["Nike Pegasus 40", "Pegasus"],
    ("prod:air-max-90", "Product"): ["Nike Air Max 90", "Air Max 90"],
    ("movie:usual-suspects", "Product"): ["Usual Suspects, The (1995)"],
    ("movie:seven", "Product"): ["Seven (1995)"],
    ("person:tom-hanks", "Entity"): ["Tom Hanks"],
    ("genre:horror", "Entity"): ["Horror"],
}


@pytest.fixture(scope="session")
def lexicon() -> list[LexiconEntry]:
    return [
        LexiconEntry(entity_id=eid, label=label, name=names[0], surface=s)
        for (eid, label), names in LEXICON_ROWS.items()
        for s in names
    ]


WORDS = (
    "show",
    "me",
    "red",
    "running",
    "shoes",
    "under",
    "cheaper",
    "not",
    "that",
    "brand",
    "the",
    "second",
    "one",
    "compare",
    "and",
    "is",
    "first",
    "waterproof",
    "i",
    "loved",
    "it",
    "hi",
    "thanks",
    "bye",
    "nike",
    "adidas",
    "something",
    "like",
    "last",
)


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Tiny models on a shared 2-core box: one intra-op thread is ~10x faster than two."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide random BERT with a word-level vocab, saved as an HF model dir."""
    from tests.tiny_bert import save_tiny_bert

    words = [*sorted(set(WORDS)), *"0123456789"]
    d = tmp_path_factory.mktemp("tiny-bert")
    return save_tiny_bert(d, words, suffixes=(), hidden=32, layers=2, fast=True)


@pytest.fixture(scope="session")
def tiny_parser(tiny_encoder_dir, lexicon) -> EmbeddedIntentParser:
    cfg = IntentConfig(encoder_path=str(tiny_encoder_dir), embedding_cache=0)
    enc = SentenceEncoder(str(tiny_encoder_dir), cache_size=0)
    slot_parser = EmbeddedIntentParser(cfg, lexicon)
    emb = enc.encode_batch([m for m, _, _ in TRAIN])
    prev = Intent(type=IntentType.RECOMMEND)
    feats = np.stack(
        [
            slot_parser.features(m, slot_parser.extract_slots(m), prev if p else None)
            for m, _, p in TRAIN
        ]
    )
    clf = IntentClassifier.fit(
        emb, feats, [t for _, t, _ in TRAIN], feature_names=FEATURE_NAMES, l2=1e-4
    )
    return EmbeddedIntentParser(cfg, lexicon, classifier=clf, encoder=enc)
