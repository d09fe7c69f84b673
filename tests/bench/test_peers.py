"""EASE^R, popularity and text-kNN peers against direct computations on tiny matrices."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `bench` is not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from bench.peers import ease, ease_weights, interaction_matrix, popularity, text_knn  # noqa: E402

PAIRS = np.array([[0, 0], [0, 1], [1, 1], [1, 2], [2, 0], [2, 2], [2, 3], [3, 3], [3, 1]])


def test_ease_closed_form_matches_the_constrained_least_squares_solve() -> None:
    x = interaction_matrix(PAIRS, 4, 5)  # item 4 has no interactions
    lam = 0.7
    b = ease_weights(x, lam)
    assert np.allclose(np.diag(b), 0.0)
    # column j solves min ||x_j - X_{-j} w||^2 + lam ||w||^2 over the other items only
    for j in range(5):
        others = [k for k in range(5) if k != j]
        xo = x[:, others]
        w = np.linalg.solve(xo.T @ xo + lam * np.eye(4), xo.T @ x[:, j])
        assert np.allclose(b[others, j], w, atol=1e-10)
    assert np.allclose(b[:, 4], 0.0) and np.allclose(b[4, :], 0.0)  # never-seen item


def test_ease_sides_give_x_times_b_and_reject_bad_lambda() -> None:
    users, items = ease(PAIRS, 4, 5, 2.0)
    x = interaction_matrix(PAIRS, 4, 5)
    assert np.allclose(users @ items.T, x @ ease_weights(x, 2.0), atol=1e-6)
    with pytest.raises(ValueError):
        ease_weights(x, 0.0)


def test_popularity_scores_every_user_with_training_counts() -> None:
    users, items = popularity(PAIRS, 4, 5)
    scores = users @ items.T
    assert scores.shape == (4, 5)
    assert scores[2].tolist() == [2.0, 3.0, 2.0, 2.0, 0.0]


def test_text_knn_profile_is_the_mean_of_the_users_item_vectors() -> None:
    vecs = np.eye(5)[:, :4] + 0.1  # item 4 only has the 0.1 offsets
    users, items = text_knn(PAIRS, 5, vecs)  # user 4 has no training items
    assert np.allclose(users[0], (vecs[0] + vecs[1]) / 2)
    assert np.allclose(users[4], 0.0)
    scores = users @ items.T
    assert scores[1].argmax() in (1, 2)


def test_a_grid_point_variant_reads_train_config_fields_and_trains_with_them() -> None:
    from bench.movielens import VARIANTS, variant
    from models.config import TrainConfig

    assert variant("kgrec -KG") == VARIANTS["kgrec -KG"]
    changes = variant("kgrec model.dim=128 lr=0.005 encoder.use_text=false loss=bpr")
    config = TrainConfig().with_changes(**changes)
    assert (config.model.dim, config.lr, config.encoder.use_text, config.loss) == (
        128, 0.005, False, "bpr"
    )  # fmt: skip
    for bad in ("kgrec dim", "lightgcn lr=1", "kgrec -nothing", "kgrec lr"):
        with pytest.raises(SystemExit, match="unknown variant"):
            variant(bad)
