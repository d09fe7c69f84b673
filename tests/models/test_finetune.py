"""``kgrec train --since``: a GNN trained on a small graph is fine-tuned on the graph's
interactions plus the feedback events recorded after it, into a new version next to it whose
scores moved with the events, with rows for the new user and the new product."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from kg import EmbeddedFalkorDB, open_store
from kg.store import GraphStore
from kgrec.cli import main
from kgrec.domain import EventType, FeedbackEvent
from kgrec.errors import ConfigError
from models.cli import DEFAULT_FINE_TUNE_EPOCHS
from models.config import EncoderConfig, ModelConfig, TrainConfig
from models.data import RecDataset
from models.scoring import GnnScorer, ScoringContext, latest_checkpoint
from models.training import Checkpoint, train
from models.training.finetune import DEFAULT_EPOCHS, fine_tune, graph_rows

GRAPH = "finetune"
# c1: p00..p05, c2: p06..p11; users u0..u2 buy c1 items, u3..u5 buy c2 items
C1, C2 = [f"p{i:02d}" for i in range(6)], [f"p{i:02d}" for i in range(6, 12)]


@pytest.fixture
def graph(tmp_path: Path) -> Iterator[tuple[GraphStore, str]]:
    server = EmbeddedFalkorDB(tmp_path / "g").start()
    st = open_store(server.uri, graph=GRAPH)
    st.init_schema()
    st.upsert_categories([{"id": "c1", "name": "Shoes"}, {"id": "c2", "name": "Jackets"}])
    st.upsert_brands([{"id": "b1", "name": "Acme"}, {"id": "b2", "name": "Zed"}])
    st.upsert_products(
        [
            {
                "id": p,
                "title": f"Item {p}",
                "category_id": "c1" if p in C1 else "c2",
                "brand_id": "b1" if int(p[1:]) % 2 else "b2",
            }
            for p in C1 + C2
        ]  # fmt: skip
    )
    rows = []
    for u in range(6):
        for k, item in enumerate((C1 if u < 3 else C2)[u % 3 : u % 3 + 4]):
            rows.append({"user_id": f"u{u}", "item_id": item, "type": "purchase",
                         "ts": 1000.0 + k, "event_id": f"e{u}-{k}"})  # fmt: skip
    st.add_interactions(rows)  # type: ignore[arg-type]
    yield st, server.uri
    st.close()
    server.stop()


def _config() -> TrainConfig:
    return TrainConfig(
        model=ModelConfig(dim=8, num_layers=2, min_entity_degree=1),
        encoder=EncoderConfig(use_text=False, use_image=False),  # rating features only: fast
        epochs=3, batch_size=16, lr=0.05, device="cpu", threads=1,
    )  # fmt: skip


def _scores(scorer: GnnScorer, user: str, items: list[str]) -> np.ndarray:
    return scorer.scores_for(items, scorer.catalog_scores(ScoringContext(user_id=user)))


def test_train_since_fine_tunes_on_the_events_logged_after_the_checkpoint(
    graph: tuple[GraphStore, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, uri = graph
    rows = graph_rows(store)
    assert len(rows.products) == 12 and len(rows.interactions) == 24
    assert {p.get("category_id") for p in rows.products} == {"c1", "c2"}
    assert all(p.get("brand_id") in ("b1", "b2") for p in rows.products)
    model_dir = tmp_path / "models"
    dataset = RecDataset.from_rows(rows.products, rows.interactions, rows.triples, None, (0, 0))
    first = train(dataset, _config(), model_dir, progress=False)
    before = GnnScorer.load(first, device="cpu")

    # after the checkpoint: u0 turns to jackets, a new shopper and a new product appear
    time.sleep(0.01)
    now = time.time()
    store.upsert_products([{"id": "p12", "title": "Item p12", "category_id": "c2"}])
    events = [("u0", item) for item in C2[:4]] + [("newbie", "p12"), ("newbie", C2[0])]
    for n, (user, item) in enumerate(events):
        store.record_event(
            FeedbackEvent(user, "", item, EventType.PURCHASE), f"fb{n}", now + n * 0.001
        )

    code = main(["train", "--since", str(model_dir), "--uri", uri, "--graph", GRAPH,
                 "--epochs", "3", "--quiet"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    newest = latest_checkpoint(model_dir)
    assert newest is not None and newest != first and newest.parent == model_dir
    meta = json.loads((newest / "meta.json").read_text())
    assert meta["version"] != before.version and "-ft-" in meta["version"]
    assert meta["fine_tuned_from"] == before.version and meta["events_since"] == len(events)
    assert meta["epochs_trained"] == 3 and f"version: {meta['version']}" in out
    after = GnnScorer.load(newest, device="cpu")
    # rows for the new shopper and the new product
    assert after.has_user("newbie") and after.has_item("p12")
    assert set(after.user_ids) == {*before.user_ids, "newbie"}
    # u0's jacket purchases moved u0's jacket scores up relative to shoes
    gap_before = _scores(before, "u0", C2).mean() - _scores(before, "u0", C1).mean()
    gap_after = _scores(after, "u0", C2).mean() - _scores(after, "u0", C1).mean()
    assert gap_after > gap_before
    assert not np.allclose(_scores(before, "u3", C1 + C2), _scores(after, "u3", C1 + C2))


def test_fine_tune_starts_from_the_checkpoint_weights(
    graph: tuple[GraphStore, str], tmp_path: Path
) -> None:
    """With a zero learning rate nothing moves: the known rows are the checkpoint's own."""
    store, _ = graph
    rows = graph_rows(store)
    dataset = RecDataset.from_rows(rows.products, rows.interactions, rows.triples, None, (0, 0))
    first = train(dataset, _config(), tmp_path / "m", progress=False)
    tuned = fine_tune(first, rows, tmp_path / "m", epochs=1, lr=0.0, progress=False)
    old, new = Checkpoint.load(first), tuned.checkpoint
    assert new.user_ids == old.user_ids and new.item_ids == old.item_ids
    torch.testing.assert_close(new.state_dict["user_emb.weight"], old.state_dict["user_emb.weight"])
    torch.testing.assert_close(new.tensors["items"], old.tensors["items"])


def test_fine_tune_keeps_the_item_item_choice(
    graph: tuple[GraphStore, str], tmp_path: Path
) -> None:
    """A checkpoint's item-item term is refitted on every event with its lambda and weight;
    one without the term gets none."""
    rows = graph_rows(graph[0])
    dataset = RecDataset.from_rows(rows.products, rows.interactions, rows.triples, None, (0, 0))
    one_point = _config().with_changes(item_item_lambdas=(5.0,), item_item_weights=(0.5,))
    first = train(dataset, one_point, tmp_path / "m", progress=False)
    assert Checkpoint.load(first).extra["item_item_weight"] == 0.5  # no valid: the one point
    tuned = fine_tune(first, rows, tmp_path / "m", epochs=1, progress=False).checkpoint
    assert (tuned.extra["item_item_lambda"], tuned.extra["item_item_weight"]) == (5.0, 0.5)
    assert "item_item_weights" in tuned.tensors
    without = train(
        dataset, one_point.with_changes(item_item=False), tmp_path / "n", progress=False
    )
    assert "item_item_weights" not in Checkpoint.load(without).tensors
    again = fine_tune(without, rows, tmp_path / "n", epochs=1, progress=False).checkpoint
    assert "item_item_weights" not in again.tensors


def test_since_needs_a_gnn_checkpoint(tmp_path: Path, graph: tuple[GraphStore, str]) -> None:
    rows = graph_rows(graph[0])
    with pytest.raises(ConfigError, match="not a checkpoint"):
        fine_tune(tmp_path, rows, tmp_path / "out", progress=False)
    assert DEFAULT_FINE_TUNE_EPOCHS == DEFAULT_EPOCHS  # the CLI's copy of the default
