"""The ranking-policy contract: what re-orders a turn's best candidates, and what learns
from the shopper's reaction to them.

A policy sees each candidate as one row of :data:`SIGNALS` (:func:`signal_matrix`): the
blend's own per-candidate contributions (:attr:`ScoredCandidate.contributions`, 0 where the
blend did not add that term) followed by the turn's context, the same in every row of a
slate. Rows arrive in the blend's order, so the identity permutation is the blend itself
(:class:`BlendPolicy`, the policy ``"off"``). The same rows are what the impression log
records, so a policy can be replayed offline on logged slates (off-policy evaluation) with
exactly the inputs it would have seen online.

Signals (columns, in order):

* ``match``, ``popularity``, ``model``, ``feedback``, ``price``: the blend's terms, already
  weighted (:class:`models.scoring.blend.BlendWeights`);
* ``known_user``: 1 when the request names a user (a profile and history exist), else 0;
* ``turn``: how far the session is, ``min(turn - 1, TURN_CAP) / TURN_CAP`` (0 on the first
  turn, 1 from turn ``TURN_CAP + 1`` on): early turns rest on little evidence, later ones on
  the whole conversation, and the signals worth trusting differ.

The context columns let a learned policy weigh the blend's signals differently "for whom"
(see :mod:`models.feedback.bandit`).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from models.scoring.blend import ScoredCandidate

__all__ = [
    "BLEND_SIGNALS",
    "CONTEXT_SIGNALS",
    "SIGNALS",
    "TURN_CAP",
    "BlendPolicy",
    "RankingPolicy",
    "check_features",
    "signal_matrix",
]

BLEND_SIGNALS: tuple[str, ...] = ("match", "popularity", "model", "feedback", "price")
CONTEXT_SIGNALS: tuple[str, ...] = ("known_user", "turn")
SIGNALS: tuple[str, ...] = BLEND_SIGNALS + CONTEXT_SIGNALS
TURN_CAP = 4  # the "turn" column saturates at turn TURN_CAP + 1


def signal_matrix(
    scored: Sequence[ScoredCandidate], *, known_user: bool = False, turn: int = 1
) -> np.ndarray:
    """``float64[n, len(SIGNALS)]``: one row per candidate of ``scored`` (same order); a
    contribution the blend did not add is 0. ``turn`` is the session's 1-based turn."""
    rows = np.zeros((len(scored), len(SIGNALS)), dtype=np.float64)
    for i, s in enumerate(scored):
        for j, name in enumerate(BLEND_SIGNALS):
            rows[i, j] = float(s.contributions.get(name, 0.0))
    k = len(BLEND_SIGNALS)
    rows[:, k] = 1.0 if known_user else 0.0
    rows[:, k + 1] = min(max(turn - 1, 0), TURN_CAP) / TURN_CAP
    return rows


def check_features(features: np.ndarray) -> np.ndarray:
    """``features`` as ``float64[n, len(SIGNALS)]``, or ``ValueError`` naming what is wrong."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(SIGNALS):
        raise ValueError(f"features: expected shape (n, {len(SIGNALS)}), got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("features: not all finite")
    return x


class RankingPolicy(abc.ABC):
    """Re-orders a slate's candidates (rows of :func:`signal_matrix`, in blend order) and
    learns from rewards (1: clicked / bought, 0: shown and not chosen).

    Implementations are thread-safe: the server calls :meth:`order` and :meth:`update` from
    worker threads concurrently.
    """

    name: str = ""

    @abc.abstractmethod
    def order(self, features: np.ndarray, *, explore: bool) -> np.ndarray:
        """A permutation of ``range(n)`` (``int64[n]``), best first. ``explore=False``: pure
        exploitation, a deterministic function of ``features`` and the learned state."""

    @abc.abstractmethod
    def update(self, features: np.ndarray, rewards: np.ndarray) -> None:
        """Learn from shown rows ``features`` (``[m, len(SIGNALS)]``) and their ``rewards``
        (``[m]``, in [0, 1])."""

    @abc.abstractmethod
    def save(self, path: str | Path) -> None:
        """Write the learned state to ``path`` (atomically: a reader never sees half)."""

    @abc.abstractmethod
    def load(self, path: str | Path) -> None:
        """Replace the learned state with the one saved at ``path``; ``ValueError`` when it is
        another policy's or another version's."""

    def sync(self, path: str | Path) -> None:
        """Publish what this process learned since its last sync to the state at ``path``
        and take what other processes published there (several server workers learning one
        policy). A policy whose state does not add up across processes just saves."""
        self.save(path)


class BlendPolicy(RankingPolicy):
    """The blend's own order (the policy ``"off"``): identity, learns nothing, saves nothing."""

    name = "off"

    def order(self, features: np.ndarray, *, explore: bool) -> np.ndarray:
        return np.arange(len(check_features(features)), dtype=np.int64)

    def update(self, features: np.ndarray, rewards: np.ndarray) -> None:
        check_features(features)

    def save(self, path: str | Path) -> None:
        pass

    def load(self, path: str | Path) -> None:
        pass
