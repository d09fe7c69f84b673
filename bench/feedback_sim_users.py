"""Simulated shoppers for :mod:`bench.feedback_sim`: who they are, what they type, how they react.

A :class:`SimUser` borrows the latent taste of a generated demo user (``kg.demo``'s utility
model, :meth:`kg.demo.DemoData.utilities`) and talks under an id the model never trained on,
so everything the recommender learns about them comes from the conversation and their own
feedback events. Their messages and every random draw of the click model are seeded by
``(seed, user, session, turn)``, so two arms see the same shoppers type the same first
messages and roll the same dice at each position (common random numbers): a difference between
arms is the ranking's, not the dice's.

The click model (position-based; Chuklin, Markov & de Rijke, *Click Models for Web Search*,
2015, ch. 3) for the item shown at 0-based position :math:`k` with standardised utility
:math:`z` (the user's utility of it minus the catalogue mean, over the catalogue's standard
deviation):

.. math::
    P(\\text{examined}) = (1 + k)^{-\\eta}, \\quad
    P(\\text{click} \\mid \\text{examined}) = \\sigma(\\alpha (z - z_0)), \\quad
    P(\\text{purchase} \\mid \\text{click}) = \\sigma(\\beta (z - z_1))

An examined item that was not clicked is dismissed with probability
:math:`d\\,\\sigma(-\\alpha (z - z_0 + 1))` (a fifth of those as a dislike instead); a
purchase is rated with probability ``rate_p``, ``round(3 + (z - z_0) + noise)`` stars in 1..5.
An item the shopper already clicked or turned down in the session is not clicked again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from kg.demo import DemoData
from kg.demo.taste import UserTaste
from kg.demo.taxonomy import LEAF_BY_ID
from kgrec.domain import EventType

__all__ = [
    "ClickModel",
    "Reaction",
    "SimUser",
    "first_message",
    "follow_up",
    "make_users",
    "ndcg_at",
    "turn_rng",
]

_OPENERS = ("{noun}", "I'm looking for {noun}", "show me {noun}", "any good {noun}?",
            "I need new {noun}", "recommend some {noun}")  # fmt: skip
_MORE = ("show me more", "something else", "what else do you have", "other options please")
_ORDINALS = ("first", "second", "third", "fourth", "fifth")


@dataclass(frozen=True, slots=True)
class ClickModel:
    """Parameters of the position-based click model (see the module docstring)."""

    eta: float = 0.7  # examination decay with position
    alpha: float = 2.0  # attraction slope in z
    z0: float = 3.0  # z at which an examined item is clicked half the time
    beta: float = 1.5  # purchase slope in z
    z1: float = 4.0  # z at which a click converts half the time
    dismiss: float = 0.3  # most a poor examined item is dismissed
    rate_p: float = 0.4  # a purchase is rated this often

    def examination(self, positions: np.ndarray) -> np.ndarray:
        return np.power(1.0 + np.asarray(positions, dtype=float), -self.eta)

    def attraction(self, z: np.ndarray) -> np.ndarray:
        return _sigmoid(self.alpha * (np.asarray(z, dtype=float) - self.z0))

    def react(
        self, z: np.ndarray, draws: np.ndarray, blocked: Sequence[bool] | None = None
    ) -> Reaction:
        """The shopper's reaction to a slate with standardised utilities ``z`` (shown order).

        ``draws`` is ``float[len(z), 6]`` of uniform numbers (:func:`turn_rng`), one row per
        position, so the same position rolls the same dice whatever is shown there.
        ``blocked[k]``: the item at ``k`` was already clicked or turned down this session.
        """
        z = np.asarray(z, dtype=float)
        n = len(z)
        u = draws[:n]
        examined = u[:, 0] < self.examination(np.arange(n))
        attract = self.attraction(z)
        if blocked is not None:
            attract = np.where(np.asarray(blocked, dtype=bool), 0.0, attract)
        click = examined & (u[:, 1] < attract)
        buy = click & (u[:, 2] < _sigmoid(self.beta * (z - self.z1)))
        rated = buy & (u[:, 3] < self.rate_p)
        stars = np.clip(np.rint(3.0 + (z - self.z0) + (u[:, 4] - 0.5) * 2.0), 1.0, 5.0)
        p_dismiss = self.dismiss * _sigmoid(-self.alpha * (z - self.z0 + 1.0))
        turned_down = examined & ~click & (u[:, 5] < p_dismiss)
        dislike = turned_down & (u[:, 5] < p_dismiss / 5.0)
        return Reaction(click, buy, np.where(rated, stars, 0.0), turned_down & ~dislike, dislike)


@dataclass(frozen=True, slots=True)
class Reaction:
    """Per shown position: clicked, bought, stars (0: not rated), dismissed, disliked."""

    click: np.ndarray
    buy: np.ndarray
    stars: np.ndarray
    dismiss: np.ndarray
    dislike: np.ndarray

    def events(self, item_ids: Sequence[str]) -> list[tuple[str, EventType, float]]:
        """``(item_id, event type, value)`` in the order a shopper would send them."""
        out: list[tuple[str, EventType, float]] = []
        for k, item in enumerate(item_ids):
            if self.click[k]:
                out.append((item, EventType.CLICK, 1.0))
            if self.buy[k]:
                out.append((item, EventType.PURCHASE, 1.0))
            if self.stars[k]:
                out.append((item, EventType.RATING, float(self.stars[k])))
            if self.dismiss[k]:
                out.append((item, EventType.DISMISS, 1.0))
            if self.dislike[k]:
                out.append((item, EventType.DISLIKE, 1.0))
        return out


@dataclass(frozen=True)
class SimUser:
    """One simulated shopper: a demo taste under a fresh user id."""

    index: int
    user_id: str  # what the recommender sees
    taste_id: str  # the demo user whose taste this is
    z: np.ndarray  # standardised utility of every product, in catalogue order
    categories: tuple[str, ...]  # liked leaf category ids, most liked first
    affinity: tuple[float, ...]
    relevant: frozenset[str]  # the true top-N product ids (NDCG)
    position: dict[str, int] = field(repr=False)  # product id -> index into z
    taste: UserTaste = field(repr=False)  # what they like (colours and brands too)

    def utility_z(self, item_ids: Sequence[str]) -> np.ndarray:
        return np.array([self.z[self.position[i]] for i in item_ids], dtype=float)

    def session_category(self, session: int, seed: int) -> str:
        """Session 0 asks for the favourite category; later ones for one drawn by affinity
        (possibly the same again), so a profile learned in one session is tried on another."""
        if session == 0 or len(self.categories) == 1:
            return self.categories[0]
        rng = np.random.default_rng([seed, self.index, session, 7919])
        p = np.asarray(self.affinity) / sum(self.affinity)
        return self.categories[int(rng.choice(len(p), p=p))]


def make_users(
    demo: DemoData, taste_ids: Sequence[str], user_ids: Sequence[str], top_n: int
) -> list[SimUser]:
    """A :class:`SimUser` per ``(taste id, user id)`` pair, relevant = the true top ``top_n``."""
    ids = [p["id"] for p in demo.products]
    position = {pid: i for i, pid in enumerate(ids)}
    users: list[SimUser] = []
    for i, (tid, uid) in enumerate(zip(taste_ids, user_ids, strict=True)):
        u = demo.utilities(tid)
        z = (u - u.mean()) / (u.std() or 1.0)
        taste = demo.tastes[tid]
        cats = sorted(taste.categories.items(), key=lambda kv: (-kv[1], kv[0]))
        top = frozenset(ids[j] for j in np.argsort(-u, kind="stable")[:top_n])
        users.append(
            SimUser(
                i,
                uid,
                tid,
                z,
                tuple(c for c, _ in cats),
                tuple(a for _, a in cats),
                top,
                position,
                taste,
            )  # fmt: skip
        )
    return users


def turn_rng(seed: int, user: int, session: int, turn: int) -> np.random.Generator:
    """The generator of one turn's message choice and click-model dice."""
    return np.random.default_rng([seed, user, session, turn])


def first_message(
    category_id: str, rng: np.random.Generator, *, color: str = "", brand: str = ""
) -> str:
    """An opener naming the category (a seeded wording); with ``color`` and/or ``brand``, a
    detailed one: "show me red running shoes from Nike" (the same draws, so the same
    wording as the plain opener)."""
    leaf = LEAF_BY_ID[category_id]
    names = (leaf.noun, leaf.name.lower(), *leaf.aliases[:1])
    noun = names[int(rng.integers(len(names)))]
    noun = f"{color} {noun}" if color else noun
    noun = f"{noun} from {brand}" if brand else noun
    return _OPENERS[int(rng.integers(len(_OPENERS)))].format(noun=noun)


def follow_up(rng: np.random.Generator, clicked_positions: Sequence[int]) -> str:
    """A later turn: half the time after a click among the first five, "more like the
    <ordinal> one" naming it; else a plain request for more."""
    pick = rng.random()
    first = [k for k in clicked_positions if k < len(_ORDINALS)]
    if first and pick < 0.5:
        return f"more like the {_ORDINALS[first[0]]} one"
    return _MORE[int(rng.integers(len(_MORE)))]


def ndcg_at(shown: Sequence[str], relevant: frozenset[str], k: int = 10) -> float:
    """Binary-relevance NDCG@k of ``shown`` against ``relevant``."""
    dcg = sum(1.0 / math.log2(r + 2) for r, i in enumerate(shown[:k]) if i in relevant)
    ideal = sum(1.0 / math.log2(r + 2) for r in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
