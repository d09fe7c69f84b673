"""The explainer contract (its registry is :mod:`models.explain.registry`)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from .explain_types import ExplainRequest, Explanation


class Explainer(ABC):
    """Turns ranked items and their KG paths into reasons and a reply.

    An explainer may only name items of ``request.items`` and nodes on their paths.
    """

    @abstractmethod
    def explain(self, request: ExplainRequest) -> Explanation: ...
