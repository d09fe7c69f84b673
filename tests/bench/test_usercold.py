"""The user cold-start split and the served reading on tiny synthetic data (no ../shared)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `bench` is not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from bench.usercold import (  # noqa: E402
    pool_rows,
    served_views,
    split_cold_users,
    user_cold_split,
    user_protocols,
)
from models.config import EncoderConfig, ModelConfig, TrainConfig  # noqa: E402
from models.training import train_model  # noqa: E402
from tests.bench.test_coldstart import _dataset  # noqa: E402


def _rows(pairs: np.ndarray) -> set[tuple[int, int]]:
    return {(int(u), int(i)) for u, i in pairs}


@pytest.mark.parametrize("keep", [1, 3])
def test_cold_users_keep_k_training_pairs_and_nothing_else(keep: int) -> None:
    data = _dataset()
    reduced, users, removed = user_cold_split(data, keep, 0.2, seed=5)
    eligible = np.unique(data.test[:, 0])
    assert len(users) == round(0.2 * len(eligible)) and set(users) <= set(eligible)
    cold = set(users.tolist())
    for u in range(data.num_users):
        before = _rows(data.train[data.train[:, 0] == u])
        after = _rows(reduced.train[reduced.train[:, 0] == u])
        if u in cold:
            assert after <= before and len(after) == min(keep, len(before))
        else:
            assert after == before
    assert not np.isin(reduced.valid[:, 0], users).any()
    assert _rows(reduced.valid) == _rows(data.valid[~np.isin(data.valid[:, 0], users)])
    # the evaluation set is exactly the cold users' test pairs
    assert _rows(reduced.test) == _rows(data.test[np.isin(data.test[:, 0], users)])
    # removed = the cold users' train and valid pairs that are no longer in train
    everything = np.concatenate([data.train, data.valid])
    theirs = _rows(everything[np.isin(everything[:, 0], users)])
    assert _rows(removed) == theirs - _rows(reduced.train)
    # rating features read the kept training pairs only, with their own ratings
    items, values, _ = reduced.rating_rows
    assert np.array_equal(items, reduced.train[:, 1])
    kept = dict(zip(map(tuple, data.train.tolist()), data.rating_rows[1], strict=True))
    assert [kept[tuple(p)] for p in reduced.train.tolist()] == values.tolist()
    for name in ("train", "valid", "test"):
        assert len(reduced.pair_ratings[name]) == len(getattr(reduced, name))
    assert reduced.item_ids == data.item_ids and len(reduced.item_entity) == len(data.item_entity)


def test_the_split_is_seeded_and_nested_in_k() -> None:
    data = _dataset()
    one, users_1, _ = user_cold_split(data, 1, 0.2, seed=9)
    three, users_3, _ = user_cold_split(data, 3, 0.2, seed=9)
    again, users_again, _ = user_cold_split(data, 3, 0.2, seed=9)
    assert users_1.tolist() == users_3.tolist() == users_again.tolist()
    assert np.array_equal(three.train, again.train)
    assert _rows(one.train) <= _rows(three.train)  # the k = 1 pair is among the k = 3 ones
    assert user_cold_split(data, 3, 0.2, seed=10)[1].tolist() != users_3.tolist()


def test_the_split_refuses_what_it_cannot_do() -> None:
    data = _dataset()
    with pytest.raises(ValueError, match="keep"):
        user_cold_split(data, 0)
    items, values, ts = data.rating_rows
    shuffled = dataclasses.replace(data, rating_rows=(items[::-1], values[::-1], ts[::-1]))
    with pytest.raises(ValueError, match="rating rows"):
        user_cold_split(shuffled, 1)


def test_cold_valid_users_and_the_protocol_exclude_the_original_history() -> None:
    data = _dataset()
    reduced, users, removed = user_cold_split(data, 1, 0.4, seed=2)
    test_part, valid_pairs = split_cold_users(reduced, users, 0.5, seed=2)
    valid_users, test_users = set(valid_pairs[:, 0].tolist()), set(test_part.test[:, 0].tolist())
    assert valid_users and test_users and not valid_users & test_users
    assert valid_users | test_users == set(users.tolist())
    assert _rows(valid_pairs) | _rows(test_part.test) == _rows(reduced.test)
    assert len(test_part.pair_ratings["test"]) == len(test_part.test)
    evals = user_protocols(test_part, removed, valid_pairs)
    assert set(evals) == {"cold users", "valid cold users"}
    pairs, seen = evals["cold users"]
    assert pairs is test_part.test
    # a cold user's excluded items are their original train + valid, as in the warm protocol
    original = np.concatenate([data.train, data.valid])
    assert _rows(np.concatenate(seen)) == _rows(original)


def test_splits_pool_user_by_user_and_drop_rows_that_would_not_pair() -> None:
    def row(values: list[list[float]], valid: float, note: str) -> dict[str, object]:
        return {"ndcg@10": values, "recall@10": values, "valid": valid, "note": note}

    first = {
        "popularity": row([[0.1, 0.2]], 0.1, ""),
        "kgrec": row([[0.3, 0.4], [0.5, 0.6]], 0.2, "a"),
        "kgrec -KG": row([[0.0, 0.1]], 0.1, ""),
    }
    second = {
        "popularity": row([[0.3]], 0.3, ""),
        "kgrec": row([[0.7], [0.9]], 0.4, "b"),
        "kgrec -KG": row([[0.2], [0.4]], 0.1, ""),  # two seeds here, one in the first split
    }
    pooled = pool_rows([first, second])
    assert list(pooled) == ["popularity", "kgrec"]
    assert np.array_equal(pooled["kgrec"]["ndcg@10"], [[0.3, 0.4, 0.7], [0.5, 0.6, 0.9]])
    assert np.array_equal(pooled["popularity"]["ndcg@10"], [[0.1, 0.2, 0.3]])
    assert pooled["kgrec"]["valid"] == pytest.approx(0.3) and pooled["kgrec"]["note"] == "a | b"
    alone = pool_rows([first])
    assert np.array_equal(alone["kgrec -KG"]["ndcg@10"], [[0.0, 0.1]])


def test_served_view_is_the_scorers_anonymous_session_of_the_kept_items(tmp_path: Path) -> None:
    reduced, users, _ = user_cold_split(_dataset(), 3, 0.2, seed=1)
    config = TrainConfig(
        model=ModelConfig(dim=8, num_layers=2),
        encoder=EncoderConfig(use_text=False, use_image=False, use_rating=True),
        epochs=2,
        eval_every=1,
        device="cpu",
        threads=1,
    )
    ckpt = train_model(reduced, config, tmp_path / "model", progress=False).checkpoint
    scores, identity = served_views(ckpt, reduced, users)["served"]
    assert torch.equal(identity, torch.eye(reduced.num_items))
    raw = ckpt.tensors["items"].float()
    items = torch.nn.functional.normalize(raw, dim=1)
    mean_user = raw @ ckpt.tensors["users"].float().mean(0)  # a user with no vector: the mean
    prior = (mean_user - mean_user.mean()) / mean_user.std()
    for u in range(reduced.num_users):
        if u not in set(users.tolist()):
            assert not scores[u].any()
            continue
        liked = reduced.train[reduced.train[:, 0] == u, 1]
        profile = torch.nn.functional.normalize(raw[torch.from_numpy(liked)].mean(0), dim=0)
        cosine = items @ profile
        expected = prior + (cosine - cosine.mean()) / cosine.std()
        assert torch.allclose(scores[u], expected, atol=1e-5)
