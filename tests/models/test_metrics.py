"""Metrics against hand-computed values (the split README's definitions)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from models.metrics import (
    full_ranking_metrics,
    full_ranking_user_metrics,
    rating_errors,
    topk_metrics,
)


def test_topk_metrics_hand_computed() -> None:
    # user 0: relevant {a, b}; ranked list hits at positions 2 and 4 (of 5)
    # user 1: relevant {c}; no hit in the top 5
    hits = np.array([[0, 1, 0, 1, 0], [0, 0, 0, 0, 0]], dtype=bool)
    m = topk_metrics(hits, np.array([2, 1]), ks=(2, 5))
    # @2: user 0 has 1 hit at rank 2
    assert m["recall@2"] == pytest.approx((1 / 2 + 0) / 2)
    assert m["precision@2"] == pytest.approx((1 / 2 + 0) / 2)
    assert m["hit@2"] == pytest.approx(0.5)
    assert m["mrr@2"] == pytest.approx((1 / 2) / 2)
    idcg2 = 1 + 1 / math.log2(3)
    assert m["ndcg@2"] == pytest.approx(((1 / math.log2(3)) / idcg2) / 2)
    # @5: user 0 has hits at ranks 2 and 4
    assert m["recall@5"] == pytest.approx((2 / 2) / 2)
    assert m["precision@5"] == pytest.approx((2 / 5) / 2)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    assert m["ndcg@5"] == pytest.approx((dcg / idcg2) / 2)
    assert m["mrr@5"] == pytest.approx(0.25)


def test_idcg_uses_min_of_relevant_and_k() -> None:
    # 3 relevant items, only the first ranked is one: at K=1 IDCG counts 1 position
    hits = np.array([[1, 0]], dtype=bool)
    m = topk_metrics(hits, np.array([3]), ks=(1, 2))
    assert m["ndcg@1"] == pytest.approx(1.0)
    assert m["ndcg@2"] == pytest.approx(1.0 / (1 + 1 / math.log2(3)))
    assert m["recall@1"] == pytest.approx(1 / 3)
    assert m["precision@2"] == pytest.approx(1 / 2)


def test_full_ranking_excludes_seen_items_and_averages_over_evaluated_users() -> None:
    # 2-d embeddings give scores users x items directly (item k has score s[u, k])
    scores = np.array(
        [
            [0.9, 0.8, 0.7, 0.1],  # user 0: item 0 seen in train, so ranking is 1, 2, 3
            [0.1, 0.2, 0.3, 0.4],  # user 1: no eval rows -> not averaged
            [0.5, 0.6, 0.9, 0.0],  # user 2: ranking 2, 1, 0, 3
        ]
    )
    users = torch.tensor(scores, dtype=torch.float32)
    items = torch.eye(4)
    train = np.array([[0, 0], [2, 3]])
    evaluate = np.array([[0, 2], [2, 0]])
    m = full_ranking_metrics(users, items, evaluate, [train], ks=(1, 2, 3))
    # user 0: ranked [1, 2, 3], relevant {2} -> rank 2
    # user 2: ranked [2, 1, 0], relevant {0} -> rank 3
    assert m["hit@1"] == 0.0
    assert m["hit@2"] == pytest.approx(0.5)
    assert m["mrr@3"] == pytest.approx((1 / 2 + 1 / 3) / 2)
    assert m["ndcg@3"] == pytest.approx((1 / math.log2(3) + 1 / math.log2(4)) / 2)
    assert m["recall@3"] == pytest.approx(1.0)


def test_per_user_metrics_are_the_values_behind_the_means() -> None:
    scores = np.array([[0.9, 0.8, 0.7, 0.1], [0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.9, 0.0]])
    users = torch.tensor(scores, dtype=torch.float32)
    items = torch.eye(4)
    train = np.array([[0, 0], [2, 3]])
    evaluate = np.array([[2, 0], [0, 2]])  # unsorted on purpose
    evaluated, per_user = full_ranking_user_metrics(users, items, evaluate, [train], ks=(1, 3))
    assert evaluated.tolist() == [0, 2]  # user 1 has no eval rows
    # user 0: relevant item 2 at rank 2; user 2: relevant item 0 at rank 3
    assert per_user["ndcg@3"] == pytest.approx([1 / math.log2(3), 1 / math.log2(4)])
    assert per_user["mrr@3"] == pytest.approx([1 / 2, 1 / 3])
    assert per_user["hit@1"].tolist() == [0.0, 0.0]
    means = full_ranking_metrics(users, items, evaluate, [train], ks=(1, 3))
    for name, values in per_user.items():
        assert float(values.mean()) == pytest.approx(means[name])


def test_rating_errors() -> None:
    e = rating_errors(np.array([3.0, 5.0]), np.array([4.0, 4.0]))
    assert e["rmse"] == pytest.approx(1.0)
    assert e["mae"] == pytest.approx(1.0)
    e = rating_errors(np.array([4.0, 2.0]), np.array([4.0, 4.0]))
    assert e["rmse"] == pytest.approx(math.sqrt(2.0))
    assert e["mae"] == pytest.approx(1.0)


def test_users_without_relevant_items_are_rejected() -> None:
    with pytest.raises(ValueError):
        topk_metrics(np.zeros((1, 3), dtype=bool), np.array([0]))
