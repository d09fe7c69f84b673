"""Full-ranking top-K metrics, exactly as the fixed split's README (RecBole 1.2.1) defines them.

For each evaluated user ``u`` with relevant set ``R(u)`` (its rows in the evaluated split):
scores of previously seen items are set to ``-inf``, the top ``max(K)`` items are taken in
descending score order, and with ``hits@K`` the relevant items among the first ``K``:

* Recall@K = hits / |R(u)|;  Precision@K = hits / K;  Hit@K = [hits > 0]
* MRR@K = 1 / rank of the first relevant item within the top K (0 if none)
* NDCG@K = DCG / IDCG, DCG = sum_i [item_i in R(u)] / log2(i + 1),
  IDCG = sum_{i=1}^{min(|R(u)|, K)} 1 / log2(i + 1)

Each metric is the plain mean over users with at least one relevant item.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = ["full_ranking_metrics", "rating_errors", "topk_metrics"]

DEFAULT_KS = (5, 10, 20)


def topk_metrics(
    hits: np.ndarray, num_relevant: np.ndarray, ks: Sequence[int] = DEFAULT_KS
) -> dict[str, float]:
    """Metrics from a hit matrix.

    Args:
        hits: ``(users, max K)`` bool; ``hits[u, i]``: the item ranked ``i + 1`` is relevant.
        num_relevant: ``(users,)`` ``|R(u)|`` (all > 0).
        ks: cut-offs, each ``<= hits.shape[1]``.

    Returns:
        ``{"recall@5": ..., "ndcg@5": ..., "precision@5": ..., "hit@5": ..., "mrr@5": ...}``.
    """
    hits = np.asarray(hits, dtype=bool)
    num_relevant = np.asarray(num_relevant, dtype=np.float64)
    if hits.shape[0] == 0:
        return {f"{m}@{k}": 0.0 for k in ks for m in ("recall", "ndcg", "precision", "hit", "mrr")}
    if np.any(num_relevant <= 0):
        raise ValueError("every evaluated user needs at least one relevant item")
    max_k = hits.shape[1]
    discount = 1.0 / np.log2(np.arange(2, max_k + 2))  # position i (1-based) -> 1/log2(i+1)
    out: dict[str, float] = {}
    for k in ks:
        if k > max_k:
            raise ValueError(f"cut-off {k} > ranked list length {max_k}")
        h = hits[:, :k]
        n_hits = h.sum(1)
        dcg = (h * discount[:k]).sum(1)
        ideal = np.cumsum(discount[:k])[np.minimum(num_relevant, k).astype(int) - 1]
        first = np.where(h.any(1), h.argmax(1) + 1, 0)
        out[f"recall@{k}"] = float(np.mean(n_hits / num_relevant))
        out[f"ndcg@{k}"] = float(np.mean(dcg / ideal))
        out[f"precision@{k}"] = float(np.mean(n_hits / k))
        out[f"hit@{k}"] = float(np.mean(n_hits > 0))
        out[f"mrr@{k}"] = float(np.mean(np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0)))
    return out


def _group(pairs: np.ndarray, num_users: int) -> list[np.ndarray]:
    order = np.argsort(pairs[:, 0], kind="stable")
    sorted_pairs = pairs[order]
    bounds = np.searchsorted(sorted_pairs[:, 0], np.arange(num_users + 1))
    return [sorted_pairs[bounds[u] : bounds[u + 1], 1] for u in range(num_users)]


@torch.no_grad()
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
    num_users, num_items = user_emb.shape[0], item_emb.shape[0]
    max_k = min(max(ks), num_items)
    relevant = _group(eval_pairs, num_users)
    seen = np.concatenate([p for p in seen_pairs if len(p)] or [np.zeros((0, 2), np.int64)])
    seen_by_user = _group(seen, num_users)
    users = np.array([u for u in range(num_users) if len(relevant[u])], dtype=np.int64)
    all_hits = np.zeros((len(users), max_k), dtype=bool)
    for start in range(0, len(users), batch_size):
        batch = users[start : start + batch_size]
        scores = user_emb[torch.from_numpy(batch).to(user_emb.device)] @ item_emb.T
        rows = np.concatenate([np.full(len(seen_by_user[u]), r) for r, u in enumerate(batch)])
        cols = np.concatenate([seen_by_user[u] for u in batch])
        if len(rows):
            scores[torch.from_numpy(rows), torch.from_numpy(cols)] = -torch.inf
        top = scores.topk(max_k, dim=1).indices.cpu().numpy()
        for r, u in enumerate(batch):
            all_hits[start + r] = np.isin(top[r], relevant[u])
    num_relevant = np.array([len(relevant[u]) for u in users])
    return topk_metrics(all_hits, num_relevant, [k for k in ks if k <= max_k])


def rating_errors(predicted: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    """``{"rmse": sqrt(mean((p - a)^2)), "mae": mean(|p - a|)}``."""
    diff = np.asarray(predicted, dtype=np.float64) - np.asarray(actual, dtype=np.float64)
    if diff.size == 0:
        return {"rmse": float("nan"), "mae": float("nan")}
    return {"rmse": float(np.sqrt(np.mean(diff**2))), "mae": float(np.mean(np.abs(diff)))}
