"""What the gRPC layer needs from the recommender: one object, three coroutines.

The servicer only knows this protocol; ``server/pipeline.py`` implements it over the graph
store and the models, and the tests implement it with fakes.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from kgrec.domain import FeedbackEvent, FeedbackResult, Recommendation, RecommendQuery


@runtime_checkable
class RecommenderPipeline(Protocol):
    """The recommender behind the API.

    Errors are raised as :mod:`kgrec.errors` exceptions (``InvalidInputError``,
    ``NotFoundError``, ``UnavailableError``, ...); the server maps them to status codes.
    """

    async def recommend(self, query: RecommendQuery) -> Recommendation:
        """Run one conversation turn: understand, link, retrieve, score, explain."""
        ...

    async def feedback(self, event: FeedbackEvent) -> FeedbackResult:
        """Record one feedback event durably and apply it to the session."""
        ...

    async def ready(self) -> bool:
        """True once the pipeline can answer (graph reachable, models loaded)."""
        ...


__all__ = ["RecommenderPipeline"]
