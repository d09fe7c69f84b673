"""Full-ranking top-K metrics, exactly as the fixed split's README (RecBole 1.2.1) defines them.

For each evaluated user ``u`` with relevant set ``R(u)`` (its rows in the evaluated split):
scores of previously seen items are set to ``-inf``, the top ``max(K)`` items are taken in
descending score order, and with ``hits@K`` the relevant items among the first ``K``:

* Recall@K = hits / |R(u)|;  Precision@K = hits / K;  Hit@K = [hits > 0]
* MRR@K = 1 / rank of the first relevant item within the top K (0 if none)
* NDCG@K = DCG / IDCG, DCG = sum_i [item_i in R(u)] / log2(i + 1),
  IDCG = sum_{i=1}^{min(|R(u)|, K)} 1 / log2(i + 1)

Each metric is the plain mean over users with at least one relevant item;
:func:`full_ranking_user_metrics` returns the per-user values behind those means (for paired
comparisons of two rankers on the same users).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "ScoresOf",
    "dot_scores",
    "full_ranking_metrics",
    "full_ranking_user_metrics",
    "scored_metrics",
    "scored_user_metrics",
    "rating_errors",
    "topk_metrics",
    "topk_user_metrics",
]

DEFAULT_KS = (5, 10, 20)

#: ``scores_of(users)``: a new ``(len(users), I)`` score matrix of a batch of user indices
#: (the ranking writes into it)
ScoresOf = Callable[[np.ndarray], Tensor]


def dot_scores(user_emb: Tensor, item_emb: Tensor) -> ScoresOf:
    """The scores ``user_emb @ item_emb.T``, a batch of users at a time."""
    return lambda batch: user_emb[torch.from_numpy(batch).to(user_emb.device)] @ item_emb.T


def topk_user_metrics(
    hits: np.ndarray, num_relevant: np.ndarray, ks: Sequence[int] = DEFAULT_KS
) -> dict[str, np.ndarray]:
    """Per-user metrics from a hit matrix (:func:`topk_metrics` is their mean).

    Args:
        hits: ``(users, max K)`` bool; ``hits[u, i]``: the item ranked ``i + 1`` is relevant.
        num_relevant: ``(users,)`` ``|R(u)|`` (all > 0).
        ks: cut-offs, each ``<= hits.shape[1]``.

    Returns:
        ``{"recall@5": (users,) float64, "ndcg@5": ..., "precision@5": ..., "hit@5": ...,
        "mrr@5": ...}``, row ``r`` for the user of ``hits[r]``.
    """
    hits = np.asarray(hits, dtype=bool)
    num_relevant = np.asarray(num_relevant, dtype=np.float64)
    if np.any(num_relevant <= 0):
        raise ValueError("every evaluated user needs at least one relevant item")
    max_k = hits.shape[1]
    discount = 1.0 / np.log2(np.arange(2, max_k + 2))  # position i (1-based) -> 1/log2(i+1)
    out: dict[str, np.ndarray] = {}
    for k in ks:
        if k > max_k:
            raise ValueError(f"cut-off {k} > ranked list length {max_k}")
        h = hits[:, :k]
        n_hits = h.sum(1)
        dcg = (h * discount[:k]).sum(1)
        ideal = np.cumsum(discount[:k])[np.minimum(num_relevant, k).astype(int) - 1]
        first = np.where(h.any(1), h.argmax(1) + 1, 0)
        out[f"recall@{k}"] = n_hits / num_relevant
        out[f"ndcg@{k}"] = dcg / ideal
        out[f"precision@{k}"] = n_hits / k
        out[f"hit@{k}"] = (n_hits > 0).astype(np.float64)
        out[f"mrr@{k}"] = np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0)
    return out


def topk_metrics(
    hits: np.ndarray, num_relevant: np.ndarray, ks: Sequence[int] = DEFAULT_KS
) -> dict[str, float]:
    """Metrics from a hit matrix: the mean over users of :func:`topk_user_metrics`.

    Returns:
        ``{"recall@5": ..., "ndcg@5": ..., "precision@5": ..., "hit@5": ..., "mrr@5": ...}``
        (all 0 when no user is evaluated).
    """
    if np.asarray(hits).shape[0] == 0:
        return {f"{m}@{k}": 0.0 for k in ks for m in ("recall", "ndcg", "precision", "hit", "mrr")}
    return {
        name: float(np.mean(values))
        for name, values in topk_user_metrics(hits, num_relevant, ks).items()
    }


def _group(pairs: np.ndarray, num_users: int) -> list[np.ndarray]:
    order = np.argsort(pairs[:, 0], kind="stable")
    sorted_pairs = pairs[order]
    bounds = np.searchsorted(sorted_pairs[:, 0], np.arange(num_users + 1))
    return [sorted_pairs[bounds[u] : bounds[u + 1], 1] for u in range(num_users)]


@torch.no_grad()
def _ranked_hits(
    scores_of: ScoresOf,
    num_users: int,
    eval_pairs: np.ndarray,
    seen_pairs: Iterable[np.ndarray],
    max_k: int,
    batch_size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(evaluated users, (users, max_k) hit matrix, |R(u)|)`` of the full ranking."""
    relevant = _group(eval_pairs, num_users)
    seen = np.concatenate([p for p in seen_pairs if len(p)] or [np.zeros((0, 2), np.int64)])
    seen_by_user = _group(seen, num_users)
    users = np.array([u for u in range(num_users) if len(relevant[u])], dtype=np.int64)
    all_hits = np.zeros((len(users), max_k), dtype=bool)
    for start in range(0, len(users), batch_size):
        batch = users[start : start + batch_size]
        scores = scores_of(batch)
        rows = np.concatenate([np.full(len(seen_by_user[u]), r) for r, u in enumerate(batch)])
        cols = np.concatenate([seen_by_user[u] for u in batch])
        if len(rows):
            scores[torch.from_numpy(rows), torch.from_numpy(cols)] = -torch.inf
        top = scores.topk(max_k, dim=1).indices.cpu().numpy()
        for r, u in enumerate(batch):
            all_hits[start + r] = np.isin(top[r], relevant[u])
    num_relevant = np.array([len(relevant[u]) for u in users])
    return users, all_hits, num_relevant


def full_ranking_metrics(
    user_emb: Tensor,
    item_emb: Tensor,
    eval_pairs: np.ndarray,
    seen_pairs: Iterable[np.ndarray],
    ks: Sequence[int] = DEFAULT_KS,
    *,
    batch_size: int = 1024,
) -> dict[str, float]:
    """Full ranking over all items with scores ``user_emb @ item_emb.T``.

    Args:
        user_emb: ``(U, d)``; item_emb: ``(I, d)`` (any device).
        eval_pairs: ``(n, 2)`` ``[user, item]`` of the evaluated split.
        seen_pairs: pair arrays to exclude (train; plus valid when evaluating on test).
        ks: cut-offs.
        batch_size: users scored per matrix product.
    """
    return scored_metrics(
        dot_scores(user_emb, item_emb), user_emb.shape[0], item_emb.shape[0],
        eval_pairs, seen_pairs, ks, batch_size=batch_size,
    )  # fmt: skip


def full_ranking_user_metrics(
    user_emb: Tensor,
    item_emb: Tensor,
    eval_pairs: np.ndarray,
    seen_pairs: Iterable[np.ndarray],
    ks: Sequence[int] = DEFAULT_KS,
    *,
    batch_size: int = 1024,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """:func:`full_ranking_metrics` per user: ``(users, {"ndcg@10": (users,) ...})``.

    ``users`` are the user indices with at least one pair in ``eval_pairs``, ascending; the
    mean of each array is the value :func:`full_ranking_metrics` returns. Two rankers
    evaluated on the same pairs get the same ``users``, so their arrays pair row by row.
    """
    return scored_user_metrics(
        dot_scores(user_emb, item_emb), user_emb.shape[0], item_emb.shape[0],
        eval_pairs, seen_pairs, ks, batch_size=batch_size,
    )  # fmt: skip


def scored_metrics(
    scores_of: ScoresOf,
    num_users: int,
    num_items: int,
    eval_pairs: np.ndarray,
    seen_pairs: Iterable[np.ndarray],
    ks: Sequence[int] = DEFAULT_KS,
    *,
    batch_size: int = 1024,
) -> dict[str, float]:
    """:func:`full_ranking_metrics` of any scores (see :func:`scored_user_metrics`)."""
    max_k = min(max(ks), num_items)
    _, hits, num_relevant = _ranked_hits(
        scores_of, num_users, eval_pairs, seen_pairs, max_k, batch_size
    )
    return topk_metrics(hits, num_relevant, [k for k in ks if k <= max_k])


def scored_user_metrics(
    scores_of: ScoresOf,
    num_users: int,
    num_items: int,
    eval_pairs: np.ndarray,
    seen_pairs: Iterable[np.ndarray],
    ks: Sequence[int] = DEFAULT_KS,
    *,
    batch_size: int = 1024,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """:func:`full_ranking_user_metrics` of any scores: ``scores_of(users)`` gives a batch's
    ``(len(users), num_items)`` score matrix (e.g. a sum of standardised terms, which no one
    pair of embeddings gives)."""
    max_k = min(max(ks), num_items)
    users, hits, num_relevant = _ranked_hits(
        scores_of, num_users, eval_pairs, seen_pairs, max_k, batch_size
    )
    return users, topk_user_metrics(hits, num_relevant, [k for k in ks if k <= max_k])


def rating_errors(predicted: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    """``{"rmse": sqrt(mean((p - a)^2)), "mae": mean(|p - a|)}``."""
    diff = np.asarray(predicted, dtype=np.float64) - np.asarray(actual, dtype=np.float64)
    if diff.size == 0:
        return {"rmse": float("nan"), "mae": float("nan")}
    return {"rmse": float(np.sqrt(np.mean(diff**2))), "mae": float(np.mean(np.abs(diff)))}
