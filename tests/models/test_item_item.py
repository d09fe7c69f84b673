"""The item-item term (``models.training.item_item``): EASE^R's weights, the choice on valid,
and the served scorer scoring a known user exactly as the trainer's evaluation does."""

from __future__ import annotations

import dataclasses
import importlib.util

import numpy as np
import pytest
import torch

from bench.peers import interaction_matrix
from kgrec.errors import ConfigError
from models.config import TrainConfig
from models.metrics import full_ranking_metrics, scored_user_metrics
from models.scoring import GnnScorer, NewItem, ScoringContext
from models.scoring.turn_scores import LinearScores, VectorScores
from models.training import Checkpoint, train_model
from models.training.item_item import (
    FEW_ITEMS,
    ItemItem,
    blended_scores,
    choose_item_item,
    standardize,
)


def _pairs(seed: int, users: int = 40, items: int = 25, n: int = 300) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # a skewed catalogue: low item ids are popular, so "most interacted" is well defined
    item = np.minimum(rng.geometric(0.12, n) - 1, items - 1)
    return np.unique(np.stack([rng.integers(0, users, n), item], 1), axis=0).astype(np.int64)


def test_fit_is_ease_on_the_most_interacted_items() -> None:
    pairs = _pairs(0)
    whole = ItemItem.fit(pairs, 25, lam=5.0, max_items=25)
    counts = np.bincount(pairs[:, 1], minlength=25)
    assert whole.rows.tolist() == np.flatnonzero(counts).tolist()
    x = interaction_matrix(pairs, 40, 25)[:, whole.rows.numpy()]
    p = np.linalg.inv(x.T @ x + 5.0 * np.eye(x.shape[1]))
    expected = np.eye(len(p)) - p / np.diag(p)  # Steck 2019, eq. 8
    assert np.allclose(whole.weights.numpy(), expected, atol=2e-3)  # half floats
    assert np.all(np.diag(whole.weights.numpy()) == 0)
    top = ItemItem.fit(pairs, 25, lam=5.0, max_items=6)
    assert top.rows.tolist() == sorted(np.argsort(-counts, kind="stable")[:6].tolist())
    # x_u B is zero off the covered rows
    history = top.history_matrix([pairs[pairs[:, 0] == 3, 1]])
    scores = top.scores(history, 25)[0]
    uncovered = np.setdiff1d(np.arange(25), top.rows.numpy())
    assert torch.all(scores[uncovered] == 0)
    # the served one-user path (rows of B summed) is the dense product's row, repeats once
    for user in range(40):
        items = pairs[pairs[:, 0] == user, 1]
        dense = top.scores(top.history_matrix([items]), 25)[0]
        assert torch.allclose(top.user_scores(np.concatenate([items, items]), 25), dense)


def test_fit_and_spread_in_parts_give_what_whole_ones_give(monkeypatch) -> None:
    """Shops have many users and items: ``X`` is made a few users at a time and the
    borrowers' gather in parts; the results are the same."""
    import models.training.item_item as item_item

    pairs = np.concatenate([_pairs(6), _pairs(6)])  # a repeated pair counts once
    text = torch.randn(25, 6, generator=torch.Generator().manual_seed(7))
    whole = ItemItem.fit(pairs, 25, lam=5.0, max_items=10)
    whole = whole.with_text_neighbours(text, torch.ones(25, dtype=torch.bool), k=3)
    x = whole.history_matrix([pairs[pairs[:, 0] == u, 1] for u in range(40)])
    expected = whole.scores(x, 25)
    monkeypatch.setattr(item_item, "_USERS_PER_CHUNK", 7)
    monkeypatch.setattr(item_item, "_GATHER_BUDGET", 50)
    parts = ItemItem.fit(pairs, 25, lam=5.0, max_items=10)
    parts = parts.with_text_neighbours(text, torch.ones(25, dtype=torch.bool), k=3)
    assert torch.equal(parts.weights, whole.weights)
    assert torch.allclose(parts.scores(x, 25), expected)
    assert torch.allclose(parts.user_scores(pairs[pairs[:, 0] == 3, 1], 25), expected[3])


def test_uncovered_items_with_text_borrow_their_text_neighbours_mean() -> None:
    pairs = _pairs(4)
    term = ItemItem.fit(pairs, 25, lam=5.0, max_items=8)
    gen = torch.Generator().manual_seed(5)
    text = torch.randn(25, 6, generator=gen)
    rows = term.rows.tolist()
    silent = max(set(range(25)) - set(rows))  # uncovered, and no text to borrow by
    has_text = torch.ones(25, dtype=torch.bool)
    has_text[silent] = False
    extended = term.with_text_neighbours(text, has_text, k=3)
    assert extended.borrowers is not None and extended.neighbours is not None
    assert set(extended.borrowers.tolist()) == set(range(25)) - set(rows) - {silent}
    unit = torch.nn.functional.normalize(text, dim=1)
    for user in range(40):
        items = pairs[pairs[:, 0] == user, 1]
        plain, scores = term.user_scores(items, 25), extended.user_scores(items, 25)
        assert torch.equal(scores[rows], plain[rows]) and scores[silent] == 0
        for item in extended.borrowers.tolist():
            nearest = (unit[term.rows] @ unit[item]).topk(3).indices
            assert torch.isclose(scores[item], plain[term.rows[nearest]].mean(), atol=1e-5)
    # k = 0 (or nothing to borrow): the plain term
    assert term.with_text_neighbours(text, has_text, k=0).borrowers is None


def test_a_zero_weight_without_a_term_ranks_as_the_vectors_do() -> None:
    gen = torch.Generator().manual_seed(1)
    users, items = torch.randn(40, 4, generator=gen), torch.randn(25, 4, generator=gen)
    train, valid = _pairs(2), _pairs(3, n=60)
    plain = full_ranking_metrics(users, items, valid, [train])
    _, per_user = scored_user_metrics(
        blended_scores(users, items, None, train), 40, 25, valid, [train]
    )
    assert per_user["ndcg@10"].mean() == pytest.approx(plain["ndcg@10"], abs=1e-9)
    # the grid keeps the GNN alone unless a point beats it on valid
    term, record = choose_item_item(users, items, train, valid, (5.0,), (0.5,), 25)
    alone, point = record["valid_ndcg@10_gnn_alone"], record["grid"]["lambda=5,w=0.5"]
    assert alone == pytest.approx(plain["ndcg@10"], abs=1e-9)
    assert (term is not None) == (point > alone)


def test_config_checks_the_grid() -> None:
    with pytest.raises(ConfigError, match="item_item"):
        TrainConfig(item_item_lambdas=(0.0,))
    assert TrainConfig.from_dict({"item_item_weights": [0.5]}).item_item_weights == (0.5,)


@pytest.fixture(scope="module")
def tiny_checkpoint(tiny_dataset, cache_dir, tmp_path_factory) -> Checkpoint:
    """A tiny model trained once for this module's served-versus-trainer tests (~10 s)."""
    from tests.models.conftest import tiny_config

    runs = tmp_path_factory.mktemp("runs")
    return train_model(tiny_dataset, tiny_config(cache_dir), runs, progress=False).checkpoint


@pytest.mark.slow  # trains a tiny model: ~10 s
def test_served_scorer_adds_the_term_exactly_as_the_trainer_scores(
    tiny_dataset, tiny_checkpoint, tmp_path
) -> None:
    ckpt = tiny_checkpoint
    term = ItemItem.fit(tiny_dataset.train, tiny_dataset.num_items, lam=2.0, max_items=6)
    text = torch.randn(tiny_dataset.num_items, 4, generator=torch.Generator().manual_seed(0))
    with_text = term.with_text_neighbours(text, torch.ones(len(text), dtype=torch.bool), k=2)
    term = dataclasses.replace(with_text, weight=0.7)
    assert term.borrowers is not None  # the saved term carries its borrowers
    with_term = dataclasses.replace(
        ckpt,
        tensors={**ckpt.tensors, **term.tensors()},
        extra={**ckpt.extra, **term.extra()},
    )
    saved = with_term.save(tmp_path / "with-term")
    scorer = GnnScorer.load(saved, device="cpu")
    loaded = ItemItem.from_tensors(Checkpoint.load(saved).tensors, term.extra())
    assert loaded is not None and torch.equal(loaded.neighbours, term.neighbours)
    users, items = (ckpt.tensors[k].float() for k in ("users", "items"))
    expected = blended_scores(users, items, term, tiny_dataset.train)
    plain = GnnScorer(Checkpoint.load(saved), device="cpu")
    plain._item_item = None  # the same checkpoint without the term
    moved = 0
    for u, user_id in enumerate(tiny_dataset.user_ids):
        served = scorer.catalog_scores(ScoringContext(user_id=user_id))
        want = expected(np.array([u]))[0].numpy()
        assert np.allclose(served, want, atol=1e-4)
        alone = plain.catalog_scores(ScoringContext(user_id=user_id))
        assert np.allclose(alone, standardize(items @ users[u]).numpy(), atol=1e-4)
        moved += int(not np.allclose(served, alone, atol=1e-4))
    assert moved > 0, "the term changed no user's scores"
    # an unknown user has no history: no term
    anon = ScoringContext(user_id="nobody", text="")
    assert np.allclose(scorer.catalog_scores(anon), plain.catalog_scores(anon))
    if importlib.util.find_spec("faiss") is not None:
        # past the exact search's size a known user's turn stays exact (the term is no
        # inner product); anyone else's is the index's search
        scorer.ann_min_items = 1
        scorer.configure(item_index="faiss")
        known = ScoringContext(user_id=tiny_dataset.user_ids[0])
        assert isinstance(scorer.turn_scores(known), VectorScores)
        assert isinstance(scorer.turn_scores(ScoringContext(text="jackets")), LinearScores)


@pytest.mark.slow  # trains a tiny model: ~10 s
def test_a_user_trained_on_few_items_is_served_as_a_session_that_liked_them(
    tiny_dataset, tiny_checkpoint
) -> None:
    ckpt = tiny_checkpoint
    train = tiny_dataset.train
    # user 0 keeps FEW_ITEMS training pairs, user 1 one; the others all theirs
    seen = np.concatenate(
        [train[train[:, 0] == 0][:FEW_ITEMS], train[train[:, 0] == 1][:1], train[train[:, 0] > 1]]
    )
    assert (np.bincount(seen[:, 0])[2:] > FEW_ITEMS).all(), "the others must keep their vectors"
    few = dataclasses.replace(ckpt, tensors={**ckpt.tensors, "seen": torch.from_numpy(seen)})
    scorer = GnnScorer(few, device="cpu")
    users, items = (ckpt.tensors[k].float() for k in ("users", "items"))
    term = ItemItem.from_tensors(ckpt.tensors, ckpt.extra)
    expected = blended_scores(users, items, term, seen)  # the trainer's and evaluate's view
    for u in (0, 1):
        liked = tuple(tiny_dataset.item_ids[i] for i in seen[seen[:, 0] == u, 1])
        served = scorer.catalog_scores(ScoringContext(user_id=tiny_dataset.user_ids[u]))
        as_new = scorer.catalog_scores(ScoringContext(liked_item_ids=liked))
        assert np.allclose(served, as_new, atol=1e-5)
        assert np.allclose(served, expected(np.array([u]))[0].numpy(), atol=1e-4)
        assert not np.allclose(served, standardize(items @ users[u]).numpy(), atol=1e-2)
    # more than FEW_ITEMS: their own vector (and the term, when the checkpoint kept one)
    own = scorer.catalog_scores(ScoringContext(user_id=tiny_dataset.user_ids[2]))
    assert np.allclose(own, expected(np.array([2]))[0].numpy(), atol=1e-4)
    if term is None:
        assert np.allclose(own, standardize(items @ users[2]).numpy(), atol=1e-4)


@pytest.mark.slow  # trains a tiny model with MiniLM text: ~10 s
def test_a_product_added_after_training_borrows_by_its_text(
    tiny_rows, tiny_dataset, cache_dir, tmp_path
) -> None:
    """``add_item`` encodes a new product's text as training did and scores it on the term
    as the mean of its text-nearest covered items; re-adding a product training already
    scored that way keeps its neighbours."""
    from tests.models.conftest import tiny_config

    config = tiny_config(cache_dir).with_changes(
        item_item_lambdas=(2.0,), item_item_weights=(0.7,), item_item_max_items=6,
        item_item_text_neighbours=2,
    )  # fmt: skip
    no_valid = dataclasses.replace(tiny_dataset, valid=tiny_dataset.valid[:0])
    ckpt = train_model(no_valid, config, tmp_path / "runs", progress=False).checkpoint
    scorer = GnnScorer.load(ckpt.save(tmp_path / "saved"), device="cpu")
    term = scorer._item_item
    assert term is not None and term.borrowers is not None and term.neighbours is not None
    products = {p["id"]: p for p in tiny_rows[0]}
    first = int(term.borrowers[0])
    before = term.neighbours[0].clone()
    scorer.add_item(NewItem(products[scorer.item_ids[first]]))
    after = scorer._item_item
    assert after is not None and after.borrowers is not None and after.neighbours is not None
    position = after.borrowers.tolist().index(first)
    assert torch.equal(after.neighbours[position], before)
    new = {**products[scorer.item_ids[first]], "id": "prod:new", "title": "Storm jacket 2"}
    scorer.add_item(NewItem(new))
    row = scorer.item_ids.index("prod:new")
    added = scorer._item_item
    assert added is not None and added.borrowers is not None and added.neighbours is not None
    assert row in added.borrowers.tolist()
    history = tiny_dataset.train[tiny_dataset.train[:, 0] == 0, 1]
    scores = added.user_scores(history, len(scorer.item_ids))
    nearest = added.neighbours[added.borrowers.tolist().index(row)]
    assert torch.isclose(scores[row], scores[added.rows[nearest]].mean(), atol=1e-5)
