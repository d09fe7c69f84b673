"""Ranking policies by name (the names of ``server.settings.RERANK_POLICIES``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .bandit import LinUcbPolicy, ThompsonPolicy, state_path
from .policy import BlendPolicy, RankingPolicy

__all__ = ["POLICIES", "make_policy", "open_policy"]

log = logging.getLogger(__name__)

POLICIES: dict[str, Callable[..., RankingPolicy]] = {
    "off": BlendPolicy,
    "linucb": LinUcbPolicy,
    "thompson": ThompsonPolicy,
}


def make_policy(name: str, **kwargs: Any) -> RankingPolicy:
    """A fresh policy ``name``; ``kwargs`` go to its constructor (``"off"`` takes none).
    ``ValueError`` listing the valid names for an unknown one."""
    try:
        factory = POLICIES[name]
    except KeyError:
        valid = ", ".join(sorted(POLICIES))
        raise ValueError(f"unknown ranking policy {name!r}; valid: {valid}") from None
    return factory() if name == "off" else factory(**kwargs)


def open_policy(
    name: str, directory: str | Path | None, model_version: str, **kwargs: Any
) -> RankingPolicy:
    """Policy ``name`` for ``model_version``: its saved state from ``directory`` (see
    :func:`~models.feedback.bandit.state_path`) when one exists for that version, else
    fresh. A state that cannot be read is logged and ignored (a fresh bandit serves; the
    file is overwritten at the next save)."""
    if name == "off":
        return make_policy(name)
    policy = make_policy(name, model_version=model_version, **kwargs)
    if directory is None:
        return policy
    path = state_path(directory, name, model_version)
    if path.exists():
        try:
            policy.load(path)
        except (OSError, ValueError, KeyError) as e:
            log.warning("bandit state %s not loaded (%s); starting fresh", path, e)
            policy = make_policy(name, model_version=model_version, **kwargs)
    return policy
