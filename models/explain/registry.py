"""Explainers by name."""

from __future__ import annotations

from kgrec.errors import ConfigError

from .explainer import Explainer
from .template_explainer import TemplateExplainer

__all__ = ["EXPLAINERS", "make_explainer"]

#: Every explainer ``make_explainer`` builds, by name (the LLM rewrite needs a completer and a
#: checker, so ``server.builder`` builds it).
EXPLAINERS: dict[str, type[Explainer]] = {"template": TemplateExplainer}


def make_explainer(name: str = "template") -> Explainer:
    """Build the explainer registered under ``name``."""
    try:
        cls = EXPLAINERS[name]
    except KeyError:
        valid = ", ".join(sorted(EXPLAINERS))
        raise ConfigError(f"unknown explainer {name!r}; valid: {valid}") from None
    return cls()
