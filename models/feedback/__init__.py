"""Learning from feedback: the ranking-policy contract (:mod:`.policy`) and the contextual
bandits that implement it (:mod:`.bandit`), built by name with :func:`make_policy`; user
profiles from durable events (:mod:`.profiles`); the explored slate (:mod:`.slate`) and
off-policy evaluation (:mod:`.ope`)."""

from .policy import (
    BLEND_SIGNALS,
    CONTEXT_SIGNALS,
    SIGNALS,
    BlendPolicy,
    RankingPolicy,
    signal_matrix,
)
from .registry import POLICIES, make_policy, open_policy

__all__ = [
    "BLEND_SIGNALS",
    "CONTEXT_SIGNALS",
    "POLICIES",
    "SIGNALS",
    "BlendPolicy",
    "RankingPolicy",
    "make_policy",
    "open_policy",
    "signal_matrix",
]
