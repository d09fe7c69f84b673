"""``TrainConfig.cold_item_map``: items without training interactions served from a ridge map
of their text into the trained item space, by the trainer and by ``GnnScorer.add_item`` alike."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from kg.types import InteractionRow, ProductRow, TripleRow
from kgrec.errors import ConfigError
from models.config import TrainConfig
from models.data import RecDataset
from models.scoring import GnnScorer, NewItem, ScoringContext
from models.scoring.turn_scores import LinearScores
from models.training import Checkpoint, train_model
from models.training.cold_items import cold_item_vectors, fit_cold_map
from tests.models.conftest import tiny_config

SCALE = 0.5


def test_fit_cold_map_recovers_a_linear_map_and_vectors_have_the_scale() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(50, 6, generator=gen)
    true = torch.randn(6, 3, generator=gen)
    h = (x - 2.0) @ true  # an offset the centring has to absorb
    weight, mu = fit_cold_map(x, h, ridge=0.0)
    assert torch.allclose((x - mu) @ weight, h - h.mean(0), atol=1e-4)
    v = cold_item_vectors(x[:4], weight, mu, SCALE)
    assert torch.allclose(v.norm(dim=1), torch.full((4,), SCALE))
    with pytest.raises(ValueError, match="no warm item"):
        fit_cold_map(x[:0], h[:0], ridge=1.0)


def test_cold_item_scale_is_checked() -> None:
    with pytest.raises(ConfigError, match="cold_item_scale"):
        TrainConfig(cold_item_scale=0.0)


#: a catalogue product nobody has interacted with
UNUSED: ProductRow = {
    "id": "prod:new",
    "title": "Storm jackets 77",
    "description": "A warm product nobody has bought yet.",
    "price": 50.0,
    "brand_id": "brand:zeta",
    "category_id": "cat:jackets",
    "attribute_ids": ["attr:color=blue"],
}


def _with_unused_product(
    rows: tuple[list[ProductRow], list[InteractionRow], list[TripleRow]], rows_dir: Path
) -> RecDataset:
    products, interactions, triples = rows
    return RecDataset.from_rows(
        [*products, UNUSED], interactions, triples, rows_dir, split=(0.2, 0.0)
    )


@pytest.mark.slow  # trains a tiny model with MiniLM text: ~10 s
def test_trainer_and_add_item_map_items_without_interactions(
    tiny_rows, rows_dir: Path, cache_dir: Path, tmp_path: Path
) -> None:
    dataset = _with_unused_product(tiny_rows, rows_dir)
    new = dataset.item_ids.index("prod:new")
    assert new not in set(dataset.train[:, 1].tolist())
    # no item-item term: a known user's turn is then the index's inner-product search
    config = tiny_config(cache_dir).with_changes(
        cold_item_map=True, cold_item_scale=SCALE, item_item=False
    )
    ckpt = train_model(dataset, config, tmp_path / "runs", progress=False).checkpoint
    items = ckpt.tensors["items"].float()
    norms = items.norm(dim=1)
    # items without training interactions are mapped (length SCALE); warm items stay unit
    cold = torch.from_numpy(np.bincount(dataset.train[:, 1], minlength=len(items)) == 0)
    assert bool(cold[new])
    assert torch.allclose(norms[cold], torch.full((int(cold.sum()),), SCALE), atol=1e-5)
    assert torch.allclose(norms[~cold], torch.ones(int((~cold).sum())), atol=1e-5)
    x = dataset.item_features(config.encoder).tensors()["text"][0]
    t = ckpt.tensors
    expected = cold_item_vectors(x[new : new + 1], t["cold_map"], t["cold_map_mean"], SCALE)[0]
    assert torch.allclose(items[new], expected, atol=1e-5)

    # served: add_item re-embeds the same product to the same vector, and the contract's
    # round trip holds for a checkpoint whose item vectors are not all unit
    scorer = GnnScorer(ckpt, device="cpu")
    before = scorer.catalog_scores(ScoringContext(user_id="user:1"))
    scorer.add_item(NewItem(row=dict(UNUSED)))
    after = scorer.catalog_scores(ScoringContext(user_id="user:1"))
    assert np.allclose(before, after, atol=1e-4)
    served = Checkpoint.load(scorer.save(tmp_path / "served"))
    reloaded = GnnScorer(served, device="cpu")
    for ctx in (
        {"user_id": "user:1"},
        {"text": "a warm jacket"},
        {"liked_item_ids": ("prod:001",)},
    ):
        assert np.array_equal(
            scorer.catalog_scores(ScoringContext(**ctx)),  # type: ignore[arg-type]
            reloaded.catalog_scores(ScoringContext(**ctx)),  # type: ignore[arg-type]
        )

    # the inner-product search answers a turn as the exact catalogue scores do
    if importlib.util.find_spec("faiss") is not None:
        reloaded.configure(item_index="faiss")
        ids = list(reloaded.item_ids)
        for ctx in ({"user_id": "user:1"}, {"text": "a warm jacket", "user_id": "user:2"}):
            context = ScoringContext(**ctx)  # type: ignore[arg-type]
            turn = reloaded.turn_scores(context)
            assert isinstance(turn, LinearScores)
            full = reloaded.catalog_scores(context)
            np.testing.assert_allclose(turn.for_items(ids), full, atol=1e-4)
