"""The item cold-start split on a tiny synthetic dataset (no ../shared data)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `bench` is not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from bench.coldstart import cold_items, item_cold_split, protocols, split_cold_valid  # noqa: E402
from models.data import RecDataset  # noqa: E402
from tests.bench.tiny_split import random_split  # noqa: E402


def _dataset(num_users: int = 30, num_items: int = 40) -> RecDataset:
    rng = np.random.default_rng(7)
    train, valid, test = random_split(rng, num_users, num_items, 600)
    ratings = {
        name: rng.integers(1, 6, len(p)).astype(float)
        for name, p in (("train", train), ("valid", valid), ("test", test))
    }
    return RecDataset(
        name="tiny",
        user_ids=[f"u{k}" for k in range(num_users)],
        item_ids=[f"i{k}" for k in range(num_items)],
        entity_ids=["e0"],
        relations=["r"],
        train=train,
        valid=valid,
        test=test,
        item_entity=np.array([[i, 0, 0] for i in range(num_items)]),
        entity_entity=np.zeros((0, 3), np.int64),
        item_texts=[f"item {k}" for k in range(num_items)],
        item_images=[None] * num_items,
        rating_rows=(train[:, 1], ratings["train"], np.arange(len(train), dtype=float)),
        pair_ratings=ratings,
    )


def test_no_cold_item_is_left_in_train_valid_or_the_rating_features() -> None:
    data = _dataset()
    reduced, cold = item_cold_split(data, 0.2, seed=3)
    assert len(cold) == 8
    for pairs in (reduced.train, reduced.valid):
        assert not np.isin(pairs[:, 1], cold).any()
    assert not np.isin(reduced.rating_rows[0], cold).any()
    assert len(reduced.rating_rows[0]) == len(reduced.train)
    # the evaluation set is exactly every removed pair, all of cold items
    everything = np.concatenate([data.train, data.valid, data.test])
    expected = everything[np.isin(everything[:, 1], cold)]
    assert sorted(map(tuple, reduced.test)) == sorted(map(tuple, expected))
    assert len(reduced.train) + len(reduced.valid) + len(reduced.test) == len(everything) - len(
        data.test[~np.isin(data.test[:, 1], cold)]
    )
    # content is kept for cold items: they are still items with KG edges and text
    assert reduced.item_ids == data.item_ids and len(reduced.item_entity) == len(data.item_entity)
    assert len(reduced.pair_ratings["test"]) == len(reduced.test)
    assert len(reduced.pair_ratings["train"]) == len(reduced.train)


def test_the_split_is_seeded_and_reproducible() -> None:
    data = _dataset()
    a, cold_a = item_cold_split(data, 0.2, seed=11)
    b, cold_b = item_cold_split(data, 0.2, seed=11)
    assert cold_a.tolist() == cold_b.tolist()
    assert np.array_equal(a.train, b.train) and np.array_equal(a.test, b.test)
    assert cold_items(40, 0.2, 12).tolist() != cold_a.tolist()
    assert np.all(np.diff(cold_a) > 0)


def test_cold_valid_takes_whole_cold_items_out_of_the_test() -> None:
    reduced, cold = item_cold_split(_dataset(), 0.2, seed=3)
    test_part, valid_pairs = split_cold_valid(reduced, cold, 0.5, seed=3)
    valid_items, test_items = set(valid_pairs[:, 1]), set(test_part.test[:, 1])
    assert valid_items and test_items and not valid_items & test_items
    assert valid_items | test_items <= set(cold.tolist())
    assert len(valid_pairs) + len(test_part.test) == len(reduced.test)
    assert np.array_equal(test_part.train, reduced.train)
    assert len(test_part.pair_ratings["test"]) == len(test_part.test)
    again = split_cold_valid(reduced, cold, 0.5, seed=3)[1]
    assert np.array_equal(again, valid_pairs)


def test_protocols_rank_everything_or_only_cold_items() -> None:
    reduced, cold = item_cold_split(_dataset(), 0.2, seed=3)
    evals = protocols(reduced, cold)
    assert set(evals) == {"vs-warm", "cold-only"}
    pairs, seen = evals["cold-only"]
    assert pairs is reduced.test
    excluded_items = set(np.concatenate(seen)[:, 1].tolist())
    assert excluded_items == set(range(reduced.num_items)) - set(cold.tolist())
    test_part, valid_pairs = split_cold_valid(reduced, cold, 0.5)
    with_valid = protocols(test_part, cold, valid_pairs)
    assert set(with_valid) == {"vs-warm", "cold-only", "valid vs-warm", "valid cold-only"}
    # each half's items are out of the other half's ranking
    test_seen = set(np.concatenate(with_valid["vs-warm"][1])[:, 1].tolist())
    valid_seen = set(np.concatenate(with_valid["valid cold-only"][1])[:, 1].tolist())
    assert set(valid_pairs[:, 1].tolist()) <= test_seen
    assert not set(test_part.test[:, 1].tolist()) & test_seen
    assert set(test_part.test[:, 1].tolist()) <= valid_seen
    assert not set(valid_pairs[:, 1].tolist()) & valid_seen
