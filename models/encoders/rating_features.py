"""Rating statistics per item: count, mean, 1..5 histogram, recency."""

from __future__ import annotations

import numpy as np

__all__ = ["RATING_FEATURE_DIM", "rating_features"]

#: log-count, mean, histogram (5), has-rating flag, days since last, days since first
RATING_FEATURE_DIM = 10


def rating_features(
    num_items: int,
    item_index: np.ndarray,
    values: np.ndarray,
    timestamps: np.ndarray | None = None,
    *,
    now: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-item rating features from interaction rows.

    Args:
        num_items: ``N``.
        item_index: (m,) item index of each interaction.
        values: (m,) rating in 1..5, or NaN for an interaction without a rating (counts
            toward ``count`` and recency but not toward mean/histogram).
        timestamps: (m,) unix seconds, or ``None``.
        now: reference time for recency (default: the newest timestamp).

    Returns:
        ``(features (N, 10) float32, mask (N,) bool)`` where the features are
        ``[log1p(count) / log1p(max count), mean / 5, hist_1..5 / #rated, [#rated > 0],
        log1p(days since last) / log1p(365), log1p(days since first) / log1p(365)]``
        and ``mask`` is ``count > 0``.
    """
    item_index = np.asarray(item_index, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    feats = np.zeros((num_items, RATING_FEATURE_DIM), dtype=np.float32)
    count = np.bincount(item_index, minlength=num_items).astype(np.float64)
    if count.max(initial=0) > 0:
        feats[:, 0] = np.log1p(count) / np.log1p(count.max())
    rated = ~np.isnan(values)
    stars = np.clip(np.rint(values[rated]), 1, 5).astype(np.int64) - 1
    hist = np.zeros((num_items, 5))
    np.add.at(hist, (item_index[rated], stars), 1.0)
    n_rated = hist.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sums = np.bincount(item_index[rated], weights=values[rated], minlength=num_items)
        feats[:, 1] = np.where(n_rated > 0, sums / np.maximum(n_rated, 1) / 5.0, 0.0)
        feats[:, 2:7] = hist / np.maximum(n_rated, 1)[:, None]
    feats[:, 7] = n_rated > 0
    if timestamps is not None and len(timestamps):
        ts = np.asarray(timestamps, dtype=np.float64)
        ref = float(ts.max()) if now is None else now
        last = np.full(num_items, -np.inf)
        first = np.full(num_items, np.inf)
        np.maximum.at(last, item_index, ts)
        np.minimum.at(first, item_index, ts)
        seen = count > 0
        day = 86400.0
        feats[seen, 8] = np.log1p(np.maximum(ref - last[seen], 0) / day) / np.log1p(365)
        feats[seen, 9] = np.log1p(np.maximum(ref - first[seen], 0) / day) / np.log1p(365)
    return feats, count > 0
