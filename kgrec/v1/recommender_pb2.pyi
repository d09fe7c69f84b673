import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_TYPE_UNSPECIFIED: _ClassVar[EventType]
    EVENT_TYPE_IMPRESSION: _ClassVar[EventType]
    EVENT_TYPE_CLICK: _ClassVar[EventType]
    EVENT_TYPE_ADD_TO_CART: _ClassVar[EventType]
    EVENT_TYPE_PURCHASE: _ClassVar[EventType]
    EVENT_TYPE_RATING: _ClassVar[EventType]
    EVENT_TYPE_LIKE: _ClassVar[EventType]
    EVENT_TYPE_DISLIKE: _ClassVar[EventType]
    EVENT_TYPE_DISMISS: _ClassVar[EventType]

class IntentType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INTENT_TYPE_UNSPECIFIED: _ClassVar[IntentType]
    INTENT_TYPE_RECOMMEND: _ClassVar[IntentType]
    INTENT_TYPE_REFINE: _ClassVar[IntentType]
    INTENT_TYPE_COMPARE: _ClassVar[IntentType]
    INTENT_TYPE_ASK_ITEM: _ClassVar[IntentType]
    INTENT_TYPE_FEEDBACK: _ClassVar[IntentType]
    INTENT_TYPE_OTHER: _ClassVar[IntentType]
EVENT_TYPE_UNSPECIFIED: EventType
EVENT_TYPE_IMPRESSION: EventType
EVENT_TYPE_CLICK: EventType
EVENT_TYPE_ADD_TO_CART: EventType
EVENT_TYPE_PURCHASE: EventType
EVENT_TYPE_RATING: EventType
EVENT_TYPE_LIKE: EventType
EVENT_TYPE_DISLIKE: EventType
EVENT_TYPE_DISMISS: EventType
INTENT_TYPE_UNSPECIFIED: IntentType
INTENT_TYPE_RECOMMEND: IntentType
INTENT_TYPE_REFINE: IntentType
INTENT_TYPE_COMPARE: IntentType
INTENT_TYPE_ASK_ITEM: IntentType
INTENT_TYPE_FEEDBACK: IntentType
INTENT_TYPE_OTHER: IntentType

class Filters(_message.Message):
    __slots__ = ("min_price", "max_price", "category_ids", "excluded_item_ids")
    MIN_PRICE_FIELD_NUMBER: _ClassVar[int]
    MAX_PRICE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_IDS_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    min_price: float
    max_price: float
    category_ids: _containers.RepeatedScalarFieldContainer[str]
    excluded_item_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, min_price: _Optional[float] = ..., max_price: _Optional[float] = ..., category_ids: _Optional[_Iterable[str]] = ..., excluded_item_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class RecommendRequest(_message.Message):
    __slots__ = ("user_id", "session_id", "message", "limit", "filters", "context_item_ids", "explain", "explore")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_FIELD_NUMBER: _ClassVar[int]
    EXPLORE_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    session_id: str
    message: str
    limit: int
    filters: Filters
    context_item_ids: _containers.RepeatedScalarFieldContainer[str]
    explain: bool
    explore: bool
    def __init__(self, user_id: _Optional[str] = ..., session_id: _Optional[str] = ..., message: _Optional[str] = ..., limit: _Optional[int] = ..., filters: _Optional[_Union[Filters, _Mapping]] = ..., context_item_ids: _Optional[_Iterable[str]] = ..., explain: _Optional[bool] = ..., explore: _Optional[bool] = ...) -> None: ...

class PathNode(_message.Message):
    __slots__ = ("id", "label", "name")
    ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    label: str
    name: str
    def __init__(self, id: _Optional[str] = ..., label: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class KgPath(_message.Message):
    __slots__ = ("nodes", "relations", "forward")
    NODES_FIELD_NUMBER: _ClassVar[int]
    RELATIONS_FIELD_NUMBER: _ClassVar[int]
    FORWARD_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[PathNode]
    relations: _containers.RepeatedScalarFieldContainer[str]
    forward: _containers.RepeatedScalarFieldContainer[bool]
    def __init__(self, nodes: _Optional[_Iterable[_Union[PathNode, _Mapping]]] = ..., relations: _Optional[_Iterable[str]] = ..., forward: _Optional[_Iterable[bool]] = ...) -> None: ...

class Reason(_message.Message):
    __slots__ = ("text", "kind", "path")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    text: str
    kind: str
    path: KgPath
    def __init__(self, text: _Optional[str] = ..., kind: _Optional[str] = ..., path: _Optional[_Union[KgPath, _Mapping]] = ...) -> None: ...

class Attribute(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class RankedItem(_message.Message):
    __slots__ = ("item_id", "title", "score", "price", "currency", "image_ref", "brand", "category", "attributes", "reasons")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    IMAGE_REF_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    title: str
    score: float
    price: float
    currency: str
    image_ref: str
    brand: str
    category: str
    attributes: _containers.RepeatedCompositeFieldContainer[Attribute]
    reasons: _containers.RepeatedCompositeFieldContainer[Reason]
    def __init__(self, item_id: _Optional[str] = ..., title: _Optional[str] = ..., score: _Optional[float] = ..., price: _Optional[float] = ..., currency: _Optional[str] = ..., image_ref: _Optional[str] = ..., brand: _Optional[str] = ..., category: _Optional[str] = ..., attributes: _Optional[_Iterable[_Union[Attribute, _Mapping]]] = ..., reasons: _Optional[_Iterable[_Union[Reason, _Mapping]]] = ...) -> None: ...

class LinkedEntity(_message.Message):
    __slots__ = ("mention", "entity_id", "label", "name", "score", "negated")
    MENTION_FIELD_NUMBER: _ClassVar[int]
    ENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    NEGATED_FIELD_NUMBER: _ClassVar[int]
    mention: str
    entity_id: str
    label: str
    name: str
    score: float
    negated: bool
    def __init__(self, mention: _Optional[str] = ..., entity_id: _Optional[str] = ..., label: _Optional[str] = ..., name: _Optional[str] = ..., score: _Optional[float] = ..., negated: _Optional[bool] = ...) -> None: ...

class Constraint(_message.Message):
    __slots__ = ("field", "op", "value")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    OP_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    field: str
    op: str
    value: str
    def __init__(self, field: _Optional[str] = ..., op: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class ParsedIntent(_message.Message):
    __slots__ = ("type", "entities", "constraints", "confidence", "backend")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    type: IntentType
    entities: _containers.RepeatedCompositeFieldContainer[LinkedEntity]
    constraints: _containers.RepeatedCompositeFieldContainer[Constraint]
    confidence: float
    backend: str
    def __init__(self, type: _Optional[_Union[IntentType, str]] = ..., entities: _Optional[_Iterable[_Union[LinkedEntity, _Mapping]]] = ..., constraints: _Optional[_Iterable[_Union[Constraint, _Mapping]]] = ..., confidence: _Optional[float] = ..., backend: _Optional[str] = ...) -> None: ...

class RecommendResponse(_message.Message):
    __slots__ = ("session_id", "items", "reply", "intent", "model_version", "request_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    INTENT_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    items: _containers.RepeatedCompositeFieldContainer[RankedItem]
    reply: str
    intent: ParsedIntent
    model_version: str
    request_id: str
    def __init__(self, session_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[RankedItem, _Mapping]]] = ..., reply: _Optional[str] = ..., intent: _Optional[_Union[ParsedIntent, _Mapping]] = ..., model_version: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RecommendStreamEnd(_message.Message):
    __slots__ = ("intent", "model_version", "request_id")
    INTENT_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    intent: ParsedIntent
    model_version: str
    request_id: str
    def __init__(self, intent: _Optional[_Union[ParsedIntent, _Mapping]] = ..., model_version: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RecommendChunk(_message.Message):
    __slots__ = ("session_id", "item", "reply_text", "end")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    REPLY_TEXT_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    item: RankedItem
    reply_text: str
    end: RecommendStreamEnd
    def __init__(self, session_id: _Optional[str] = ..., item: _Optional[_Union[RankedItem, _Mapping]] = ..., reply_text: _Optional[str] = ..., end: _Optional[_Union[RecommendStreamEnd, _Mapping]] = ...) -> None: ...

class FeedbackRequest(_message.Message):
    __slots__ = ("user_id", "session_id", "item_id", "event_type", "value", "client_time", "idempotency_key")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_TIME_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    session_id: str
    item_id: str
    event_type: EventType
    value: float
    client_time: _timestamp_pb2.Timestamp
    idempotency_key: str
    def __init__(self, user_id: _Optional[str] = ..., session_id: _Optional[str] = ..., item_id: _Optional[str] = ..., event_type: _Optional[_Union[EventType, str]] = ..., value: _Optional[float] = ..., client_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class FeedbackResponse(_message.Message):
    __slots__ = ("accepted", "event_id", "duplicate")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    accepted: bool
    event_id: str
    duplicate: bool
    def __init__(self, accepted: _Optional[bool] = ..., event_id: _Optional[str] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class ForgetUserRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class UserDataCounts(_message.Message):
    __slots__ = ("events", "sessions", "users", "profile_vectors")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    PROFILE_VECTORS_FIELD_NUMBER: _ClassVar[int]
    events: int
    sessions: int
    users: int
    profile_vectors: int
    def __init__(self, events: _Optional[int] = ..., sessions: _Optional[int] = ..., users: _Optional[int] = ..., profile_vectors: _Optional[int] = ...) -> None: ...

class ForgetUserResponse(_message.Message):
    __slots__ = ("deleted", "remaining")
    DELETED_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    deleted: UserDataCounts
    remaining: UserDataCounts
    def __init__(self, deleted: _Optional[_Union[UserDataCounts, _Mapping]] = ..., remaining: _Optional[_Union[UserDataCounts, _Mapping]] = ...) -> None: ...

class ReloadModelRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReloadModelResponse(_message.Message):
    __slots__ = ("previous_version", "model_version")
    PREVIOUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    previous_version: str
    model_version: str
    def __init__(self, previous_version: _Optional[str] = ..., model_version: _Optional[str] = ...) -> None: ...
