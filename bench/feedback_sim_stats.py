"""Per-user tallies and bootstrap intervals for :mod:`bench.feedback_sim`.

Every figure is a ratio of sums over users (clicks / impressions, NDCG sum / turns), and its
95% interval is the percentile bootstrap over users (Efron & Tibshirani, *An Introduction to
the Bootstrap*, 1993, ch. 13): resample users with replacement, recompute the ratio. A lift
between two arms is paired: the arms ran the same users with the same scripts and dice, so
each resample takes the same users in both arms and the interval is that of
``ratio_b / ratio_a - 1`` over those resamples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["METRICS", "Estimate", "Tally", "bootstrap_ratio", "paired_lift"]

#: figure name -> (numerator field, denominator field) of :class:`Tally`
METRICS: dict[str, tuple[str, str]] = {
    "ctr_later": ("clicks_later", "impressions_later"),
    "ctr_all": ("clicks_all", "impressions_all"),
    "purchase_rate": ("purchases_all", "impressions_all"),
    "ndcg_later": ("ndcg_later", "turns_later"),
    "repeat_later": ("repeats_later", "impressions_later"),
}


@dataclass
class Tally:
    """Per-user sums of one arm (arrays of length n_users)."""

    n_users: int
    clicks_later: np.ndarray = field(init=False)
    impressions_later: np.ndarray = field(init=False)
    clicks_all: np.ndarray = field(init=False)
    impressions_all: np.ndarray = field(init=False)
    purchases_all: np.ndarray = field(init=False)
    ndcg_later: np.ndarray = field(init=False)
    turns_later: np.ndarray = field(init=False)
    repeats_later: np.ndarray = field(init=False)
    sessions: int = 0
    turns: int = 0
    events: int = 0
    #: clicks and impressions by 0-based position, all turns
    position_clicks: np.ndarray = field(init=False)
    position_impressions: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        for name in (*{f for pair in METRICS.values() for f in pair},):
            setattr(self, name, np.zeros(self.n_users))
        self.position_clicks = np.zeros(50)
        self.position_impressions = np.zeros(50)

    def add_turn(
        self,
        user: int,
        turn: int,
        clicks: np.ndarray,
        purchases: int,
        ndcg: float,
        repeats: int = 0,
    ) -> None:
        """One turn of ``user`` (``turn`` 1-based) that showed ``len(clicks)`` items,
        ``repeats`` of them already shown earlier in the session."""
        n, c = len(clicks), float(np.sum(clicks))
        self.turns += 1
        self.clicks_all[user] += c
        self.impressions_all[user] += n
        self.purchases_all[user] += purchases
        k = min(n, len(self.position_clicks))
        self.position_clicks[:k] += clicks[:k]
        self.position_impressions[:k] += 1
        if turn >= 2:
            self.clicks_later[user] += c
            self.impressions_later[user] += n
            self.ndcg_later[user] += ndcg
            self.turns_later[user] += 1
            self.repeats_later[user] += repeats

    @classmethod
    def merge(cls, parts: Sequence[Tally]) -> Tally:
        """The sum of ``parts`` (tallies of disjoint sets of the same users)."""
        out = cls(parts[0].n_users)
        for name, value in vars(out).items():
            if name != "n_users":
                setattr(out, name, sum((getattr(p, name) for p in parts), value))
        return out

    def pair(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        num, den = METRICS[metric]
        return getattr(self, num), getattr(self, den)


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate and its 95% interval."""

    value: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


def _resamples(n: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def _ratio(num: np.ndarray, den: np.ndarray) -> float:
    d = float(np.sum(den))
    return float(np.sum(num)) / d if d else float("nan")


def _interval(samples: np.ndarray, alpha: float = 0.05) -> tuple[float, float]:
    ok = samples[np.isfinite(samples)]
    if not len(ok):
        return float("nan"), float("nan")
    lo, hi = np.quantile(ok, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def bootstrap_ratio(
    num: np.ndarray, den: np.ndarray, *, n_boot: int = 1000, seed: int = 0
) -> Estimate:
    """``sum(num) / sum(den)`` with its percentile-bootstrap 95% interval over users."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    idx = _resamples(len(num), n_boot, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        samples = num[idx].sum(axis=1) / den[idx].sum(axis=1)
    return Estimate(_ratio(num, den), *_interval(samples))


def paired_lift(
    a: tuple[np.ndarray, np.ndarray],
    b: tuple[np.ndarray, np.ndarray],
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> Estimate:
    """Relative lift ``ratio(b) / ratio(a) - 1`` of arm ``b`` over arm ``a``, each a
    ``(numerator, denominator)`` pair of per-user arrays over the same users in the same
    order; the interval resamples users jointly in both arms."""
    (na, da), (nb, db) = (tuple(np.asarray(x, dtype=float) for x in p) for p in (a, b))
    if len(na) != len(nb):
        raise ValueError(f"paired arms need the same users: {len(na)} != {len(nb)}")
    idx = _resamples(len(na), n_boot, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        ra = na[idx].sum(axis=1) / da[idx].sum(axis=1)
        rb = nb[idx].sum(axis=1) / db[idx].sum(axis=1)
        samples = rb / ra - 1.0
    base = _ratio(na, da)
    value = _ratio(nb, db) / base - 1.0 if base else float("nan")
    return Estimate(value, *_interval(samples))
