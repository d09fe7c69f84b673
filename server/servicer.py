"""The ``kgrec.v1`` servicers: ``RecommenderService`` and ``AdminService``, thin by design.

Each RPC maps the request to a domain object (``server/mappers.py``, which validates), makes
one pipeline call, and maps the result back. Errors are not handled here: they propagate to
the exception-mapping interceptor, which turns them into status codes with one table
(``server/errors.py``). The request id comes from the request-id interceptor.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import grpc.aio

from kg.store import GraphStore
from kg.types import UserDataCounts
from kgrec.domain import RecommendQuery
from kgrec.v1 import recommender_pb2 as pb
from kgrec.v1 import recommender_pb2_grpc as pb_grpc
from server import mappers
from server.admin import forget_user
from server.impression_log import ImpressionLog
from server.log import current_request_id
from server.protocols import RecommenderPipeline
from server.reload import ModelReloader, ModelReloadError

logger = logging.getLogger(__name__)


class RecommenderServicer(pb_grpc.RecommenderServiceServicer):
    """Serves the API over a :class:`~server.protocols.RecommenderPipeline`.

    Args:
        pipeline: The recommender.
        max_message_chars: Longest accepted ``message`` (default 2,000).
        reply_chunk_chars: Size of the reply pieces ``RecommendStream`` sends (default 48).
    """

    def __init__(
        self,
        pipeline: RecommenderPipeline,
        *,
        max_message_chars: int = mappers.DEFAULT_MAX_MESSAGE_CHARS,
        reply_chunk_chars: int = mappers.REPLY_CHUNK_CHARS,
    ) -> None:
        self._pipeline = pipeline
        self._max_message_chars = max_message_chars
        self._reply_chunk_chars = reply_chunk_chars

    def _query(self, request: pb.RecommendRequest) -> RecommendQuery:
        return mappers.query_from_proto(
            request, request_id=current_request_id(), max_message_chars=self._max_message_chars
        )

    async def Recommend(  # noqa: N802 - the generated base class names the methods
        self, request: pb.RecommendRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecommendResponse:
        query = self._query(request)
        rec = await self._pipeline.recommend(query)
        logger.debug("recommend: %d items, session %s", len(rec.items), rec.session_id)
        return mappers.recommendation_to_proto(rec, request_id=query.request_id)

    async def RecommendStream(  # noqa: N802
        self, request: pb.RecommendRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.RecommendChunk]:
        query = self._query(request)
        rec = await self._pipeline.recommend(query)
        logger.debug("recommend (stream): %d items, session %s", len(rec.items), rec.session_id)
        for chunk in mappers.recommendation_to_chunks(
            rec, request_id=query.request_id, chunk_chars=self._reply_chunk_chars
        ):
            yield chunk

    async def Feedback(  # noqa: N802
        self, request: pb.FeedbackRequest, context: grpc.aio.ServicerContext
    ) -> pb.FeedbackResponse:
        event = mappers.feedback_from_proto(request, request_id=current_request_id())
        result = await self._pipeline.feedback(event)
        logger.debug(
            "feedback %s on %s: event %s", event.event_type, event.item_id, result.event_id
        )
        return mappers.feedback_result_to_proto(result)


def _counts(counts: UserDataCounts, profile_vectors: int) -> pb.UserDataCounts:
    return pb.UserDataCounts(
        events=counts.events,
        sessions=counts.sessions,
        users=counts.users,
        profile_vectors=profile_vectors,
    )


class AdminServicer(pb_grpc.AdminServiceServicer):
    """Serves ``AdminService`` over the graph ``store`` and the checkpoints in ``model_dir``.

    Its calls need the ``admin`` scope (``server/auth.py`` gives every ``kgrec.v1`` method that
    is not Recommend, RecommendStream or Feedback to ``admin``). ``ForgetUser`` is
    :func:`server.admin.forget_user`, the same code as ``kgrec admin forget-user``.
    ``ReloadModel`` is :meth:`server.reload.ModelReloader.reload` (``FAILED_PRECONDITION`` when
    the newest checkpoint cannot be loaded, the old model still serving; ``UNIMPLEMENTED``
    without a ``reloader``).
    """

    def __init__(
        self,
        store: GraphStore,
        model_dir: Path | None,
        impressions: ImpressionLog | Path | None = None,
        reloader: ModelReloader | None = None,
    ) -> None:
        self._store = store
        self._model_dir = model_dir
        self._impressions = impressions  # the running server's impression log, or its folder
        self._reloader = reloader

    async def ReloadModel(  # noqa: N802
        self, request: pb.ReloadModelRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReloadModelResponse:
        if self._reloader is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this server cannot swap models")
        assert self._reloader is not None
        try:
            result = await self._reloader.reload()
        except ModelReloadError as e:  # logged by the reloader with the full reason
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(e))
            raise  # not reached: abort raises
        return pb.ReloadModelResponse(
            previous_version=result.previous_version, model_version=result.model_version
        )

    async def ForgetUser(  # noqa: N802 - the generated base class names the methods
        self, request: pb.ForgetUserRequest, context: grpc.aio.ServicerContext
    ) -> pb.ForgetUserResponse:
        user_id = mappers.clean_id("user_id", request.user_id, required=True)
        report = await asyncio.to_thread(
            forget_user, self._store, user_id, self._model_dir, self._impressions
        )
        # the user id is personal data: the log names the request, not the user
        logger.info(
            "forget-user: deleted %d events, %d sessions, %d user nodes, %d profile vectors, "
            "%d impression records; %s",
            report.deleted.events,
            report.deleted.sessions,
            report.deleted.users,
            report.profile_vectors,
            report.impressions,
            "nothing remains" if report.complete else "SOME DATA REMAINS",
        )
        return pb.ForgetUserResponse(
            deleted=_counts(report.deleted, report.profile_vectors),
            remaining=_counts(report.remaining, report.remaining_profile_vectors),
        )


__all__ = ["AdminServicer", "RecommenderServicer"]
