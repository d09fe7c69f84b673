"""A synthetic logged ranking problem with a known click model, for off-policy evaluation.

Each turn ranks ``m`` candidates with signal rows ``x`` by a logging score ``x . a`` and shows
``size`` of them through :func:`models.feedback.slate.draw_slate`. A shown item at position
``k`` is clicked with probability ``BIAS[k] * sigmoid(x . THETA - 1)`` (the item-position
model), so any target policy's true click rate on these turns is known exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.feedback.impressions import Impression, LoggedTurn, Outcome
from models.feedback.slate import draw_slate

SIGNALS = ("match", "popularity", "model")
BIAS = np.array([1.0, 0.7, 0.5, 0.35, 0.25, 0.2])
THETA = np.array([1.5, -0.5, 1.0])  # what users like
LOGGING = np.array([0.2, 1.0, 0.3])  # what the logging policy ranks by (popularity)


def click_prob(x: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The first ``len(THETA)`` signals decide; any further ones are noise."""
    return BIAS[positions] / (1.0 + np.exp(-(x[:, : len(THETA)] @ THETA - 1.0)))


class LinearPolicy:
    """Orders candidates by ``x . w`` (best first): a deterministic target."""

    def __init__(self, w: Sequence[float]) -> None:
        self.w = np.asarray(w, dtype=np.float64)

    def order(self, features: np.ndarray, *, explore: bool) -> list[int]:
        score = features[:, : len(self.w)] @ self.w
        return [int(j) for j in np.argsort(-score, kind="stable")]


@dataclass
class SyntheticLog:
    impressions: list[Impression]
    outcomes: list[Outcome]
    turns: list[LoggedTurn]

    def true_ctr(self, policy: LinearPolicy) -> float:
        """The expected click rate per slot of ``policy`` on these turns' candidates."""
        clicks = slots = 0.0
        for t in self.turns:
            size = len(t.impression.shown)
            slate = policy.order(t.features, explore=False)[:size]
            clicks += float(click_prob(t.features[slate], np.arange(size)).sum())
            slots += size
        return clicks / slots


def make_log(
    seed: int, sessions: int = 400, turns_per_session: int = 3, m: int = 10, size: int = 4,
    rate: float = 0.5, top: int = 10, signals: Sequence[str] = SIGNALS, shuffled: bool = False,
) -> SyntheticLog:  # fmt: skip
    """``shuffled``: candidates logged in a random order (another policy than the blend
    logged them), with the logging order in ``order``; else in the logging order."""
    rng = np.random.default_rng(seed)
    impressions, outcomes, turns = [], [], []
    ts = 1_000_000.0
    for s in range(sessions):
        for turn in range(1, turns_per_session + 1):
            x = rng.normal(size=(m, len(signals)))
            order = np.argsort(-(x[:, : len(LOGGING)] @ LOGGING), kind="stable")
            if not shuffled:
                x, order = x[order], np.arange(m)
            slate = draw_slate(m, size, rate=rate, top=top, rng=rng)
            ids = tuple(f"s{s}-t{turn}-i{j}" for j in range(m))
            imp = Impression(
                request_id=f"r{s}-{turn}", session_id=f"s{s}", user=f"u-{s % 50:012x}",
                turn=turn, ts=ts, policy="off", model_version="synthetic", explored=slate.explored,
                rate=slate.rate, pool=slate.pool, signals=tuple(signals), candidates=ids,
                features=tuple(tuple(float(v) for v in row) for row in x),
                order=tuple(int(j) for j in order),
                shown=tuple(int(order[r]) for r in slate.order), propensities=slate.propensities,
            )  # fmt: skip
            p = click_prob(x[list(imp.shown)], np.arange(len(imp.shown)))
            clicked = rng.random(len(p)) < p
            rewards = clicked.astype(np.float64)
            for k in np.flatnonzero(clicked):
                item = ids[imp.shown[k]]
                outcomes.append(Outcome(f"s{s}", imp.user, item, "click", 0.0, ts + 1.0))
            impressions.append(imp)
            turns.append(LoggedTurn(imp, x, rewards))
            ts += 10.0
    return SyntheticLog(impressions, outcomes, turns)


def write_log(log: SyntheticLog, directory: Path, files: int = 2) -> None:
    """The log as the server writes it: JSON lines, split over ``files`` files."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [r.to_json() for r in log.impressions] + [o.to_json() for o in log.outcomes]
    step = -(-len(lines) // files)
    for f in range(files):
        part = lines[f * step : (f + 1) * step]
        (directory / f"impressions-{f:04d}.jsonl").write_text("".join(x + "\n" for x in part))
