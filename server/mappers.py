"""All conversion between the ``kgrec.v1`` protobuf messages and the domain types.

Requests are validated on the way in; every rule raises
:class:`~kgrec.errors.InvalidInputError` naming the offending field, which the server sends as
``INVALID_ARGUMENT``:

- text (``message``): at most ``max_message_chars`` characters (checked before anything else,
  so a 1 MB message costs nothing); no NUL or other control characters except tab, CR and LF;
  no lone surrogates and no U+FFFD (the marks of text that was not valid UTF-8 before someone
  decoded it leniently); normalised to NFC; may be empty (after stripping) only when the
  request has filters or context items.
- ``limit``: unset means 10; otherwise 1..100.
- ``explain``: unset means true (reasons and KG paths are what the service is for); only an
  explicit false turns them off.
- ``filters``: prices finite, >= 0 and <= ``MAX_PRICE``, ``min_price <= max_price``.
- ids (``user_id``, ``session_id``, ``item_id``, every listed id): at most 256 characters, no
  control/format/unassigned characters, no surrounding whitespace; lists at most 1,000 long,
  duplicates dropped (order kept).
- feedback: ``item_id`` required, ``event_type`` set and known, ``value`` finite and in
  [0, 5] for a rating, in [0, 1000] (a weight) otherwise; ``idempotency_key`` at most 128
  characters (empty: no idempotency); ``client_time`` from 1970 to one day past the server's
  clock (skew allowance).

Responses are built from domain objects without validation (the domain dataclasses hold only
valid values). The reverse conversions (domain request -> protobuf, protobuf response ->
domain) serve only the round-trip tests and live beside them (``tests/server/reverse_mappers.py``).
"""

from __future__ import annotations

import math
import re
import time
import unicodedata
from collections.abc import Iterable, Iterator

from kgrec.domain import (
    MAX_PRICE,
    EventType,
    FeedbackEvent,
    FeedbackResult,
    Filters,
    IntentType,
    ParsedIntent,
    PriceRange,
    RankedItem,
    Recommendation,
    RecommendQuery,
)
from kgrec.errors import InvalidInputError
from kgrec.v1 import recommender_pb2 as pb

DEFAULT_LIMIT = 10
#: What an unset ``RecommendRequest.explain`` means.
DEFAULT_EXPLAIN = True
MAX_LIMIT = 100
DEFAULT_MAX_MESSAGE_CHARS = 2000
MAX_ID_CHARS = 256
MAX_LIST_LEN = 1000
MAX_IDEMPOTENCY_KEY_CHARS = 128
RATING_RANGE = (0.0, 5.0)
#: ``value`` of any other event: an optional weight.
WEIGHT_RANGE = (0.0, 1000.0)
#: How far past the server's clock a ``client_time`` may be (clock skew), in seconds.
MAX_CLIENT_CLOCK_AHEAD_S = 86_400.0
#: Reply text is streamed in pieces of about this many characters (split at spaces).
REPLY_CHUNK_CHARS = 48

_ALLOWED_CONTROLS = frozenset("\t\n\r")
_REPLACEMENT_CHAR = "\ufffd"
# Cc control, Cf format (bidi overrides, zero-width), Cs surrogate, Co private use, Cn unassigned
_BAD_ID_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})

INTENT_TO_PROTO: dict[IntentType, pb.IntentType] = {
    IntentType.RECOMMEND: pb.INTENT_TYPE_RECOMMEND,
    IntentType.REFINE: pb.INTENT_TYPE_REFINE,
    IntentType.COMPARE: pb.INTENT_TYPE_COMPARE,
    IntentType.ASK_ITEM: pb.INTENT_TYPE_ASK_ITEM,
    IntentType.FEEDBACK: pb.INTENT_TYPE_FEEDBACK,
    IntentType.OTHER: pb.INTENT_TYPE_OTHER,
}
INTENT_FROM_PROTO: dict[pb.IntentType, IntentType] = {v: k for k, v in INTENT_TO_PROTO.items()}

EVENT_TO_PROTO: dict[EventType, pb.EventType] = {
    EventType.IMPRESSION: pb.EVENT_TYPE_IMPRESSION,
    EventType.CLICK: pb.EVENT_TYPE_CLICK,
    EventType.ADD_TO_CART: pb.EVENT_TYPE_ADD_TO_CART,
    EventType.PURCHASE: pb.EVENT_TYPE_PURCHASE,
    EventType.RATING: pb.EVENT_TYPE_RATING,
    EventType.LIKE: pb.EVENT_TYPE_LIKE,
    EventType.DISLIKE: pb.EVENT_TYPE_DISLIKE,
    EventType.DISMISS: pb.EVENT_TYPE_DISMISS,
}
EVENT_FROM_PROTO: dict[pb.EventType, EventType] = {v: k for k, v in EVENT_TO_PROTO.items()}


# --------------------------------------------------------------------------- validation


def clean_text(field: str, value: str, max_chars: int) -> str:
    """``value`` checked (length, characters) and NFC-normalised; raises InvalidInputError."""
    if len(value) > max_chars:
        raise InvalidInputError(field, f"is {len(value)} characters, at most {max_chars} allowed")
    for i, ch in enumerate(value):
        if ch == _REPLACEMENT_CHAR:
            raise InvalidInputError(
                field, f"contains U+FFFD at position {i} (text was not valid UTF-8)"
            )
        category = unicodedata.category(ch)
        if category == "Cs":
            raise InvalidInputError(field, f"contains a lone surrogate at position {i}")
        if category == "Cc" and ch not in _ALLOWED_CONTROLS:
            raise InvalidInputError(
                field, f"contains control character U+{ord(ch):04X} at position {i}"
            )
    normalised = unicodedata.normalize("NFC", value)
    if len(normalised) > max_chars:  # NFC can (rarely) lengthen text
        raise InvalidInputError(field, f"is longer than {max_chars} characters")
    return normalised


def clean_id(field: str, value: str, *, required: bool = False) -> str:
    """An id: at most 256 characters of printable text without surrounding spaces."""
    if not value:
        if required:
            raise InvalidInputError(field, "is required")
        return ""
    if len(value) > MAX_ID_CHARS:
        raise InvalidInputError(
            field, f"is {len(value)} characters, at most {MAX_ID_CHARS} allowed"
        )
    if value != value.strip():
        raise InvalidInputError(field, "must not start or end with whitespace")
    for i, ch in enumerate(value):
        if ch == _REPLACEMENT_CHAR or unicodedata.category(ch) in _BAD_ID_CATEGORIES:
            raise InvalidInputError(field, f"contains invalid character U+{ord(ch):04X} at {i}")
        if ch.isspace() and ch != " ":
            raise InvalidInputError(field, f"contains whitespace U+{ord(ch):04X} at {i}")
    return unicodedata.normalize("NFC", value)


def clean_ids(field: str, values: Iterable[str]) -> tuple[str, ...]:
    """A list of ids, each checked; duplicates dropped, order kept."""
    values = list(values)
    if len(values) > MAX_LIST_LEN:
        raise InvalidInputError(field, f"has {len(values)} ids, at most {MAX_LIST_LEN} allowed")
    seen: dict[str, None] = {}
    for i, value in enumerate(values):
        if not value:
            raise InvalidInputError(field, f"id {i} is empty")
        seen.setdefault(clean_id(f"{field}[{i}]", value), None)
    return tuple(seen)


def _price(field: str, value: float) -> float:
    if not math.isfinite(value):
        raise InvalidInputError(field, f"must be a finite number, got {value}")
    if value < 0:
        raise InvalidInputError(field, f"must be >= 0, got {value}")
    if value > MAX_PRICE:
        raise InvalidInputError(field, f"must be at most {MAX_PRICE:,.0f}, got {value:g}")
    return value


def _filters_from_proto(message: pb.Filters) -> Filters:
    lo = _price("filters.min_price", message.min_price) if message.HasField("min_price") else None
    hi = _price("filters.max_price", message.max_price) if message.HasField("max_price") else None
    if lo is not None and hi is not None and lo > hi:
        raise InvalidInputError("filters.min_price", f"{lo} is greater than max_price {hi}")
    return Filters(
        price=PriceRange(lo, hi),
        category_ids=clean_ids("filters.category_ids", message.category_ids),
        excluded_item_ids=clean_ids("filters.excluded_item_ids", message.excluded_item_ids),
    )


# --------------------------------------------------------------------------- requests in


def query_from_proto(
    request: pb.RecommendRequest,
    *,
    request_id: str = "",
    max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS,
) -> RecommendQuery:
    """Validate a ``RecommendRequest`` and turn it into a :class:`RecommendQuery`."""
    message = clean_text("message", request.message, max_message_chars)
    if request.HasField("limit"):
        limit = request.limit
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInputError("limit", f"must be in 1..{MAX_LIMIT}, got {limit}")
    else:
        limit = DEFAULT_LIMIT
    filters = _filters_from_proto(request.filters) if request.HasField("filters") else Filters()
    context_item_ids = clean_ids("context_item_ids", request.context_item_ids)
    if not message.strip() and filters.is_empty and not context_item_ids:
        raise InvalidInputError("message", "is empty and the request has no filters or context")
    return RecommendQuery(
        message=message,
        user_id=clean_id("user_id", request.user_id),
        session_id=clean_id("session_id", request.session_id),
        limit=limit,
        filters=filters,
        context_item_ids=context_item_ids,
        explain=request.explain if request.HasField("explain") else DEFAULT_EXPLAIN,
        request_id=request_id,
        explore=request.explore if request.HasField("explore") else None,
    )


def feedback_from_proto(
    request: pb.FeedbackRequest, *, request_id: str = "", now: float | None = None
) -> FeedbackEvent:
    """Validate a ``FeedbackRequest`` and turn it into a :class:`FeedbackEvent`.

    ``now`` (default: the wall clock) bounds ``client_time`` from above."""
    item_id = clean_id("item_id", request.item_id, required=True)
    event_type = EVENT_FROM_PROTO.get(request.event_type)
    if event_type is None:
        name = "EVENT_TYPE_UNSPECIFIED" if request.event_type == 0 else str(request.event_type)
        raise InvalidInputError("event_type", f"must be a known event type, got {name}")
    value = request.value
    if not math.isfinite(value):
        raise InvalidInputError("value", f"must be a finite number, got {value}")
    lo, hi = RATING_RANGE if event_type is EventType.RATING else WEIGHT_RANGE
    if not lo <= value <= hi:
        what = "a rating" if event_type is EventType.RATING else "a weight"
        raise InvalidInputError("value", f"{what} must be in [{lo:g}, {hi:g}], got {value:g}")
    client_ts = 0.0
    if request.HasField("client_time"):
        t = request.client_time
        if t.seconds < 0 or not 0 <= t.nanos < 1_000_000_000:
            raise InvalidInputError("client_time", "must be a valid time after 1970-01-01")
        client_ts = t.seconds + t.nanos / 1e9
        latest = (time.time() if now is None else now) + MAX_CLIENT_CLOCK_AHEAD_S
        if client_ts > latest:
            raise InvalidInputError("client_time", "is more than a day ahead of the server's clock")
    key = request.idempotency_key
    if len(key) > MAX_IDEMPOTENCY_KEY_CHARS:
        raise InvalidInputError(
            "idempotency_key", f"is {len(key)} characters, at most {MAX_IDEMPOTENCY_KEY_CHARS}"
        )
    return FeedbackEvent(
        user_id=clean_id("user_id", request.user_id),
        session_id=clean_id("session_id", request.session_id),
        item_id=item_id,
        event_type=event_type,
        value=value,
        client_ts=client_ts,
        idempotency_key=clean_id("idempotency_key", key),
        request_id=request_id,
    )


# --------------------------------------------------------------------------- responses out


def _fill_item(message: pb.RankedItem, item: RankedItem) -> None:
    """Write ``item`` into ``message`` (an empty one, or a repeated field's new element) in
    place: sub-messages are added where they live, not built and copied in (half the work
    of a response: measured with upb, the default protobuf backend)."""
    message.item_id, message.title, message.score = item.item_id, item.title, item.score
    message.currency, message.image_ref = item.currency, item.image_ref
    message.brand, message.category = item.brand, item.category
    if item.price is not None:
        message.price = item.price
    add_attribute = message.attributes.add
    for key, value in item.attributes:
        add_attribute(key=key, value=value)
    add_reason = message.reasons.add
    for reason in item.reasons:
        added = add_reason(text=reason.text, kind=reason.kind)
        if (path := reason.path) is not None:
            add_node = added.path.nodes.add
            for n in path.nodes:
                add_node(id=n.id, label=n.label, name=n.name)
            added.path.relations.extend(path.relations)
            added.path.forward.extend(path.forward)


def item_to_proto(item: RankedItem) -> pb.RankedItem:
    message = pb.RankedItem()
    _fill_item(message, item)
    return message


def intent_to_proto(intent: ParsedIntent) -> pb.ParsedIntent:
    return pb.ParsedIntent(
        type=INTENT_TO_PROTO[intent.type],
        entities=[
            pb.LinkedEntity(
                mention=e.mention,
                entity_id=e.entity_id,
                label=e.label,
                name=e.name,
                score=e.score,
                negated=e.negated,
            )
            for e in intent.entities
        ],
        constraints=[
            pb.Constraint(field=c.field, op=c.op, value=c.value) for c in intent.constraints
        ],
        confidence=intent.confidence,
        backend=intent.backend,
    )


def recommendation_to_proto(rec: Recommendation, *, request_id: str = "") -> pb.RecommendResponse:
    """The response for ``rec``; ``request_id`` fills in when the pipeline left it empty."""
    response = pb.RecommendResponse(
        session_id=rec.session_id,
        reply=rec.reply,
        intent=intent_to_proto(rec.intent),
        model_version=rec.model_version,
        request_id=rec.request_id or request_id,
    )
    add_item = response.items.add
    for item in rec.items:
        _fill_item(add_item(), item)
    return response


def split_reply(reply: str, chunk_chars: int = REPLY_CHUNK_CHARS) -> list[str]:
    """Pieces of ``reply`` of about ``chunk_chars`` characters, cut after spaces.

    ``"".join(split_reply(s)) == s`` for every ``s``; a word longer than ``chunk_chars`` is
    one piece of its own.
    """
    pieces: list[str] = []
    current = ""
    for token in re.findall(r"\S+\s*|\s+", reply):
        if current and len(current) + len(token) > chunk_chars:
            pieces.append(current)
            current = ""
        current += token
    if current:
        pieces.append(current)
    return pieces


def recommendation_to_chunks(
    rec: Recommendation, *, request_id: str = "", chunk_chars: int = REPLY_CHUNK_CHARS
) -> Iterator[pb.RecommendChunk]:
    """The stream for ``rec``: one chunk per item, the reply in pieces, then the end chunk."""
    for item in rec.items:
        chunk = pb.RecommendChunk(session_id=rec.session_id)
        _fill_item(chunk.item, item)
        yield chunk
    for piece in split_reply(rec.reply, chunk_chars):
        yield pb.RecommendChunk(session_id=rec.session_id, reply_text=piece)
    yield pb.RecommendChunk(
        session_id=rec.session_id,
        end=pb.RecommendStreamEnd(
            intent=intent_to_proto(rec.intent),
            model_version=rec.model_version,
            request_id=rec.request_id or request_id,
        ),
    )


def feedback_result_to_proto(result: FeedbackResult) -> pb.FeedbackResponse:
    return pb.FeedbackResponse(
        accepted=result.accepted, event_id=result.event_id, duplicate=result.duplicate
    )


__all__ = [
    "DEFAULT_EXPLAIN",
    "DEFAULT_LIMIT",
    "DEFAULT_MAX_MESSAGE_CHARS",
    "EVENT_FROM_PROTO",
    "EVENT_TO_PROTO",
    "INTENT_FROM_PROTO",
    "INTENT_TO_PROTO",
    "MAX_CLIENT_CLOCK_AHEAD_S",
    "MAX_ID_CHARS",
    "MAX_IDEMPOTENCY_KEY_CHARS",
    "MAX_LIMIT",
    "MAX_LIST_LEN",
    "REPLY_CHUNK_CHARS",
    "WEIGHT_RANGE",
    "clean_id",
    "clean_ids",
    "clean_text",
    "feedback_from_proto",
    "feedback_result_to_proto",
    "intent_to_proto",
    "item_to_proto",
    "query_from_proto",
    "recommendation_to_chunks",
    "recommendation_to_proto",
    "split_reply",
]
