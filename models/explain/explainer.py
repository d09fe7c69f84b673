"""The explainer contract and its registry."""

from __future__ import annotations

from abc import ABC, abstractmethod

from kgrec.errors import ConfigError

from .explain_types import ExplainRequest, Explanation


class Explainer(ABC):
    """Turns ranked items and their KG paths into reasons and a reply.

    An explainer may only name items of ``request.items`` and nodes on their paths.
    """

    @abstractmethod
    def explain(self, request: ExplainRequest) -> Explanation: ...


EXPLAINERS: dict[str, type[Explainer]] = {}


def make_explainer(name: str = "template") -> Explainer:
    """Build the explainer registered under ``name``."""
    from .template_explainer import TemplateExplainer

    EXPLAINERS.setdefault("template", TemplateExplainer)
    try:
        cls = EXPLAINERS[name]
    except KeyError:
        valid = ", ".join(sorted(EXPLAINERS))
        raise ConfigError(f"unknown explainer {name!r}; valid: {valid}") from None
    return cls()
