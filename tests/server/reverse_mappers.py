"""The reverse conversions of :mod:`server.mappers`, used only by the tests.

Domain request -> protobuf (``query_to_proto``, ``feedback_to_proto``) and protobuf response ->
domain (``recommendation_from_proto``, ``recommendation_from_chunks``, ...): the round-trip tests
send a domain object through the wire format and compare what comes back. The server never
needs them, so they live beside the tests rather than in ``server/``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from google.protobuf.timestamp_pb2 import Timestamp

from kgrec.domain import (
    Constraint,
    FeedbackEvent,
    FeedbackResult,
    IntentType,
    KgPath,
    LinkedEntity,
    ParsedIntent,
    PathNode,
    RankedItem,
    Reason,
    Recommendation,
    RecommendQuery,
)
from kgrec.v1 import recommender_pb2 as pb
from server.mappers import EVENT_TO_PROTO, INTENT_FROM_PROTO


def query_to_proto(query: RecommendQuery) -> pb.RecommendRequest:
    """A ``RecommendRequest`` for ``query`` (``limit`` always set; request id not sent)."""
    message = pb.RecommendRequest(
        user_id=query.user_id,
        session_id=query.session_id,
        message=query.message,
        limit=query.limit,
        context_item_ids=list(query.context_item_ids),
        explain=query.explain,
    )
    if query.explore is not None:
        message.explore = query.explore
    f = query.filters
    if not f.is_empty:
        message.filters.category_ids.extend(f.category_ids)
        message.filters.excluded_item_ids.extend(f.excluded_item_ids)
        if f.price.min is not None:
            message.filters.min_price = f.price.min
        if f.price.max is not None:
            message.filters.max_price = f.price.max
    return message


def feedback_to_proto(event: FeedbackEvent) -> pb.FeedbackRequest:
    """A ``FeedbackRequest`` for ``event`` (``client_time`` unset when ``client_ts`` is 0)."""
    message = pb.FeedbackRequest(
        user_id=event.user_id,
        session_id=event.session_id,
        item_id=event.item_id,
        event_type=EVENT_TO_PROTO[event.event_type],
        value=event.value,
        idempotency_key=event.idempotency_key,
    )
    if event.client_ts:
        seconds = math.floor(event.client_ts)
        nanos = round((event.client_ts - seconds) * 1e9)
        message.client_time.CopyFrom(Timestamp(seconds=seconds, nanos=min(nanos, 999_999_999)))
    return message


def _path_from_proto(message: pb.KgPath) -> KgPath:
    return KgPath(
        nodes=tuple(PathNode(n.id, n.label, n.name) for n in message.nodes),
        relations=tuple(message.relations),
        # a sender that does not know the directions sends none: keep "unknown"
        forward=tuple(message.forward) if len(message.forward) == len(message.relations) else (),
    )


def item_from_proto(message: pb.RankedItem) -> RankedItem:
    return RankedItem(
        item_id=message.item_id,
        title=message.title,
        score=message.score,
        price=message.price if message.HasField("price") else None,
        currency=message.currency,
        image_ref=message.image_ref,
        brand=message.brand,
        category=message.category,
        attributes=tuple((a.key, a.value) for a in message.attributes),
        reasons=tuple(
            Reason(r.text, r.kind, _path_from_proto(r.path) if r.HasField("path") else None)
            for r in message.reasons
        ),
    )


def intent_from_proto(message: pb.ParsedIntent) -> ParsedIntent:
    return ParsedIntent(
        type=INTENT_FROM_PROTO.get(message.type, IntentType.OTHER),
        entities=tuple(
            LinkedEntity(e.mention, e.entity_id, e.label, e.name, e.score, e.negated)
            for e in message.entities
        ),
        constraints=tuple(Constraint(c.field, c.op, c.value) for c in message.constraints),
        confidence=message.confidence,
        backend=message.backend,
    )


def recommendation_from_proto(message: pb.RecommendResponse) -> Recommendation:
    return Recommendation(
        session_id=message.session_id,
        items=tuple(item_from_proto(i) for i in message.items),
        reply=message.reply,
        intent=intent_from_proto(message.intent),
        model_version=message.model_version,
        request_id=message.request_id,
    )


def recommendation_from_chunks(chunks: Sequence[pb.RecommendChunk]) -> Recommendation:
    """Reassemble a streamed answer (the inverse of :func:`recommendation_to_chunks`)."""
    items: list[RankedItem] = []
    reply: list[str] = []
    end: pb.RecommendStreamEnd | None = None
    session_id = ""
    for chunk in chunks:
        session_id = chunk.session_id or session_id
        kind = chunk.WhichOneof("payload")
        if kind == "item":
            items.append(item_from_proto(chunk.item))
        elif kind == "reply_text":
            reply.append(chunk.reply_text)
        elif kind == "end":
            end = chunk.end
    if end is None:
        raise ValueError("the stream ended without its end chunk")
    return Recommendation(
        session_id=session_id,
        items=tuple(items),
        reply="".join(reply),
        intent=intent_from_proto(end.intent),
        model_version=end.model_version,
        request_id=end.request_id,
    )


def feedback_result_from_proto(message: pb.FeedbackResponse) -> FeedbackResult:
    return FeedbackResult(message.accepted, message.event_id, message.duplicate)
