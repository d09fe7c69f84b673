"""Closed-form and content-only peers for the MovieLens benchmarks (numpy, no training loop).

Every peer returns a pair ``(user_side, item_side)`` of float32 matrices whose product
``user_side @ item_side.T`` is its ``(users, items)`` score matrix, so that it is evaluated by
the same ``models.metrics`` full ranking as kgrec's embeddings (same exclusion of seen items,
same tie handling, same users).

* :func:`ease` -- EASE^R (Steck 2019, https://arxiv.org/abs/1905.03375), the strongest
  simple peer on ML-100K in the issue-17 audit.
* :func:`popularity` -- training interaction counts (the floor: a new item scores 0).
* :func:`text_knn` -- content only: a user's profile is the mean text vector of their
  training items; an item's score is its text vector's dot product with the profile.
"""

from __future__ import annotations

import numpy as np

from models.training.item_item import ease_weights

__all__ = ["ease", "ease_weights", "interaction_matrix", "popularity", "text_knn"]

Sides = tuple[np.ndarray, np.ndarray]


def interaction_matrix(pairs: np.ndarray, num_users: int, num_items: int) -> np.ndarray:
    """``(num_users, num_items)`` float64 0/1 matrix of ``[user, item]`` pairs."""
    x = np.zeros((num_users, num_items), dtype=np.float64)
    if len(pairs):
        x[pairs[:, 0], pairs[:, 1]] = 1.0
    return x


def ease(train: np.ndarray, num_users: int, num_items: int, lam: float) -> Sides:
    """EASE^R scores ``X B`` as ``(X, B^T)`` (see :func:`ease_weights`)."""
    x = interaction_matrix(train, num_users, num_items)
    b = ease_weights(x, lam)
    return x.astype(np.float32), np.ascontiguousarray(b.T, dtype=np.float32)


def popularity(train: np.ndarray, num_users: int, num_items: int) -> Sides:
    """Every user gets the training interaction count of each item."""
    counts = np.bincount(train[:, 1], minlength=num_items).astype(np.float32)
    return np.ones((num_users, 1), np.float32), counts[:, None]


def text_knn(train: np.ndarray, num_users: int, item_vectors: np.ndarray) -> Sides:
    """Content-only scores: ``profile_u . v_i`` with ``profile_u`` the mean of ``v_j`` over
    ``u``'s training items (zero for a user without any). ``item_vectors`` ``(I, d)``; with
    unit rows this ranks items by mean cosine to the user's items."""
    vecs = np.asarray(item_vectors, dtype=np.float64)
    profiles = np.zeros((num_users, vecs.shape[1]))
    np.add.at(profiles, train[:, 0], vecs[train[:, 1]])
    counts = np.bincount(train[:, 0], minlength=num_users).astype(np.float64)
    profiles /= np.maximum(counts, 1.0)[:, None]
    return profiles.astype(np.float32), vecs.astype(np.float32)
