"""Off-policy evaluation: a deterministic ranking policy's click rate estimated from the
impressions another (exploring) policy logged.

Model: the item-position model (Chuklin et al., *Click Models for Web Search*, 2015; Li et
al., "Offline evaluation of ranking policies with click models", KDD 2018): the chance that
the item at position ``k`` is clicked depends on that item and ``k`` only, not on the rest of
the slate. Then each (turn, position) is a bandit round on its own, with the logged marginal
propensity ``p_t(i, k)`` of the item shown there (:mod:`models.feedback.slate`, at the
item's rank in the logging policy's order).

The target re-ranks each turn's logged candidates by their logged signals
(``RankingPolicy.order(features, explore=False)``) and shows ``tau_t(k)`` at position ``k``
for the same number of positions ``L_t`` as the turn showed. With ``s_t(k)`` the logged item,
``r_tk`` its reward and ``w_tk = [s_t(k) = tau_t(k)] / p_t(tau_t(k), k)``:

.. math::
    \\hat V_{IPS} = \\frac{\\sum_{t,k} w_{tk} r_{tk}}{\\sum_t L_t} \\qquad
    \\hat V_{SNIPS} = \\frac{\\sum_{t,k} w_{tk} r_{tk}}{\\sum_{t,k} w_{tk}}

    \\hat V_{DR} = \\frac{\\sum_{t,k} \\hat r(\\tau_t(k), k)
        + w_{tk}\\,(r_{tk} - \\hat r(s_t(k), k))}{\\sum_t L_t}

``hat r``: a ridge-penalised logistic regression of the logged rewards on the signal row and
the position (:class:`RewardModel`), fitted once on all the logged impressions. IPS and DR
are unbiased when every slot the target fills has ``p > 0`` (DR also when the model is wrong);
SNIPS trades a small bias for less variance. A slot whose target item had probability 0 under
the logging policy (no exploration, or an item outside the logged candidates) is
*unsupported*: IPS and SNIPS count it as no click, DR as the reward model's guess; the share
of such slots is reported, and estimates are trustworthy only when it is near 0.

Confidence intervals: 95% percentile bootstrap over sessions (turns of one shopper's session
are not independent), ``n_boot`` resamples, the reward model held fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .impressions import LoggedTurn
from .slate import propensity

__all__ = ["Estimate", "OpeReport", "RewardModel", "TargetPolicy", "evaluate_policy"]

ESTIMATORS = ("ips", "snips", "dr")


class TargetPolicy(Protocol):
    """What is evaluated: ``models.feedback.policy.RankingPolicy`` fits it."""

    def order(self, features: np.ndarray, *, explore: bool) -> Sequence[int]: ...


@dataclass(frozen=True, slots=True)
class Estimate:
    value: float
    low: float  # 95% bootstrap interval over sessions
    high: float

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high


@dataclass(frozen=True, slots=True)
class OpeReport:
    sessions: int
    turns: int
    impressions: int  # logged (turn, position) slots
    clicks: int
    logged: Estimate  # the logging policy's own observed click rate
    estimates: dict[str, Estimate]  # "ips", "snips", "dr"
    unsupported: float  # share of the target's slots the logging policy could not show
    matched: float  # share of the target's slots where the logged item is the target's


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


class RewardModel:
    """``P(reward | signals x, position k) = sigmoid(b + c_k + x . beta)`` (signals
    standardised), fitted by Newton's method with an L2 penalty ``l2`` on ``c`` and ``beta``."""

    def __init__(self, l2: float = 1.0, iterations: int = 25) -> None:
        self.l2, self.iterations = l2, iterations
        self.mean = self.scale = self.coef = np.zeros(0)
        self.positions = 0

    def _design(self, x: np.ndarray, k: np.ndarray) -> np.ndarray:
        pos = np.zeros((len(k), self.positions))
        pos[np.arange(len(k)), np.minimum(k, self.positions - 1)] = 1.0
        return np.hstack([np.ones((len(k), 1)), pos[:, 1:], (x - self.mean) / self.scale])

    def fit(self, x: np.ndarray, k: np.ndarray, r: np.ndarray) -> RewardModel:
        """``x`` float[n, d] signal rows, ``k`` int[n] positions, ``r`` float[n] rewards."""
        self.positions = int(k.max()) + 1 if len(k) else 1
        self.mean = x.mean(axis=0) if len(x) else np.zeros(x.shape[1])
        self.scale = x.std(axis=0) if len(x) else np.ones(x.shape[1])
        self.scale[self.scale == 0] = 1.0
        a = self._design(x, k)
        penalty = np.full(a.shape[1], self.l2)
        penalty[0] = 0.0
        rate = float(np.clip(r.mean(), 1e-3, 1 - 1e-3)) if len(r) else 0.5
        coef = np.zeros(a.shape[1])
        coef[0] = np.log(rate / (1 - rate))
        for _ in range(self.iterations):
            p = _sigmoid(a @ coef)
            grad = a.T @ (p - r) + penalty * coef
            hess = (a * (p * (1 - p))[:, None]).T @ a + np.diag(penalty + 1e-9)
            step = np.linalg.solve(hess, grad)
            coef -= step
            if float(np.abs(step).max()) < 1e-8:
                break
        self.coef = coef
        return self

    def predict(self, x: np.ndarray, k: np.ndarray) -> np.ndarray:
        return _sigmoid(self._design(x, k) @ self.coef)


def _bootstrap(
    num: np.ndarray, den: np.ndarray, n_boot: int, rng: np.random.Generator
) -> tuple[float, float]:
    """95% percentile interval of ``sum(num) / sum(den)`` over sessions resampled with
    replacement (``num``, ``den``: one entry per session)."""
    n = len(num)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot)  # [n_boot, sessions]
    ratios = (counts @ num) / np.maximum(counts @ den, 1e-12)
    low, high = np.percentile(ratios, [2.5, 97.5])
    return float(low), float(high)


def evaluate_policy(
    turns: Sequence[LoggedTurn],
    target: TargetPolicy,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    reward_model: RewardModel | None = None,
) -> OpeReport:
    """IPS, SNIPS and DR estimates of ``target``'s click rate per shown slot from ``turns``
    (see the module docs), with 95% bootstrap intervals over sessions."""
    turns = [t for t in turns if len(t.impression.shown)]
    if not turns:
        raise ValueError("no logged turn showed anything")
    # the reward model, on every logged (item, position)
    xs = np.vstack([t.features[list(t.impression.shown)] for t in turns])
    ks = np.concatenate([np.arange(len(t.impression.shown)) for t in turns])
    rs = np.concatenate([t.rewards for t in turns])
    model = (reward_model or RewardModel()).fit(xs, ks, rs)

    session_index: dict[str, int] = {}
    sessions = np.zeros(len(turns), dtype=np.int64)
    turn_of, target_x, props, same = [], [], [], []
    for i, t in enumerate(turns):
        imp = t.impression
        size = len(imp.shown)
        order = [int(j) for j in target.order(t.features, explore=False)]
        if sorted(order) != list(range(len(imp.candidates))):
            raise ValueError(f"the target's order is not a permutation of {len(order)} items")
        slate = order[:size]
        turn_of.append(np.full(size, i))
        target_x.append(t.features[slate])
        rank = imp.ranks()
        props.append([propensity(rank[j], k, imp.rate, imp.pool) for k, j in enumerate(slate)])
        same.append(np.equal(slate, imp.shown))
        sessions[i] = session_index.setdefault(imp.session_id, len(session_index))
    slot_turn = np.concatenate(turn_of)
    p = np.concatenate([np.asarray(x, dtype=np.float64) for x in props])
    hit = np.concatenate(same)
    w = np.where(hit & (p > 0), 1.0 / np.where(p > 0, p, 1.0), 0.0)
    dr = model.predict(np.vstack(target_x), ks) + w * (rs - model.predict(xs, ks))
    # per slot: ips numerator, weight, dr numerator, 1 slot, logged click
    slot_rows = np.stack([w * rs, w, dr, np.ones_like(w), rs], axis=1)
    per_session = np.zeros((len(session_index), slot_rows.shape[1]))
    np.add.at(per_session, sessions[slot_turn], slot_rows)
    ips_n, w_sum, dr_n, slots, clicks = per_session.T
    unsupported, matched = int((p == 0).sum()), int(hit.sum())

    rng = np.random.default_rng(seed)

    def estimate(num: np.ndarray, den: np.ndarray) -> Estimate:
        low, high = _bootstrap(num, den, n_boot, rng)
        return Estimate(float(num.sum() / max(den.sum(), 1e-12)), low, high)

    total = int(slots.sum())
    return OpeReport(
        sessions=len(session_index),
        turns=len(turns),
        impressions=total,
        clicks=int(clicks.sum()),
        logged=estimate(clicks, slots),
        estimates={
            "ips": estimate(ips_n, slots),
            "snips": estimate(ips_n, w_sum),
            "dr": estimate(dr_n, slots),
        },
        unsupported=unsupported / total,
        matched=matched / total,
    )
