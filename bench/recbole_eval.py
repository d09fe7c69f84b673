"""An independent full-ranking evaluator, to cross-check RecBole's numbers.

It follows the protocol in ``shared/data/movielens-100k-split/README.md`` word for word and
shares no code with RecBole: given a score for every (user, item) of the item universe ``I``,
for each user ``u`` with relevant items ``R(u)`` it masks the items ``u`` saw before the
evaluated split, takes the top ``max(ks)`` items and computes, per ``K``:

.. math::

    \\mathrm{Recall@K} = \\frac{h_K}{|R(u)|},\\quad
    \\mathrm{Precision@K} = \\frac{h_K}{K},\\quad
    \\mathrm{Hit@K} = [h_K > 0],\\quad
    \\mathrm{MRR@K} = \\frac{1}{\\mathrm{rank}_1},\\quad
    \\mathrm{NDCG@K} = \\frac{\\sum_{i \\le K} [i \\in R(u)] / \\log_2(i+1)}
                            {\\sum_{i \\le \\min(|R(u)|, K)} 1 / \\log_2(i+1)}

with ``h_K`` the number of relevant items in the top ``K``; each metric is the plain mean over
users. Needs numpy only, so it runs in the project venv and in RecBole's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "METRIC_NAMES",
    "evaluate_full_ranking",
    "group_by_user",
    "mean_over_users",
    "per_user_full_ranking",
]

METRIC_NAMES = ("recall", "mrr", "ndcg", "hit", "precision")


def group_by_user(pairs: Iterable[tuple[int, int]]) -> dict[int, set[int]]:
    """``[(user, item), ...]`` -> ``{user: {items}}``."""
    out: dict[int, set[int]] = {}
    for user, item in pairs:
        out.setdefault(user, set()).add(item)
    return out


def evaluate_full_ranking(
    scores: np.ndarray,
    user_ids: Sequence[int],
    item_ids: Sequence[int],
    relevant: Mapping[int, set[int]],
    seen: Mapping[int, set[int]],
    ks: Sequence[int] = (5, 10, 20),
) -> dict[str, float]:
    """Full-ranking metrics, keys like ``"ndcg@10"``: the mean over users of
    :func:`per_user_full_ranking` (same arguments, same errors)."""
    return mean_over_users(per_user_full_ranking(scores, user_ids, item_ids, relevant, seen, ks))


def mean_over_users(per_user: Mapping[int, Mapping[str, float]]) -> dict[str, float]:
    """Each metric of :func:`per_user_full_ranking`'s result, averaged over its users."""
    keys = next(iter(per_user.values())).keys()
    return {key: sum(u[key] for u in per_user.values()) / len(per_user) for key in keys}


def per_user_full_ranking(
    scores: np.ndarray,
    user_ids: Sequence[int],
    item_ids: Sequence[int],
    relevant: Mapping[int, set[int]],
    seen: Mapping[int, set[int]],
    ks: Sequence[int] = (5, 10, 20),
) -> dict[int, dict[str, float]]:
    """Each evaluated user's metrics, ``{user: {"ndcg@10": ...}}`` (what paired comparisons
    with another ranker need).

    Args:
        scores: ``[len(user_ids), len(item_ids)]`` float scores (higher is better).
        user_ids: the user of each row of ``scores``.
        item_ids: the item of each column (the item universe ``I``).
        relevant: ``R(u)`` for every evaluated user; every one must have a row in ``scores``.
        seen: items to exclude per user (``Train(u)``, plus ``Valid(u)`` on test).
        ks: cut-offs.

    Raises:
        ValueError: shape mismatch, an evaluated user without a score row, or a relevant
            item outside ``item_ids``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (len(user_ids), len(item_ids)):
        raise ValueError(f"scores shape {scores.shape} != ({len(user_ids)}, {len(item_ids)})")
    row_of = {u: i for i, u in enumerate(user_ids)}
    col_of = {it: j for j, it in enumerate(item_ids)}
    k_max = max(ks)
    discounts = 1.0 / np.log2(np.arange(2, k_max + 2))
    if not relevant:
        raise ValueError("no evaluated users")
    out: dict[int, dict[str, float]] = {}
    for user, rel_items in relevant.items():
        if user not in row_of:
            raise ValueError(f"user {user} has relevant items but no score row")
        missing = [it for it in rel_items if it not in col_of]
        if missing:
            raise ValueError(f"user {user}: relevant items {missing[:5]} not in the item universe")
        row = scores[row_of[user]].copy()
        mask_cols = [col_of[it] for it in seen.get(user, ()) if it in col_of]
        row[mask_cols] = -np.inf
        top = np.argsort(-row, kind="stable")[:k_max]
        rel_cols = {col_of[it] for it in rel_items}
        hits = np.fromiter((c in rel_cols for c in top), dtype=bool, count=len(top))
        n_rel = len(rel_cols)
        metrics: dict[str, float] = {}
        for k in ks:
            hk = hits[:k]
            h = int(hk.sum())
            metrics[f"recall@{k}"] = h / n_rel
            metrics[f"precision@{k}"] = h / k
            metrics[f"hit@{k}"] = float(h > 0)
            first = np.flatnonzero(hk)
            metrics[f"mrr@{k}"] = 1.0 / (first[0] + 1) if first.size else 0.0
            dcg = float(discounts[: len(hk)][hk].sum())
            idcg = float(discounts[: min(n_rel, k)].sum())
            metrics[f"ndcg@{k}"] = dcg / idcg
        out[user] = metrics
    return out
