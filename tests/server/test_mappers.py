"""Protobuf <-> domain conversion: round trips and every validation rule."""

from __future__ import annotations

import pytest
import reverse_mappers
from google.protobuf.timestamp_pb2 import Timestamp
from server_fakes import SAMPLE_INTENT, sample_items

from kgrec.domain import (
    EventType,
    FeedbackEvent,
    FeedbackResult,
    Filters,
    IntentType,
    PriceRange,
    Recommendation,
    RecommendQuery,
)
from kgrec.errors import InvalidInputError
from kgrec.v1 import recommender_pb2 as pb
from server import mappers


def _rec(reply: str = "Try Acme Runner 1.") -> Recommendation:
    return Recommendation(
        session_id="s1",
        items=sample_items(3),
        reply=reply,
        intent=SAMPLE_INTENT,
        model_version="m7",
        request_id="r1",
    )


def _field_of(exc: pytest.ExceptionInfo[InvalidInputError]) -> str:
    return exc.value.field


# --------------------------------------------------------------------------- round trips


def test_query_round_trip() -> None:
    query = RecommendQuery(
        message="red running shoes",
        user_id="user:1",
        session_id="s1",
        limit=25,
        filters=Filters(PriceRange(10.0, 99.5), ("cat:shoes",), ("prod:000009",)),
        context_item_ids=("prod:000002", "prod:000003"),
        explain=True,
        request_id="rid",
    )
    wire = pb.RecommendRequest.FromString(reverse_mappers.query_to_proto(query).SerializeToString())
    assert mappers.query_from_proto(wire, request_id="rid") == query


def test_recommendation_round_trip_keeps_missing_price_and_paths() -> None:
    rec = _rec()
    wire = pb.RecommendResponse.FromString(mappers.recommendation_to_proto(rec).SerializeToString())
    assert not wire.items[2].HasField("price")
    assert wire.items[0].HasField("price")
    assert not wire.items[0].reasons[1].HasField("path")
    assert reverse_mappers.recommendation_from_proto(wire) == rec


def test_every_intent_and_event_type_maps_both_ways() -> None:
    assert set(mappers.INTENT_TO_PROTO) == set(IntentType)
    assert set(mappers.EVENT_TO_PROTO) == set(EventType)
    assert pb.EVENT_TYPE_UNSPECIFIED not in mappers.EVENT_FROM_PROTO
    for intent in IntentType:
        back = reverse_mappers.intent_from_proto(
            mappers.intent_to_proto(SAMPLE_INTENT.__class__(type=intent))
        )
        assert back.type is intent


def test_feedback_round_trip() -> None:
    event = FeedbackEvent(
        user_id="user:1",
        session_id="s1",
        item_id="product:1",
        event_type=EventType.RATING,
        value=4.5,
        client_ts=1_700_000_000.25,
        idempotency_key="k-1",
        request_id="rid",
    )
    wire = pb.FeedbackRequest.FromString(
        reverse_mappers.feedback_to_proto(event).SerializeToString()
    )
    assert wire.client_time.seconds == 1_700_000_000
    assert mappers.feedback_from_proto(wire, request_id="rid") == event
    result = FeedbackResult(accepted=True, event_id="e1", duplicate=True)
    proto = mappers.feedback_result_to_proto(result)
    assert reverse_mappers.feedback_result_from_proto(proto) == result


def test_request_id_from_pipeline_wins_else_fallback() -> None:
    rec = _rec()
    assert mappers.recommendation_to_proto(rec, request_id="x").request_id == "r1"
    anonymous = Recommendation("s", (), "", SAMPLE_INTENT, "m")
    assert mappers.recommendation_to_proto(anonymous, request_id="x").request_id == "x"


@pytest.mark.parametrize(
    "reply",
    ["", "one", "  leading and trailing  ", "a " * 100, "x" * 130 + " tail", "multi\nline\ttext"],
)
def test_split_reply_concatenates_back(reply: str) -> None:
    pieces = mappers.split_reply(reply, 16)
    assert "".join(pieces) == reply
    assert all(pieces)
    # pieces exceed the size only when one word alone does
    assert all(len(p) <= 16 or len(p.split()) == 1 for p in pieces)


def test_chunks_are_items_then_reply_then_end_and_reassemble() -> None:
    rec = _rec("Acme Runner 1 is light, Acme Runner 2 is cheap and Acme Runner 3 is waterproof.")
    chunks = list(mappers.recommendation_to_chunks(rec, chunk_chars=20))
    kinds = [c.WhichOneof("payload") for c in chunks]
    n_reply = kinds.count("reply_text")
    assert kinds == ["item"] * 3 + ["reply_text"] * n_reply + ["end"]
    assert n_reply > 1
    assert all(c.session_id == "s1" for c in chunks)
    assert reverse_mappers.recommendation_from_chunks(chunks) == rec


# --------------------------------------------------------------------------- validation


def _query(**kwargs: object) -> RecommendQuery:
    request = pb.RecommendRequest(**kwargs)  # type: ignore[arg-type]
    return mappers.query_from_proto(request)


def test_explain_unset_means_true_and_explicit_false_is_kept() -> None:
    assert mappers.query_from_proto(pb.RecommendRequest(message="mugs")).explain is True
    off = pb.RecommendRequest.FromString(
        pb.RecommendRequest(message="mugs", explain=False).SerializeToString()
    )
    assert off.HasField("explain")  # presence survives the wire, so false is not "unset"
    assert mappers.query_from_proto(off).explain is False
    assert mappers.query_from_proto(pb.RecommendRequest(message="m", explain=True)).explain


def test_explain_false_survives_the_client_round_trip() -> None:
    query = RecommendQuery(message="mugs", explain=False)
    wire = pb.RecommendRequest.FromString(reverse_mappers.query_to_proto(query).SerializeToString())
    assert mappers.query_from_proto(wire) == query


def test_limit_unset_defaults_to_ten() -> None:
    assert _query(message="shoes").limit == 10


@pytest.mark.parametrize("limit", [1, 100])
def test_limit_bounds_accepted(limit: int) -> None:
    assert _query(message="shoes", limit=limit).limit == limit


@pytest.mark.parametrize("limit", [0, -1, 101, 10_000])
def test_limit_out_of_range(limit: int) -> None:
    with pytest.raises(InvalidInputError) as exc:
        _query(message="shoes", limit=limit)
    assert _field_of(exc) == "limit"


def test_one_megabyte_message_is_rejected_naming_message() -> None:
    with pytest.raises(InvalidInputError) as exc:
        _query(message="a" * 1_000_000)
    assert _field_of(exc) == "message"
    assert "2000" in str(exc.value)


def test_message_limit_is_configurable() -> None:
    request = pb.RecommendRequest(message="a" * 50)
    assert mappers.query_from_proto(request, max_message_chars=50).message == "a" * 50
    with pytest.raises(InvalidInputError):
        mappers.query_from_proto(request, max_message_chars=49)


@pytest.mark.parametrize(
    "message",
    ["nul\x00byte", "bell\x07", "escape \x1b[31m", "del\x7f", "bad \ufffd decode", "c1 \x85"],
)
def test_control_and_replacement_characters_rejected(message: str) -> None:
    with pytest.raises(InvalidInputError) as exc:
        _query(message=message)
    assert _field_of(exc) == "message"


def test_lone_surrogate_rejected() -> None:
    with pytest.raises(InvalidInputError) as exc:
        mappers.clean_text("message", "half \ud800 pair", 100)
    assert exc.value.field == "message"


def test_tabs_newlines_and_emoji_allowed_and_nfc_applied() -> None:
    decomposed = "cafe\u0301 shoes\n\tfor me \U0001f45f"
    query = _query(message=decomposed)
    assert query.message == "caf\u00e9 shoes\n\tfor me \U0001f45f"


def test_empty_message_needs_filters_or_context() -> None:
    for blank in ("", "   \n"):
        with pytest.raises(InvalidInputError) as exc:
            _query(message=blank)
        assert _field_of(exc) == "message"
    assert _query(message="", context_item_ids=["product:1"]).context_item_ids == ("product:1",)
    assert _query(message="", filters=pb.Filters(max_price=20)).filters.price.max == 20


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        (pb.Filters(min_price=-1), "filters.min_price"),
        (pb.Filters(max_price=-0.5), "filters.max_price"),
        (pb.Filters(min_price=50, max_price=10), "filters.min_price"),
        (pb.Filters(min_price=float("nan")), "filters.min_price"),
        (pb.Filters(max_price=float("inf")), "filters.max_price"),
        (pb.Filters(max_price=1e308), "filters.max_price"),  # finite, but no price is that
    ],
)
def test_bad_prices(filters: pb.Filters, field: str) -> None:
    with pytest.raises(InvalidInputError) as exc:
        _query(message="shoes", filters=filters)
    assert _field_of(exc) == field


def test_zero_and_equal_prices_are_fine() -> None:
    price = _query(message="x", filters=pb.Filters(min_price=0, max_price=0)).filters.price
    assert price == PriceRange(0.0, 0.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"user_id": "u" * 257}, "user_id"),
        ({"session_id": "s\x00"}, "session_id"),
        ({"session_id": " padded"}, "session_id"),
        ({"user_id": "tab\tid"}, "user_id"),
        ({"user_id": "rtl\u202eid"}, "user_id"),
        ({"context_item_ids": ["ok", ""]}, "context_item_ids"),
        ({"context_item_ids": ["ok", "x" * 300]}, "context_item_ids[1]"),
        ({"context_item_ids": [f"p{i}" for i in range(1001)]}, "context_item_ids"),
        ({"filters": pb.Filters(category_ids=["c\n"])}, "filters.category_ids[0]"),
        ({"filters": pb.Filters(excluded_item_ids=["\ufffd"])}, "filters.excluded_item_ids[0]"),
    ],
)
def test_bad_ids(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError) as exc:
        _query(message="shoes", **kwargs)
    assert _field_of(exc) == field


def test_ids_at_the_cap_with_spaces_inside_are_fine_and_lists_deduplicated() -> None:
    query = _query(
        message="shoes",
        user_id="u" * 256,
        context_item_ids=["movie:Toy Story (1995)", "p1", "movie:Toy Story (1995)"],
    )
    assert query.user_id == "u" * 256
    assert query.context_item_ids == ("movie:Toy Story (1995)", "p1")


def _feedback(**kwargs: object) -> FeedbackEvent:
    base: dict[str, object] = {"item_id": "product:1", "event_type": pb.EVENT_TYPE_CLICK}
    base.update(kwargs)
    return mappers.feedback_from_proto(pb.FeedbackRequest(**base))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"item_id": ""}, "item_id"),
        ({"event_type": pb.EVENT_TYPE_UNSPECIFIED}, "event_type"),
        ({"event_type": 42}, "event_type"),
        ({"event_type": pb.EVENT_TYPE_RATING, "value": 5.5}, "value"),
        ({"event_type": pb.EVENT_TYPE_RATING, "value": -1}, "value"),
        ({"value": float("nan")}, "value"),
        ({"idempotency_key": "k" * 129}, "idempotency_key"),
        ({"idempotency_key": "k\x00"}, "idempotency_key"),
        ({"client_time": Timestamp(seconds=-5)}, "client_time"),
        ({"client_time": Timestamp(seconds=253_402_300_799)}, "client_time"),  # 9999-12-31
        ({"value": 1e300}, "value"),
        ({"value": 1000.5}, "value"),
        ({"value": -0.5}, "value"),
        ({"event_type": pb.EVENT_TYPE_PURCHASE, "value": -1e300}, "value"),
        ({"user_id": "x" * 257}, "user_id"),
    ],
)
def test_bad_feedback(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError) as exc:
        _feedback(**kwargs)
    assert _field_of(exc) == field


def test_feedback_bounds_inclusive() -> None:
    assert _feedback(value=1000.0).value == 1000.0
    assert _feedback(value=0.0).value == 0.0
    now = 1_700_000_000.0
    request = pb.FeedbackRequest(
        item_id="p",
        event_type=pb.EVENT_TYPE_CLICK,
        client_time=Timestamp(seconds=int(now) + 86_400),
    )
    assert mappers.feedback_from_proto(request, now=now).client_ts == now + 86_400
    request.client_time.seconds += 1
    with pytest.raises(InvalidInputError, match="client_time"):
        mappers.feedback_from_proto(request, now=now)


@pytest.mark.parametrize("value", [0.0, 3.5, 5.0])
def test_rating_bounds_inclusive(value: float) -> None:
    event = _feedback(event_type=pb.EVENT_TYPE_RATING, value=value, idempotency_key="k" * 128)
    assert event.event_type is EventType.RATING
    assert event.value == value
    assert event.client_ts == 0.0
