"""The API keys, scopes and requests the auth and TLS tests share (fresh random keys per run).

``API_KEYS`` is the configured form (one hashed line per key) a server under test is given;
``KEYS`` holds the plain keys a client presents.
"""

from __future__ import annotations

import grpc

from kgrec.v1 import recommender_pb2 as pb
from server.apikeys import hash_key, new_key

OK = grpc.StatusCode.OK
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
DENIED = grpc.StatusCode.PERMISSION_DENIED

KEYS = {name: new_key() for name in ("shopper", "tracker", "ops", "all")}
SCOPES = {
    "shopper": ("recommend",),
    "tracker": ("feedback",),
    "ops": ("admin",),
    "all": ("recommend", "feedback", "admin"),
}
API_KEYS = "\n".join(hash_key(KEYS[n], n, SCOPES[n]).line() for n in KEYS)
WRONG_KEY = new_key()

RECOMMEND = pb.RecommendRequest(message="red shoes")
FEEDBACK = pb.FeedbackRequest(item_id="product:1", event_type=pb.EVENT_TYPE_LIKE)
