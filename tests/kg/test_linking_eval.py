"""The labelled linking set: schema, size, gold ids that exist, and a quality floor."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from kg.linking import EntityLinker
from kg.linking.evaluation import (
    EVAL_PATH,
    demo_lexicon,
    load_eval,
    metrics,
    movielens_lexicon,
    run,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def test_eval_set_schema_and_size() -> None:
    rows = [json.loads(line) for line in EVAL_PATH.read_text("utf-8").splitlines() if line]
    assert len(rows) >= 300
    for row in rows:
        assert set(row) == {"mention", "domain", "label_hint", "entity_id"}
        assert isinstance(row["mention"], str) and row["mention"]
        assert row["domain"] in {"demo", "movielens"}
        assert row["label_hint"] in {None, "Brand", "Category", "Attribute", "Product", "Entity"}
        assert row["entity_id"] is None or ":" in row["entity_id"]
    keys = Counter((r["mention"], r["domain"], r["label_hint"]) for r in rows)
    assert max(keys.values()) == 1, "duplicate lines"
    by_domain = Counter(r["domain"] for r in rows)
    assert min(by_domain.values()) >= 100
    nil = sum(r["entity_id"] is None for r in rows)
    assert 0.1 <= nil / len(rows) <= 0.3


def test_demo_gold_ids_exist_in_the_demo_store() -> None:
    ids = {e.entity_id for e in demo_lexicon()}
    gold = {e.gold for e in load_eval() if e.domain == "demo" and e.gold is not None}
    assert gold and gold <= ids, sorted(gold - ids)


def test_lexical_linker_quality_floor_on_demo() -> None:
    """Without a model or a database the demo mentions still link well (no regressions)."""
    examples = [e for e in load_eval() if e.domain == "demo"]
    found = metrics(run(EntityLinker(demo_lexicon()), examples), threshold=0.5)
    assert found["acc@1"] >= 0.9
    assert found["precision"] >= 0.95
    assert found["nil_recall"] >= 0.9


@pytest.mark.data
@pytest.mark.slow
def test_movielens_gold_ids_exist_in_the_importer_rows() -> None:
    if not (DATA / "movielens-100k").is_dir():
        pytest.skip(f"MovieLens files not found under {DATA}")
    ids = {e.entity_id for e in movielens_lexicon(DATA)}
    gold = {e.gold for e in load_eval() if e.domain == "movielens" and e.gold is not None}
    assert gold and gold <= ids, sorted(gold - ids)
